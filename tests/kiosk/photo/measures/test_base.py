"""What the measures share (kiosk/photo/measures/base.py)."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.photo.measures.base import median_rows


@pytest.mark.parametrize("n", [1, 2, 3, 10, 11, 200, 201])
def test_median_rows_is_numpys_median(n):
    """The per-channel median of 8-bit colours by one sort is np.median's
    float32 answer, bit for bit, for odd and even counts (where it is the
    mean of the middle two: x.5 values)."""
    rng = np.random.default_rng(n)
    for _ in range(20):
        px = rng.integers(0, 256, (n, 3)).astype(np.float32)
        want, got = np.median(px, axis=0), median_rows(px)
        assert got.dtype == want.dtype == np.float32 and got.shape == (3,)
        assert np.array_equal(got, want), (px, got, want)
    assert median_rows(np.float32([[1, 9, 4], [3, 2, 4]])).tolist() == [2.0, 5.5, 4.0]
