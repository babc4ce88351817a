"""Factories that pick a camera or card-reader backend from the config.

Kept apart from the interface modules (camera.py, id_reader.py), which the
backends import: an interface that imported its backends back would make a
cycle. The backends import lazily, so Pi-only libraries load only when named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.config import CameraConfig, IdReaderConfig
    from kiosk.hardware.camera import Camera
    from kiosk.hardware.id_reader import CardReader


def make_camera(config: CameraConfig) -> Camera:
    """Pick the backend named in the config; Pi-only imports stay inside."""
    if config.backend == "simulated":
        from kiosk.hardware.camera_sim import SimulatedCamera

        return SimulatedCamera(config)
    if config.backend == "picamera2":
        from kiosk.hardware.camera_picamera2 import Picamera2Camera

        return Picamera2Camera(config)
    if config.backend == "opencv":
        from kiosk.hardware.camera_opencv import OpenCvCamera

        return OpenCvCamera(config)
    raise ValueError(f"unknown camera backend {config.backend!r}")


def make_card_reader(config: IdReaderConfig) -> CardReader:
    if config.backend == "simulated":
        from kiosk.hardware.id_reader_sim import SimulatedCardReader

        return SimulatedCardReader(config)
    if config.backend == "sam":
        from kiosk.hardware.sam_reader import SamCardReader

        return SamCardReader(config)
    if config.backend == "pcsc":
        from kiosk.hardware.pcsc_reader import PcscCardReader

        return PcscCardReader(config)
    raise ValueError(
        f"id_reader backend {config.backend!r} is not available in this version; "
        "use 'simulated', 'sam' or 'pcsc'"
    )
