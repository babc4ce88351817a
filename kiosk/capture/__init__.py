"""The capture store and everything that carries a capture to the school.

store.py      CaptureStore: save() (db.py: folders, schema; queue.py: the
              outbox; upkeep.py: recovery, the plain backlog, the purge)
document.py   the sealed document (photo_wire.capture.CaptureDocument)
sync.py       SyncAgent: uploads.py (PUTs, heartbeat), pulls.py (roster,
              schedule), http.py (requests, errors, status), answers.py
enrolment.py  `kiosk enrol` and the booth's token (the only reader/writer)
bundle.py     `kiosk export`: the USB bundle; receipts.py `kiosk import-receipts`
usb.py        finding the USB stick
"""
