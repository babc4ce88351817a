"""Office test data shared by the office page tests: the staff password,
a capture uploaded by a booth, valid ID numbers and the roster's rows."""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image
from sqlalchemy import select

from photo_wire.idnumber import check_character
from photo_wire.ids import student_ref
from school_server import db as dbm
from school_server.models import RosterRow
from school_server.settings import load_settings
from server.harness import Deployment, Kiosk, new_capture_id

PASSWORD = "correct horse battery"


def _spec_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (480, 640), (200, 210, 220)).save(out, "JPEG", quality=90)
    return out.getvalue()


def _ref(dep: Deployment, id_number: str) -> str:
    return student_ref(id_number)


def _upload(kiosk: Kiosk, dep: Deployment, id_number: str, name: str,
            session: str = "2026-06-a", **more: Any) -> str:
    doc = {"spec_jpeg": base64.b64encode(_spec_jpeg()).decode(), "id_number": id_number,
           "name": name, "student_ref": _ref(dep, id_number), "code_payload": "CHSI" + "7" * 20,
           "session": session, "makeup": False, "check_report": {"passed": True}, **more}
    capture_id = new_capture_id()
    reply = kiosk.put(capture_id, kiosk.upload_body(kiosk.seal(doc), session=session))
    assert reply.status_code == 201
    return capture_id


def valid_id(n: int) -> str:
    first17 = f"1101051990{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return first17 + check_character(first17)


def _rows(dep: Deployment, centre: str) -> list[tuple[str, str, str | None, str | None]]:
    engine = dbm.make_engine(load_settings(dep.data_dir).db_url)
    try:
        with engine.connect() as conn:
            return sorted(tuple(r) for r in conn.execute(
                select(RosterRow.name, RosterRow.student_ref, RosterRow.id_masked, RosterRow.phone)
                .where(RosterRow.centre == centre)))
    finally:
        engine.dispose()
