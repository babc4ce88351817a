"""The booth's runtime: devices, photo engine, store and the session flow wired together.

core.KioskRuntime owns the parts and the poll loop; devices runs the device
threads, capture the still-to-saved path, staff the staff jobs, upkeep the
periodic checks, effects the table from the flow's effects to their handlers.
"""

from kiosk.runtime.core import KioskRuntime
from kiosk.runtime.staff import ROSTER_RETRY_PERIOD

__all__ = ["KioskRuntime", "ROSTER_RETRY_PERIOD"]
