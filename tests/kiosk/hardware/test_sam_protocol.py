"""The SAM reader's frame format, text decoding and the incremental parser."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.hardware import sam_protocol as sp
from kiosk.hardware.id_reader import CardReadError
from kiosk.domain import IdCard

pytestmark = pytest.mark.timeout(120)

CARD = IdCard(
    id_number="110101200103151236",
    name="张三",
    sex="1",
    ethnicity="01",
    birth_date=date(2001, 3, 15),
    address="北京市东城区景山前街4号",
    issuer="北京市公安局东城分局",
    valid_from=date(2021, 7, 1),
    valid_until=date(2031, 7, 1),
)


def hx(text: str) -> bytes:
    return bytes.fromhex(text)


# ------------------------------------------------------- the doc's frames


@pytest.mark.parametrize(
    ("command", "frame"),
    [
        (sp.RESET_SAM, "AA AA AA 96 69 00 03 10 FF EC"),
        (sp.SAM_STATUS, "AA AA AA 96 69 00 03 11 FF ED"),
        (sp.READ_SAM_ID, "AA AA AA 96 69 00 03 12 FF EE"),
        (sp.FIND_CARD, "AA AA AA 96 69 00 03 20 01 22"),
        (sp.SELECT_CARD, "AA AA AA 96 69 00 03 20 02 21"),
        (sp.READ_TEXT_PHOTO, "AA AA AA 96 69 00 03 30 01 32"),
        (sp.READ_TEXT_PHOTO_FP, "AA AA AA 96 69 00 03 30 10 23"),
    ],
)
def test_requests_match_the_doc(command: sp.Command, frame: str) -> None:
    assert sp.build_request(*command) == hx(frame)
    assert sp.RequestParser().feed(hx(frame)) == [sp.Request(command.cmd, command.para)]


@pytest.mark.parametrize(
    ("frame", "sw3", "data"),
    [
        ("AA AA AA 96 69 00 04 00 00 90 94", 0x90, b""),  # SAM status OK
        ("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97", 0x9F, bytes(4)),  # find card OK
        ("AA AA AA 96 69 00 04 00 00 80 84", 0x80, b""),  # no card
    ],
)
def test_known_replies(frame: str, sw3: int, data: bytes) -> None:
    assert sp.FrameParser().feed(hx(frame)) == [sp.Frame(0, 0, sw3, data)]
    assert sp.build_response(sw3, data) == hx(frame)


def test_checksum_is_xor_from_len_to_before_chk() -> None:
    assert sp.checksum(hx("00 03 11 FF")) == 0xED
    assert sp.checksum(b"") == 0


def test_status_descriptions() -> None:
    assert sp.Status(0x80).description == "find card failed"
    assert sp.describe_status(0x41) == "read failed"
    assert sp.describe_status(0x66) == "SAM not authorized"
    assert sp.describe_status(0x55) == "unknown status 0x55"
    assert all(s.description for s in sp.Status)


# ------------------------------------------------------------- read reply


def read_reply(card: IdCard = CARD, card_type: str = "", photo: bytes = bytes(1024)) -> bytes:
    return sp.build_response(sp.Status.OK, sp.read_reply_data(sp.encode_text(card, card_type), photo))


def test_read_reply_layout_matches_the_doc() -> None:
    reply = read_reply(photo=b"\x77" * 1024)
    assert len(reply) == 1295
    assert reply[:10] == hx("AA AA AA 96 69 05 08 00 00 90")
    assert reply[10:14] == hx("01 00 04 00")  # text 256, photo 1024
    assert reply[14:270] == sp.encode_text(CARD)
    assert reply[270:1294] == b"\x77" * 1024
    assert reply[1294] == sp.checksum(reply[5:1294])


def test_read_reply_decodes_every_field() -> None:
    [frame] = sp.FrameParser().feed(read_reply())
    assert isinstance(frame, sp.Frame)
    card = sp.parse_read_reply(frame)
    assert card == CARD
    assert (card.name, card.sex, card.ethnicity, card.birth_date) == ("张三", "1", "01", date(2001, 3, 15))
    assert card.id_number == "110101200103151236" and card.valid_until == date(2031, 7, 1)
    assert "110101200103151236" not in repr(frame)


def test_text_block_offsets() -> None:
    block = sp.encode_text(CARD)
    assert len(block) == 256
    assert block[0:4] == "张三".encode("utf-16-le") and block[4:6] == b" \x00"
    assert block[30:32] == b"1\x00"
    assert block[36:52] == "20010315".encode("utf-16-le")
    assert block[122:158] == "110101200103151236".encode("utf-16-le")
    assert block[204:220] == "20310701".encode("utf-16-le")
    assert block[220:256] == b" \x00" * 18


def test_long_term_card_has_no_expiry() -> None:
    card = IdCard(**{**CARD.__dict__, "valid_until": None})
    block = sp.encode_text(card)
    assert block[204:212] == "长期".encode("utf-16-le") + b" \x00" * 2
    assert sp.decode_text(block).valid_until is None


@pytest.mark.parametrize(("letter", "what"), [("J", "residence permit"), ("I", "foreign permanent")])
def test_other_card_types_are_refused(letter: str, what: str) -> None:
    block = sp.encode_text(CARD, card_type=letter)
    assert block[248] == ord(letter)
    with pytest.raises(CardReadError, match=f"unsupported card type '{letter}'.*{what}"):
        sp.decode_text(block)


def test_bad_text_is_a_card_read_error() -> None:
    block = bytearray(sp.encode_text(CARD))
    block[36:52] = "20011315".encode("utf-16-le")  # month 13
    with pytest.raises(CardReadError, match="birth_date is not a real date"):
        sp.decode_text(bytes(block))
    with pytest.raises(CardReadError, match="255 bytes"):
        sp.decode_text(bytes(block[:255]))
    block = bytearray(sp.encode_text(CARD))
    block[0:2] = b"\x00\xd8"  # lone surrogate: not UCS-2
    with pytest.raises(CardReadError, match="name is not UCS-2"):
        sp.decode_text(bytes(block))


def test_read_reply_with_bad_lengths_or_status() -> None:
    frame = sp.Frame(0, 0, 0x90, hx("01 00 04 00") + bytes(256 + 1000))
    with pytest.raises(CardReadError, match="lengths do not add up"):
        sp.parse_read_reply(frame)
    with pytest.raises(CardReadError, match="read failed"):
        sp.parse_read_reply(sp.Frame(0, 0, 0x41, b""))


def test_encode_refuses_overlong_fields() -> None:
    with pytest.raises(ValueError, match="name too long"):
        sp.encode_text(IdCard(id_number="1", name="名" * 16))


# ----------------------------------------------------------- FrameParser


def test_noise_partial_frames_and_resync() -> None:
    p = sp.FrameParser()
    ok = sp.build_response(0x90)
    assert p.feed(b"\x00\xaa\x96" + ok[:6]) == []
    assert p.feed(ok[6:]) == [sp.Frame(0, 0, 0x90, b"")]
    assert p.pending == 0


def test_bad_checksum_is_reported_then_next_frame_recovered() -> None:
    p = sp.FrameParser()
    bad = bytearray(sp.build_response(0x9F, bytes(4)))
    bad[-1] ^= 1
    out = p.feed(bytes(bad) + sp.build_response(0x80))
    assert [type(x) for x in out] == [sp.FrameError, sp.Frame]
    assert out[0].kind is sp.FrameErrorKind.CHECKSUM and out[1].sw3 == 0x80


def test_absurd_length_is_refused_without_waiting() -> None:
    p = sp.FrameParser()
    out = p.feed(sp.PREAMBLE + b"\xff\xff\x00\x00\x90")
    assert len(out) == 1 and out[0].kind is sp.FrameErrorKind.LENGTH
    assert p.pending < len(sp.PREAMBLE)  # not waiting for 65535 bytes
    assert p.feed(sp.build_response(0x90)) == [sp.Frame(0, 0, 0x90, b"")]


def test_too_short_length_is_refused() -> None:
    out = sp.FrameParser().feed(sp.PREAMBLE + b"\x00\x02\x00\x02" + sp.build_response(0x80))
    assert out[0].kind is sp.FrameErrorKind.LENGTH and out[-1] == sp.Frame(0, 0, 0x80, b"")


def test_reset_forgets_a_partial_frame() -> None:
    p = sp.FrameParser()
    p.feed(sp.PREAMBLE + b"\x00\x40\x00")  # waits for 64 bytes that never come
    assert p.pending > 0
    p.reset()
    assert p.feed(sp.build_response(0x90)) == [sp.Frame(0, 0, 0x90, b"")]


# ------------------------------------------------------ property tests

BOUND = sp.HEADER_LEN + sp.MAX_LEN  # the most the parser may hold between feeds

# Bytes rich in preamble pieces and length-ish values, plus plain random.
near_preamble = st.lists(
    st.sampled_from([b"\xaa", b"\xaa\xaa\xaa", b"\x96\x69", sp.PREAMBLE, b"\x00", b"\xff\xff", b"\x10\x00"])
    | st.binary(max_size=40),
    max_size=40,
).map(b"".join)

noise = (st.binary(max_size=60) | near_preamble).filter(lambda b: sp.PREAMBLE not in b)
frames = st.builds(
    lambda sw3, data: sp.Frame(0, 0, sw3, data),
    st.integers(0, 255),
    st.binary(max_size=300),
)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=200) | near_preamble, max_size=30))
def test_feed_never_raises_and_stays_bounded(chunks: list[bytes]) -> None:
    p = sp.FrameParser()
    for chunk in chunks:
        out = p.feed(chunk)
        assert all(isinstance(x, (sp.Frame, sp.FrameError)) for x in out)
        assert p.pending < BOUND


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000), st.integers(sp.MAX_LEN + 1, 0xFFFF))
def test_huge_garbage_with_absurd_headers_stays_bounded(size: int, n: int) -> None:
    p = sp.FrameParser()
    blob = (sp.PREAMBLE + n.to_bytes(2, "big") + b"\x00" * 13) * (size // 20 + 1)
    out = p.feed(blob)
    assert out and all(x.kind is sp.FrameErrorKind.LENGTH for x in out)
    assert p.pending < BOUND


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(noise, frames), max_size=8), noise, st.lists(st.integers(0, 10_000), max_size=20))
def test_frames_in_noise_are_all_recovered(
    pairs: list[tuple[bytes, sp.Frame]], tail: bytes, cuts: list[int]
) -> None:
    stream = b"".join(n + sp.build_response(f.sw3, f.data) for n, f in pairs) + tail
    p = sp.FrameParser()
    got: list = []
    for chunk in chunked(stream, cuts):
        got += p.feed(chunk)
        assert p.pending < BOUND
    assert got == [f for _, f in pairs]  # every frame, in order, and no false errors


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(frames, st.booleans()).filter(
            lambda t: sp.PREAMBLE not in sp.build_response(t[0].sw3, t[0].data)[1:]
        ),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.integers(0, 10_000), max_size=10),
)
def test_corrupt_frames_are_reported_and_good_ones_kept(
    items: list[tuple[sp.Frame, bool]], cuts: list[int]
) -> None:
    stream = b""
    for frame, corrupt in items:
        raw = bytearray(sp.build_response(frame.sw3, frame.data))
        if corrupt:
            raw[-1] ^= 0xFF
        stream += bytes(raw)
    p = sp.FrameParser()
    got: list = []
    for chunk in chunked(stream, cuts):
        got += p.feed(chunk)
    assert [x.kind if isinstance(x, sp.FrameError) else x for x in got] == [
        sp.FrameErrorKind.CHECKSUM if corrupt else frame for frame, corrupt in items
    ]


@settings(max_examples=200, deadline=None)
@given(frames)
def test_response_round_trip(frame: sp.Frame) -> None:
    assert sp.FrameParser().feed(sp.build_response(frame.sw3, frame.data, frame.sw1, frame.sw2)) == [frame]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=100))
def test_request_round_trip(cmd: int, para: int, data: bytes) -> None:
    assert sp.RequestParser().feed(sp.build_request(cmd, para, data)) == [sp.Request(cmd, para, data)]


text_field = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFFFF, exclude_categories=("Cs",)),
    max_size=8,
).filter(lambda s: s == s.rstrip(" \x00"))
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31))


@settings(max_examples=200, deadline=None)
@given(
    st.builds(
        IdCard,
        id_number=st.from_regex(r"\A[0-9]{17}[0-9X]\Z"),
        name=text_field,
        sex=st.sampled_from(["0", "1", "2", "9"]),
        ethnicity=st.from_regex(r"\A[0-5][0-9]\Z"),
        birth_date=dates,
        address=text_field,
        issuer=text_field,
        valid_from=dates,
        valid_until=st.none() | dates,
    )
)
def test_text_round_trip(card: IdCard) -> None:
    assert sp.decode_text(sp.encode_text(card)) == card
