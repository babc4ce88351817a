"""The booth and the server read one wire contract (photo_wire): a roster cell
normalised on the server is found by the booth's card read."""

from __future__ import annotations

from pathlib import Path

from kiosk.domain import IdCard, RosterOutcome
from kiosk.identity.roster import CsvRoster
from kiosk.identity.server_roster import ServerRoster

from server.harness import Deployment

ID = "11010119900307002X"
ROSTER = ("id_number,name,programme,centre,session,card_uid\n"
          # Excel's text marker, then a space, and a lower-case check character;
          # a full-width UID with colons
          f"' {ID.lower()},张三,Computing,Haidian,2026-06-A,０４:a2:c3:d4\n")


def test_a_quoted_spaced_cell_matches_on_both_sides(deployment: Deployment, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    assert deployment.cli("import-roster", str(path)).code == 0
    with deployment.enrol("Haidian").client() as client:
        document = client.get("/api/v1/roster").json()
    server = ServerRoster(document, "haidian", "2026-06-a")
    local = CsvRoster(path, "haidian", "2026-06-a")
    for card in (IdCard(id_number=ID, name="张三"), IdCard(id_number="", name="", uid="04A2C3D4")):
        on_server, on_booth = server.lookup(card), local.lookup(card)
        assert on_server.outcome == on_booth.outcome == RosterOutcome.EXPECTED
        assert on_server.student_ref == on_booth.student_ref != ""
