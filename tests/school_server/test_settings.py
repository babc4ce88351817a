"""The server's settings (school_server/settings.py): the status page's, from
server.toml and from the environment."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from school_server.settings import load_settings


def test_status_link_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    assert load_settings(tmp_path, environ={}).status_links_until is None  # no end by default
    (tmp_path / "server.toml").write_text("status_links_until = 2027-01-31\n"
                                          "status_page_requests_per_minute = 10\n")
    settings = load_settings(tmp_path, environ={})
    assert settings.status_links_until == date(2027, 1, 31)
    assert settings.status_page_requests_per_minute == 10
    env = {"PHOTO_SERVER_STATUS_LINKS_UNTIL": "2027-02-28",
           "PHOTO_SERVER_STATUS_PAGE_REQUESTS_PER_MINUTE": "30"}
    settings = load_settings(tmp_path, environ=env)
    assert (settings.status_links_until, settings.status_page_requests_per_minute) == \
        (date(2027, 2, 28), 30)


@pytest.mark.parametrize("line", ['status_links_until = "next summer"',
                                  "status_page_requests_per_minute = 0"])
def test_bad_status_link_settings_are_refused(tmp_path: Path, line: str) -> None:
    (tmp_path / "server.toml").write_text(line + "\n")
    with pytest.raises(ValidationError, match=line.split()[0]):
        load_settings(tmp_path, environ={})
