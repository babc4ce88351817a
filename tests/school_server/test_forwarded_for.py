"""X-Forwarded-For is believed only from the configured proxies (issue 24,
item 3): by default a new forged value per request is still the same client
and is throttled; with the proxy configured its header is the client. And
the shipped nginx configuration overwrites the header rather than appending
to whatever the browser sent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import school_server

from server.harness import Deployment, run_cli
from server.office_http import log_in, outcome

NGINX_CONF = Path(school_server.__file__).parent / "deploy" / "nginx.conf"


def _answers(tmp_path: Path, config: str) -> list[str]:
    """Four wrong logins, each claiming another address, under a limit of 3."""
    dep = Deployment(tmp_path / "data", "office_login_failures_per_address = 3\n" + config)
    try:
        dep.server.start()
        return [outcome(log_in(dep.server.url, f"user{i}", "wrong password!",
                               {"X-Forwarded-For": f"203.0.113.{i}"})) for i in range(4)]
    finally:
        dep.close()


def test_a_forged_header_is_ignored_by_default(tmp_path: Path) -> None:
    assert _answers(tmp_path, "") == ["bad", "bad", "bad", "throttled"]


def test_the_configured_proxy_is_believed(tmp_path: Path) -> None:
    assert _answers(tmp_path, 'trusted_proxies = ["127.0.0.1"]\n') == ["bad"] * 4


def test_a_bad_proxy_setting_is_refused_without_a_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "server.toml").write_text('trusted_proxies = ["the proxy"]\n', encoding="utf-8")
    result = run_cli(data, "migrate")
    assert result.code == 1 and "'the proxy' is not an IP address" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("rule", [
    r"proxy_set_header\s+X-Forwarded-For\s+\$remote_addr;",  # overwritten, not appended to
    r"proxy_pass\s+http://127\.0\.0\.1:8700;",
    r"ssl_certificate\s", r"client_max_body_size\s+25m;"])
def test_the_nginx_configuration(rule: str) -> None:
    text = NGINX_CONF.read_text(encoding="utf-8")
    assert re.search(rule, text), rule
    code = [line.split("#")[0] for line in text.splitlines()]
    assert not any("$proxy_add_x_forwarded_for" in line for line in code)
