"""Blob stores: the original bytes of every document, content-addressed by sha256, never changed or deleted.

Two stores with one interface (`BlobStore`):
- `FolderStore`: files under a folder ($INBOUND_HOME/blobs), `ab/cd/<sha256>`, written to a temporary name and
  renamed into place, then made read-only; the embedded default.
- `S3Store`: objects `blobs/<sha256>` in a bucket through the MinIO SDK (MinIO, AWS S3, any S3 API).

`put` is idempotent (the same bytes give the same reference and write nothing new); `get` returns the bytes or
raises `BlobMissing`; an unreachable store raises `StoreUnavailable`, which tasks retry.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Protocol

from extractors.errors import InboundError
from pipeline.config import Settings


class StoreUnavailable(InboundError):
    """The blob store could not be reached; try again later."""
    code = "store_unavailable"


class BlobMissing(InboundError):
    code = "blob_missing"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store the bytes; returns their sha256 (the reference)."""

    def get(self, sha256: str) -> bytes:
        """The bytes stored under `sha256`."""

    def exists(self, sha256: str) -> bool: ...


class FolderStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise BlobMissing(f"Not a blob reference: {sha256!r}.")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        sha = sha256_of(data)
        path = self._path(sha)
        if path.exists():
            return sha
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def get(self, sha256: str) -> bytes:
        try:
            return self._path(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise BlobMissing(f"The original {sha256[:12]}... is missing from the blob folder.") from exc

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()


class S3Store:
    """Objects `<prefix><sha256>` in `bucket`; the bucket is created when missing."""

    def __init__(self, *, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = False,
                 prefix: str = "blobs/") -> None:
        import urllib3
        from minio import Minio
        # few, quick retries here: the pipeline task retries a StoreUnavailable itself, with backoff
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=60), maxsize=10,
                                   retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(502, 503, 504)))
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, http_client=http)
        self.bucket, self.prefix = bucket, prefix
        self._checked = False

    def _ensure_bucket(self) -> None:
        if self._checked:
            return
        with _s3_errors():
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        self._checked = True

    def put(self, data: bytes) -> str:
        sha = sha256_of(data)
        if self.exists(sha):
            return sha
        with _s3_errors():
            self.client.put_object(self.bucket, self.prefix + sha, io.BytesIO(data), len(data),
                                   content_type="application/octet-stream", metadata={"sha256": sha})
        return sha

    def get(self, sha256: str) -> bytes:
        from minio.error import S3Error
        self._ensure_bucket()
        try:
            with _s3_errors():
                response = self.client.get_object(self.bucket, self.prefix + sha256)
        except S3Error as exc:
            raise BlobMissing(f"The original {sha256[:12]}... is missing from the bucket.") from exc
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def exists(self, sha256: str) -> bool:
        from minio.error import S3Error
        self._ensure_bucket()
        try:
            with _s3_errors():
                self.client.stat_object(self.bucket, self.prefix + sha256)
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
                return False
            raise


class _s3_errors:
    """Network failures become StoreUnavailable (retried); S3 answers (S3Error) pass through."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None:
            return False
        from urllib3.exceptions import HTTPError
        if isinstance(exc, (HTTPError, ConnectionError, OSError)):
            raise StoreUnavailable("The document store cannot be reached; nothing was stored. Try again in a "
                                   "minute.", detail=str(exc)) from exc
        return False


def store_from_settings(settings: Settings) -> BlobStore:
    if settings.s3_endpoint:
        return S3Store(endpoint=settings.s3_endpoint, access_key=settings.s3_access_key,
                       secret_key=settings.s3_secret_key, bucket=settings.s3_bucket, secure=settings.s3_secure)
    return FolderStore(settings.home / "blobs")
