"""The wire contract between the booths (kiosk/) and the school server
(school_server/): the one place both sides take it from.

ids.py     ID number, card UID and centre/session name normalisation;
           student_ref and the 采集码 digest (one memory-hard scheme)
models.py  the server's replies (pydantic), the USB bundle and receipts formats
requests.py the booth's request bodies (enrolment, capture upload, heartbeat)
capture.py the sealed capture document (versioned; what the office opens)
status_link.py the student's status link: token from the booth's key, its hash
files.py   durable file writes (temp, fsync, rename, directory fsync)

It depends on pydantic alone, so installing the server pulls nothing of the
booth (Kivy, mediapipe, gpiozero) and the booth nothing of the server.
"""
