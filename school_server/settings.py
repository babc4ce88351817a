"""Server configuration: a small TOML file and a few environment variables.

Precedence (later wins): defaults, DATA/server.toml (or --config FILE),
PHOTO_SERVER_* environment variables. Secrets (S3 keys, database passwords in
the URL) are best given by environment, so the TOML file can be shared.

    database_url = "postgresql+psycopg://photo@db/photo"   # default: SQLite in DATA
    max_body_bytes = 25165824
    max_concurrent_uploads = 4
    max_uploads_per_kiosk = 2      # big uploads one kiosk may have at once
    min_upload_rate = 10240        # bytes a second, after upload_grace_seconds = 10
    timezone = "Asia/Shanghai"     # for schedule times written without an offset
    trusted_proxies = ["127.0.0.1"]  # the reverse proxy (school_server/deploy/nginx.conf)
    status_links_until = 2026-12-31  # the students' status links work through this date

    [storage]
    backend = "local"              # or "s3"
    local_dir = "/srv/photo/objects"  # default: DATA/objects

    [storage.s3]
    endpoint_url = "http://127.0.0.1:8333"
    bucket = "captures"
    region = "us-east-1"
"""

from __future__ import annotations

import os
from datetime import date
from ipaddress import ip_network
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from photo_wire.files import load_toml

CONFIG_NAME = "server.toml"
ENV_PREFIX = "PHOTO_SERVER_"


class S3Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint_url: str | None = None  # None: AWS itself
    bucket: str = "photo-captures"
    region: str | None = None
    access_key: str | None = None  # None: boto3's own credential chain
    secret_key: str | None = None
    prefix: str = ""


class StorageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["local", "s3"] = "local"
    local_dir: Path | None = None  # default DATA/objects
    s3: S3Settings = Field(default_factory=S3Settings)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_dir: Path
    database_url: str | None = None  # default sqlite:///DATA/server.db
    storage: StorageSettings = Field(default_factory=StorageSettings)
    # A capture carries the spec photo (~40 KB) and the untouched original
    # still (3-5 MB from the Pi HQ camera); base64 inside the sealed JSON and
    # again in the request body make that about 1.8x: 24 MiB leaves room.
    max_body_bytes: int = Field(default=24 * 1024 * 1024, gt=0)
    # Bodies over 1 MiB (captures with the original still) at once; more get
    # 503 + Retry-After. Each costs about 3x its size in memory while stored.
    max_concurrent_uploads: int = Field(default=4, gt=0)
    # ... of which one kiosk's token may hold this many (its sync agent sends one
    # at a time; a second covers a retry while the first is still being cut off).
    max_uploads_per_kiosk: int = Field(default=2, gt=0)
    # A request body must average this many bytes a second once upload_grace_seconds
    # have passed, else 408 and the connection closed (school_server/body_guard.py).
    min_upload_rate: int = Field(default=10 * 1024, gt=0)
    upload_grace_seconds: float = Field(default=10.0, gt=0)
    timezone: str = "Asia/Shanghai"
    # Failed office logins one client address may make in 15 minutes, over
    # all accounts (each account also locks after 5): school_server/login_throttle.py.
    office_login_failures_per_address: int = Field(default=20, gt=0)
    # Password checks (argon2, 64 MiB each) at once, and logins that may wait
    # for one; more get 503 + Retry-After: school_server/office_login.py.
    office_login_hash_slots: int = Field(default=2, gt=0)
    office_login_queue: int = Field(default=32, gt=0)
    # Reverse proxies whose X-Forwarded-For is believed (addresses or
    # networks, e.g. ["127.0.0.1"]). Empty: the peer is the client, and the
    # header is ignored (docs/server-security.md).
    trusted_proxies: list[str] = Field(default_factory=list)
    # The students' status pages (GET /status/<token>, school_server/web/status.py):
    # every link works through this date (the school's time zone), none after
    # it. Unset: links do not expire (set it to the season's end).
    status_links_until: date | None = None
    # Status page requests one client address may make a minute (a school's
    # Wi-Fi may put many phones behind one address: not too few).
    status_page_requests_per_minute: int = Field(default=60, gt=0)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        # From the environment: comma-separated.
        return [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) \
            else value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: list[str]) -> list[str]:
        for proxy in value:
            try:
                ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: {proxy!r} is not an IP address or "
                                 "network") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name, e.g. Asia/Shanghai)") from None
        return value

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'server.db'}"

    @property
    def objects_dir(self) -> Path:
        return self.storage.local_dir or self.data_dir / "objects"

    @property
    def spool_dir(self) -> Path:
        """Where big request bodies wait on disk while they arrive."""
        return self.data_dir / "spool"

    @property
    def private_key_file(self) -> Path:
        return self.data_dir / "server.key"


# Environment variable -> path into the settings document.
_ENV_FIELDS: dict[str, tuple[str, ...]] = {
    "DATABASE_URL": ("database_url",),
    "MAX_BODY_BYTES": ("max_body_bytes",),
    "MAX_CONCURRENT_UPLOADS": ("max_concurrent_uploads",),
    "MAX_UPLOADS_PER_KIOSK": ("max_uploads_per_kiosk",),
    "TIMEZONE": ("timezone",),
    "OFFICE_LOGIN_FAILURES_PER_ADDRESS": ("office_login_failures_per_address",),
    "OFFICE_LOGIN_HASH_SLOTS": ("office_login_hash_slots",),
    "OFFICE_LOGIN_QUEUE": ("office_login_queue",),
    "TRUSTED_PROXIES": ("trusted_proxies",),
    "STATUS_LINKS_UNTIL": ("status_links_until",),
    "STATUS_PAGE_REQUESTS_PER_MINUTE": ("status_page_requests_per_minute",),
    "STORAGE_BACKEND": ("storage", "backend"),
    "STORAGE_LOCAL_DIR": ("storage", "local_dir"),
    "S3_ENDPOINT_URL": ("storage", "s3", "endpoint_url"),
    "S3_BUCKET": ("storage", "s3", "bucket"),
    "S3_REGION": ("storage", "s3", "region"),
    "S3_ACCESS_KEY": ("storage", "s3", "access_key"),
    "S3_SECRET_KEY": ("storage", "s3", "secret_key"),
    "S3_PREFIX": ("storage", "s3", "prefix"),
}


def load_settings(data_dir: Path | str | None = None, config_file: Path | str | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    """Settings for a data dir (argument, else PHOTO_SERVER_DATA)."""
    env = os.environ if environ is None else environ
    if data_dir is None:
        data_dir = env.get(ENV_PREFIX + "DATA")
    if not data_dir:
        raise ValueError("no data dir: pass --data DIR or set PHOTO_SERVER_DATA")
    data_dir = Path(data_dir)
    doc: dict = {}
    path = Path(config_file) if config_file else data_dir / CONFIG_NAME
    if config_file or path.exists():
        doc = load_toml(path)
    for name, keys in _ENV_FIELDS.items():
        value = env.get(ENV_PREFIX + name)
        if value is None:
            continue
        node = doc
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    doc["data_dir"] = data_dir
    return Settings.model_validate(doc)

