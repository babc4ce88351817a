"""Jewellery (issue 23 item 5): gold, silver and pearl necklaces and
earrings painted on both portraits of the labelled set
(tests/headwear_cases.py); bare, every skin tone reads none; the school's
policy (refuse, warn, ignore) decides what the check and the live hint do."""

from __future__ import annotations

import face_set as fs
import headwear_cases as hc
import pytest

from kiosk.codes import Hint
from kiosk.config import PhotoConfig
from kiosk.photo.crop import encode_jpeg
from kiosk.photo.guidance import hints_for
from kiosk.photo.process import check_spec_jpeg

FACES = [(p, s) for p in fs.PORTRAITS for s in fs.SKIN]
PAINTED = [(p, s) for p in fs.PORTRAITS for s in (None, 72.0, 42.0, 24.0)]


# The booth's stills of every tone, under load, take longer than the
# project's 300 s default.
pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(scope="module")
def lit(tmp_path_factory):
    """(analyser, hc.lit_photos: the lit spec photos, made on first use)."""
    from kiosk.photo.analysis import FaceAnalyser

    with FaceAnalyser(static_image_mode=True) as analyser:
        photo = hc.lit_photos(analyser, tmp_path_factory.mktemp("faces"))
        yield analyser, photo


def _check(analyser, img, spec=fs.SPEC):
    problems, measures = check_spec_jpeg(encode_jpeg(img, spec).data, analyser, spec, count_people=False)
    return problems, measures["checks"]["JEWELLERY"]


@pytest.mark.parametrize("portrait,skin", FACES)
def test_bare_necks_and_ears_read_none(lit, portrait, skin):
    analyser, photo = lit
    problems, m = _check(analyser, photo(portrait, skin)[0])
    assert "JEWELLERY" not in problems and m["value"] == 0.0, m


@pytest.mark.parametrize("portrait,skin", PAINTED)
def test_necklaces_and_drop_earrings_are_seen(lit, portrait, skin):
    """Gold and silver necklaces (with a pendant or a bare chain), gold
    drop earrings and pearl studs on every tested tone: the studs by their
    glint under the lobe (without it the astronaut's read 0 on every tone).
    Gold and silver studs are not reliably seen (docs/photo-checks.md)."""
    analyser, photo = lit
    rgb, face = photo(portrait, skin)
    missed = []
    for name, img in [*((f"{metal} necklace", hc.necklace(rgb, face, metal, pendant))
                        for metal in ("gold", "silver") for pendant in (True, False)),
                      ("gold drop earrings", hc.earrings(rgb, face, "gold", drop=True)),
                      ("pearl studs", hc.earrings(rgb, face, "pearl"))]:
        problems, m = _check(analyser, img)
        if "JEWELLERY" not in problems:
            missed.append((name, m["value"]))
    assert not missed, missed


@pytest.mark.parametrize("policy,refused,hinted", [("refuse", True, True), ("warn", False, True),
                                                    ("ignore", False, False)])
def test_the_schools_policy(lit, policy, refused, hinted):
    analyser, photo = lit
    spec = fs.SPEC.model_copy(update={"jewellery": policy})
    rgb, face = photo("astronaut", None)
    worn = hc.necklace(rgb, face, "gold")
    problems, m = _check(analyser, worn, spec)
    assert ("JEWELLERY" in problems) is refused and m["value"] > m["band"][1], (policy, m)  # measured all the same
    assert (Hint.JEWELLERY in hints_for(analyser.analyse(worn), spec)) is hinted, policy
    assert Hint.JEWELLERY not in hints_for(analyser.analyse(rgb), spec), policy


def test_worn_things_are_only_reported_by_default(lit):
    # Until a school's own booth shows the measures hold (docs/photo-checks.md):
    # measured and in the report, no hint, no refusal.
    analyser, photo = lit
    spec = PhotoConfig()
    assert (spec.jewellery, spec.head_covering) == ("ignore", "ignore")
    rgb, face = photo("astronaut", None)
    worn = hc.necklace(rgb, face, "gold")
    problems, m = _check(analyser, worn, spec)
    assert "JEWELLERY" not in problems and m["value"] > m["band"][1], m
    assert Hint.JEWELLERY not in hints_for(analyser.analyse(worn), spec)
