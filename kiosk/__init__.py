"""Self-service diploma photo kiosk."""

__version__ = "0.1.0"
