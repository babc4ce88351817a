"""read-card: read one ID card and print it, the ID number masked."""

from __future__ import annotations

import argparse
import sys

from kiosk.cli.common import load

_SEXES = {"1": "male", "2": "female", "0": "unknown", "9": "unspecified"}


def cmd_read_card(args: argparse.Namespace) -> int:
    """Read one card; exit 0 read, 1 reader/card error, 2 no card in time."""
    import json
    import time
    from datetime import datetime

    from pydantic import ValidationError

    from kiosk.config import IdReaderConfig
    from kiosk.hardware.backends import make_card_reader
    from kiosk.hardware.id_reader import CardReadError, ReaderError
    from photo_wire.idnumber import is_valid, mask_id

    config = load(args)
    reader_config = config.id_reader
    if args.port is not None or args.baud is not None:
        # A port or baud on the command line means the SAM serial reader.
        update: dict = {"backend": "sam"}
        if args.port is not None:
            update["port"] = args.port
        if args.baud is not None:
            update["baud"] = args.baud
        try:
            reader_config = IdReaderConfig.model_validate({**reader_config.model_dump(), **update})
        except ValidationError as err:
            print(f"read-card: {err}", file=sys.stderr)
            return 1
    reader = make_card_reader(reader_config)
    try:
        reader.open()
        deadline = time.monotonic() + args.timeout
        card = None
        while card is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                print(f"no card within {args.timeout:g} s", file=sys.stderr)
                return 2
            card = reader.poll(min(remaining, 0.5))
    except CardReadError as err:
        print(f"card could not be read: {err}", file=sys.stderr)
        return 1
    except ReaderError as err:
        print(f"card reader error: {err}", file=sys.stderr)
        return 1
    finally:
        reader.close()

    today = datetime.now(config.kiosk.tz()).date()  # the booth's date, not the host's
    expired = card.valid_until is not None and card.valid_until < today
    result = {
        "name": card.name,
        "sex": card.sex,
        "birth_date": card.birth_date.isoformat() if card.birth_date else None,
        "id_number_masked": mask_id(card.id_number),  # never the full number
        "id_number_valid": is_valid(card.id_number, today),
        "valid_until": card.valid_until.isoformat() if card.valid_until else None,
        "expired": expired,
    }
    if card.uid:  # PC/SC readers give only a UID or chip serial (masked: it keys the roster)
        from kiosk.hardware.pcsc_reader import mask_uid

        result["uid_masked"] = mask_uid(card.uid)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    if card.uid and not card.id_number:
        print(f"card UID:    {result['uid_masked']} (no ID text: PC/SC reader)")
        return 0
    print(f"name:        {result['name']}")
    print(f"sex:         {card.sex} ({_SEXES.get(card.sex, 'unknown code')})")
    print(f"birth date:  {result['birth_date'] or '-'}")
    check = "check character ok" if result["id_number_valid"] else "INVALID"
    print(f"ID number:   {result['id_number_masked']} ({check})")
    print(f"valid until: {result['valid_until'] or 'long-term (长期)'}")
    print(f"expired:     {'YES' if expired else 'no'}")
    return 0
