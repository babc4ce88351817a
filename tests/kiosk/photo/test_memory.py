"""The still's memory savings keep the pixels as they were (issue 23 item 11)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from kiosk.photo.analysis import mesh_copy
from kiosk.photo.crop import encode_original
from kiosk.photo.memory import release, tune_heap


def test_the_original_is_encoded_in_its_colours_and_the_still_left_as_it_was():
    still = np.zeros((700, 900, 3), np.uint8)
    still[..., 0], still[..., 1], still[:350, :, 2] = 200, 60, 140  # red-purple top, red bottom
    before = still.copy()
    decoded = np.asarray(Image.open(io.BytesIO(encode_original(still))))
    assert np.array_equal(still, before)  # channels swapped for the encoder and back
    assert np.abs(decoded[100, 100].astype(int) - (200, 60, 140)).max() <= 3
    assert np.abs(decoded[600, 100].astype(int) - (200, 60, 0)).max() <= 3
    view = before[::2, ::2]  # not contiguous: encoded from a copy, the view untouched
    encode_original(view)
    assert np.array_equal(view, before[::2, ::2])


def test_the_mesh_sees_a_still_at_most_mesh_side_long():
    still = np.zeros((3040, 4056, 3), np.uint8)
    assert mesh_copy(still).shape == (1520, 2028, 3)
    preview = np.zeros((480, 640, 3), np.uint8)
    assert mesh_copy(preview) is preview


def test_heap_tuning_takes_effect_here():
    assert tune_heap() is True  # glibc on this machine and on the Pi
    release()
