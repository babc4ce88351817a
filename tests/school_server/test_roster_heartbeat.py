"""Roster and schedule per centre, heartbeats and `photo-server progress`."""

from __future__ import annotations

from pathlib import Path

from photo_wire.ids import student_ref, uid_ref

from server.harness import Deployment, new_capture_id

ID_A = "110101200001011232"
ID_B = "11010120000202107X"

ROSTER = f"""\ufeffid_number,name,programme,centre,session,card_uid
{ID_A},张三明,Computing,Haidian,2026-06-A,04:a2:c3:d4
{ID_B},李四,Nursing,Haidian,2026-06-B,
330101200003038886,王五,Law,Xihu,2026-06-A,
"""

SCHEDULE = """centre,session,starts_at,ends_at
Haidian,2026-06-B,2026-06-21T09:00,2026-06-21T17:00
Haidian,2026-06-A,2026-06-20T09:00,2026-06-20T17:00
Xihu,2026-06-A,2026-06-20T09:00:00+08:00,2026-06-20T12:00:00+08:00
"""


def _import(dep: Deployment, tmp_path: Path, what: str, text: str) -> str:
    path = tmp_path / f"{what}.csv"
    path.write_text(text, encoding="utf-8")
    result = dep.cli(f"import-{what}", str(path))
    assert result.code == 0, result.err
    return result.out + result.err


def test_roster_is_the_schools_refs_without_names(deployment: Deployment, tmp_path: Path) -> None:
    out = _import(deployment, tmp_path, "roster", ROSTER)
    assert "haidian: 2 roster rows" in out and "xihu: 1 roster rows" in out
    assert ID_A not in out and "张三明" not in out
    haidian, xihu = deployment.enrol("Haidian"), deployment.enrol("xihu ")
    with haidian.client() as client:
        reply = client.get("/api/v1/roster")
    assert reply.status_code == 200
    roster = reply.json()
    assert roster["centre"] == "haidian"
    # Every centre's students (a makeup shoot takes anyone; the wrong centre is told theirs).
    xihu_ref = student_ref("330101200003038886")
    assert {(r["student_ref"], r["centre"]) for r in roster["rows"]} == {
        (student_ref(ID_A), "haidian"), (student_ref(ID_B), "haidian"), (xihu_ref, "xihu")}
    # Refs and what the flow needs: no name or programme for a stolen booth token.
    assert ID_A not in reply.text and "张三明" not in reply.text and "Computing" not in reply.text
    assert all("name" not in r and "programme" not in r for r in roster["rows"])
    # The kiosk keys a card read the same way (photo_wire, no key) and finds the student.
    assert roster["student_ref_scheme"]["algorithm"] == "scrypt-v1"
    assert "key" not in roster["student_ref_scheme"]
    row = next(r for r in roster["rows"] if r["student_ref"] == student_ref(ID_A))
    assert row["session"] == "2026-06-a" and not row["retake"] and row["retake_reason"] is None
    assert row["uid_hash"] == uid_ref("04A2C3D4")
    with xihu.client() as client:
        other = client.get("/api/v1/roster").json()
    assert other["centre"] == "xihu" and other["rows"] == roster["rows"]
    assert ID_A not in deployment.server.log() and "张三明" not in deployment.server.log()


def test_roster_etag_skips_an_unchanged_roster(deployment: Deployment, tmp_path: Path) -> None:
    _import(deployment, tmp_path, "roster", ROSTER)
    kiosk = deployment.enrol("Haidian")
    with kiosk.client() as client:
        first = client.get("/api/v1/roster")
        etag = first.headers["etag"]
        assert etag == f'"{first.json()["version"]}"'
        same = client.get("/api/v1/roster", headers={"If-None-Match": etag})
        assert same.status_code == 304 and same.content == b""
        # A programme is not sent: changing one leaves the booth's roster as it is...
        _import(deployment, tmp_path, "roster", ROSTER.replace("Nursing", "Midwifery"))
        assert client.get("/api/v1/roster", headers={"If-None-Match": etag}).status_code == 304
        # ...a re-import with a changed session gives a new version.
        _import(deployment, tmp_path, "roster", ROSTER.replace("2026-06-B", "2026-06-C"))
        changed = client.get("/api/v1/roster", headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        assert len(changed.json()["rows"]) == 3  # replaced, not appended (both centres)


def test_roster_import_refuses_a_file_without_ids(deployment: Deployment, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("name,programme,centre,session\n张三,CS,Haidian,A\n", encoding="utf-8")
    result = deployment.cli("import-roster", str(path))
    assert result.code == 1 and "id_number" in result.err


def test_schedule_is_the_kiosks_own_centre_by_start(deployment: Deployment, tmp_path: Path) -> None:
    assert "haidian: 2 sessions" in _import(deployment, tmp_path, "schedule", SCHEDULE)
    kiosk = deployment.enrol("Haidian")
    with kiosk.client() as client:
        schedule = client.get("/api/v1/schedule").json()
    assert schedule["centre"] == "haidian"
    assert [s["session"] for s in schedule["sessions"]] == ["2026-06-a", "2026-06-b"]
    # Naive times are the centre's local time (Asia/Shanghai by default), sent as UTC.
    assert schedule["sessions"][0]["starts_at"] == "2026-06-20T01:00:00Z"


def test_schedule_etag_skips_an_unchanged_schedule(deployment: Deployment, tmp_path: Path) -> None:
    _import(deployment, tmp_path, "schedule", SCHEDULE)
    kiosk = deployment.enrol("Haidian")
    with kiosk.client() as client:
        etag = client.get("/api/v1/schedule").headers["etag"]
        same = client.get("/api/v1/schedule", headers={"If-None-Match": etag})
        assert same.status_code == 304 and same.content == b""
        _import(deployment, tmp_path, "schedule", SCHEDULE.replace("2026-06-B", "2026-06-C"))
        changed = client.get("/api/v1/schedule", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert [s["session"] for s in changed.json()["sessions"]] == ["2026-06-a", "2026-06-c"]


def test_heartbeat_is_stored_and_shown_by_progress(deployment: Deployment, tmp_path: Path) -> None:
    _import(deployment, tmp_path, "schedule", SCHEDULE)  # the roster's sessions must be in it
    _import(deployment, tmp_path, "roster", ROSTER)
    kiosk = deployment.enrol("Haidian", "booth-beat")
    beat = {"status": "uploading", "queue_depth": 3, "free_mb": 12345, "version": "0.1.0",
            "last_error": "camera timeout"}
    with kiosk.client() as client:
        assert client.post("/api/v1/heartbeat", json=beat).status_code == 204
        assert client.post("/api/v1/heartbeat", json={**beat, "queue_depth": 2}).status_code == 204
        assert client.post("/api/v1/heartbeat", json={**beat, "queue_depth": -1}).status_code == 422
    for _ in range(2):
        body = kiosk.upload_body(kiosk.seal({"spec_jpeg": "AAAA"}), session="2026-06-A")
        assert kiosk.put(new_capture_id(), body).status_code == 201
    report = deployment.cli("progress")
    assert report.code == 0
    lines = report.out.splitlines()
    kiosk_line = next(line for line in lines if "booth-beat" in line)
    assert kiosk_line.split()[:3] == ["booth-beat", "haidian", "active"]
    assert "uploading" in kiosk_line and " 2 " in kiosk_line and "12345" in kiosk_line
    assert "camera timeout" in kiosk_line
    session_line = next(line for line in lines if line.split()[:2] == ["haidian", "2026-06-a"])
    captures, roster = session_line.split()[2:4]
    assert int(captures) >= 2 and roster == "1"
    assert any(line.split()[:4] == ["xihu", "2026-06-a", "0", "1"] for line in lines)


def test_a_heartbeat_the_database_cannot_hold_is_422(deployment: Deployment) -> None:
    """NUL characters and integers over 32 bits: SQLite would store them,
    PostgreSQL fail on them; both backends refuse them the same way."""
    kiosk = deployment.enrol("Haidian")
    beat = {"status": "idle", "queue_depth": 0, "free_mb": 1, "version": "0.1.0"}
    bad = [{"last_error": "reader said \x00\x01"}, {"status": "id\x00le"},
           {"version": "0.1\x00"}, {"free_mb": 2**31}, {"queue_depth": 2**40}]
    with kiosk.client() as client:
        for over in bad:
            reply = client.post("/api/v1/heartbeat", json={**beat, **over})
            assert reply.status_code == 422, (over, reply.text)
            assert next(iter(over)) in str(reply.json()["detail"])
        assert client.post("/api/v1/heartbeat",
                           json={**beat, "free_mb": 2**31 - 1}).status_code == 204


def test_heartbeat_numbers_are_json_integers(deployment: Deployment) -> None:
    """Pydantic's lax mode took false as 0 and "5" as 5, which the published
    schema calls invalid; 1.0 is a JSON integer and stays accepted."""
    kiosk = deployment.enrol("Haidian")
    beat = {"status": "idle", "queue_depth": 0, "free_mb": 1, "version": "0.1.0"}
    with kiosk.client() as client:
        for over in ({"free_mb": False}, {"queue_depth": True}, {"free_mb": "5"},
                     {"queue_depth": 1.5}):
            reply = client.post("/api/v1/heartbeat", json={**beat, **over})
            assert reply.status_code == 422, (over, reply.text)
            assert reply.json()["detail"][0]["loc"] == ["body", next(iter(over))]
        assert client.post("/api/v1/heartbeat", json={**beat, "free_mb": 1.0}).status_code == 204


def test_a_body_that_is_not_utf8_json_is_a_json_400(deployment: Deployment) -> None:
    kiosk = deployment.enrol("Haidian")
    with kiosk.client() as client:
        reply = client.post("/api/v1/heartbeat", content=b"\xff\xfe{",
                            headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    assert reply.json() == {"detail": "There was an error parsing the body"}
