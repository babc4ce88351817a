"""Object storage for the sealed capture bytes: local files or S3.

Keys look like captures/<capture_id>/<digest>.sealed: a retry after a crash
rewrites the same bytes under the same key, and a conflicting upload (same
capture_id, other digest) can never overwrite the first one's object.
The S3 backend is written against boto3 but not yet covered by tests.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from photo_wire.files import fsync_dir
from school_server.private_files import private_dir
from school_server.settings import Settings

_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*$")


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store data under key durably; returns only once it is safe."""

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None:
        """Remove the object under key (nothing happens when there is none)."""


def capture_key(capture_id: str, digest: str) -> str:
    return f"captures/{capture_id}/{digest}.sealed"


def _check_key(key: str) -> str:
    # Keys come from validated capture ids and digests; this is the last guard
    # against a path escaping the storage root.
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"bad object key {key!r}")
    return key


class LocalStore:
    """Files under a root directory (0700 dirs, 0600 files)."""

    def __init__(self, root: Path) -> None:
        self.root = private_dir(root)

    def path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # temp + fsync + rename + dir fsync: the object is whole or absent,
        # and it is on disk before the row (and the receipt) exist.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(target.parent)

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def delete(self, key: str) -> None:
        target = self.path(key)
        target.unlink(missing_ok=True)
        if target.parent.exists():
            fsync_dir(target.parent)


class S3Store:
    """An S3 bucket (AWS, SeaweedFS, MinIO). Needs the `s3` extra (boto3).
    A PUT is atomic on S3, so no temp objects are needed."""

    def __init__(self, endpoint_url: str | None, bucket: str, region: str | None,
                 access_key: str | None, secret_key: str | None, prefix: str = "") -> None:
        import boto3  # optional dependency: only S3 deployments install it

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region,
                                   aws_access_key_id=access_key,
                                   aws_secret_access_key=secret_key)

    def put(self, key: str, data: bytes) -> None:
        with self._as_os_error():
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + _check_key(key),
                                   Body=data)

    def get(self, key: str) -> bytes:
        with self._as_os_error():
            reply = self.client.get_object(Bucket=self.bucket, Key=self.prefix + _check_key(key))
            return reply["Body"].read()

    def delete(self, key: str) -> None:
        with self._as_os_error():
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + _check_key(key))

    @contextmanager
    def _as_os_error(self) -> Iterator[None]:
        # Callers handle OSError (503 to the kiosk, a failed row in export).
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (BotoCoreError, ClientError) as err:
            raise OSError(f"S3: {type(err).__name__}") from err


def open_store(settings: Settings) -> ObjectStore:
    storage = settings.storage
    if storage.backend == "s3":
        s3 = storage.s3
        return S3Store(s3.endpoint_url, s3.bucket, s3.region, s3.access_key, s3.secret_key,
                       s3.prefix)
    return LocalStore(settings.objects_dir)

