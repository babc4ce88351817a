"""A real nginx in front of a test server, run from the shipped configuration
(school_server/deploy/nginx.conf) with only its ports, certificate and
upstream swapped for the test's: its own prefix, pid, logs and temporary
directories under a run dir, listening on free 127.0.0.1 ports, so no root
is needed. The file is included in an http {} block as Debian's
/etc/nginx/nginx.conf includes sites-enabled/."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx

import school_server

from .harness import end_process, free_port

NGINX_CONF = Path(school_server.__file__).parent / "deploy" / "nginx.conf"
STARTUP_SECONDS = 15


def nginx_binary() -> str | None:
    """nginx, also where a user's PATH has no /usr/sbin."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


def render(text: str, *, http_port: int, https_port: int, upstream_port: int,
           cert: Path, key: Path) -> str:
    """The shipped site with the test's ports, certificate and upstream.

    Each swap must match as often as stated, so a change to the shipped file
    that the test would silently stop running fails here instead."""
    swaps = [  # (pattern, replacement, matches expected)
        (r"^[ \t]*listen \[::\]:.*\n", "", 2),  # IPv6 is not needed on loopback
        (r"\blisten 80;", f"listen 127.0.0.1:{http_port};", 1),
        (r"\blisten 443 ", f"listen 127.0.0.1:{https_port} ", 1),
        (r"\bssl_certificate\s+\S+;", f"ssl_certificate {cert};", 1),
        (r"\bssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", 1),
        (r"proxy_pass http://127\.0\.0\.1:8700;", f"proxy_pass http://127.0.0.1:{upstream_port};", 2),
    ]
    for pattern, new, expected in swaps:
        text, found = re.subn(pattern, new, text, flags=re.M)
        if found != expected:
            raise AssertionError(f"{NGINX_CONF}: {pattern!r} matched {found} times, not {expected}:"
                                 " update tests/server/nginx_proxy.py with it")
    return text


def _main_conf(run_dir: Path, site: Path) -> str:
    # As root, nginx would run its workers as nobody, who cannot enter tmp_path.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join(f"    {name}_temp_path {run_dir / name};\n"
                    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"{user}worker_processes 1;\npid {run_dir / 'nginx.pid'};\n"
            f"error_log {run_dir / 'error.log'};\nevents {{ worker_connections 64; }}\n"
            f"http {{\n    access_log {run_dir / 'access.log'};\n{temps}"
            f"    include {site};\n}}\n")


class NginxProxy:
    """nginx with the shipped site in front of 127.0.0.1:upstream_port."""

    def __init__(self, run_dir: Path, upstream_port: int) -> None:
        binary = nginx_binary()
        assert binary, "nginx is not installed"
        self.binary, self.run_dir = binary, run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        cert, key = run_dir / "cert.pem", run_dir / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", "/CN=photo.example.edu.cn", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
        self.http_port, self.https_port = free_port(), free_port()
        site = run_dir / "photo-server.conf"
        site.write_text(render(NGINX_CONF.read_text(encoding="utf-8"), http_port=self.http_port,
                               https_port=self.https_port, upstream_port=upstream_port,
                               cert=cert, key=key), encoding="utf-8")
        self.conf = run_dir / "nginx.conf"
        self.conf.write_text(_main_conf(run_dir, site), encoding="utf-8")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def _command(self, *args: str) -> list[str]:
        return [self.binary, "-e", str(self.run_dir / "error.log"), "-p", str(self.run_dir),
                "-c", str(self.conf), *args]

    def check(self) -> subprocess.CompletedProcess[str]:
        """nginx -t on the configuration."""
        return subprocess.run(self._command("-t"), capture_output=True, text=True, timeout=30)

    def start(self) -> None:
        self.proc = subprocess.Popen(self._command("-g", "daemon off;"),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited ({self.proc.returncode}):\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen in {STARTUP_SECONDS} s:\n{self.log()}")

    def stop(self) -> None:
        end_process(self.proc)
        self.proc = None

    def log(self) -> str:
        path = self.run_dir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self, source: str = "127.0.0.1", **kwargs: object) -> httpx.Client:
        """An HTTPS client of the proxy whose connections come from source
        (any 127.x address: loopback is the whole 127.0.0.0/8)."""
        transport = httpx.HTTPTransport(verify=False, local_address=source)
        return httpx.Client(base_url=self.url, transport=transport, timeout=60, **kwargs)  # type: ignore[arg-type]
