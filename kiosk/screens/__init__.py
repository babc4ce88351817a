"""The Kivy front end: one Screen per flow State, and the out-of-service window."""

import os

# Before anything imports kivy (every module here does): no argv parsing,
# Kivy's log beside ours, no log files.
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_LOG_MODE", "MIXED")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
