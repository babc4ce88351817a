"""The school server: receives sealed captures from the kiosks, hands them their
centre's roster and schedule, and exports decrypted photos for the collection unit.

Independent of the kiosk package: the two share only the wire format
(school_server/openapi.json).
"""

__version__ = "0.1.0"
