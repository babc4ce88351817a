"""Finding the staff's USB stick from the kernel's mount table (real mounts)."""

from __future__ import annotations

from pathlib import Path

from usb_stick import mounted_tmpfs

from kiosk.capture.usb import bundle_dir, mounted_sticks


def test_a_mounted_stick_inside_the_roots_is_found(tmp_path: Path) -> None:
    media = tmp_path / "media"
    (media / "empty-mount-point").mkdir(parents=True)  # left behind: not a stick
    with mounted_tmpfs(media / "KIOSK USB") as stick:  # a label with a space (\040)
        assert mounted_sticks([media]) == [stick]
        assert mounted_sticks([tmp_path / "elsewhere"]) == []
        assert bundle_dir(stick, "booth-7") == stick / "photo-kiosk-booth-7"
    assert mounted_sticks([media]) == []  # pulled out


def test_read_only_sticks_and_two_sticks(tmp_path: Path) -> None:
    media = tmp_path / "media"
    with mounted_tmpfs(media / "locked", "ro,size=1m"):
        assert mounted_sticks([media]) == []  # write-protected: nothing could be written
        with mounted_tmpfs(media / "a"), mounted_tmpfs(media / "b"):
            assert mounted_sticks([media]) == [media / "a", media / "b"]


def test_an_unreadable_mount_table_means_no_stick(tmp_path: Path) -> None:
    assert mounted_sticks([tmp_path], table=tmp_path / "no-such-table") == []
