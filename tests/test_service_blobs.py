"""Blob stores: the folder store and the S3 store (MinIO SDK) against a real S3-API server on loopback (moto in
server mode) pass one suite; a document stored in S3 comes back byte for byte through the API."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from pipeline.blobs import BlobMissing, FolderStore, S3Store, StoreUnavailable


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture(params=["folder", "s3"])
def store(request, tmp_path, s3_server):
    if request.param == "folder":
        return FolderStore(tmp_path / "blobs")
    return S3Store(endpoint=s3_server, access_key="test", secret_key="testtest", bucket=f"b-{os.urandom(4).hex()}")


def test_content_addressed_idempotent_and_unchanged(store):
    data = b"%PDF-1.7 an invoice" * 100
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.put(data) == sha and store.exists(sha)
    assert store.get(sha) == data
    assert not store.exists("0" * 64)
    with pytest.raises(BlobMissing):
        store.get("0" * 64)


def test_folder_blobs_are_read_only(tmp_path):
    store = FolderStore(tmp_path)
    sha = store.put(b"original")
    path = tmp_path / sha[:2] / sha[2:4] / sha
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_an_unreachable_s3_is_transient():
    store = S3Store(endpoint="127.0.0.1:9", access_key="a", secret_key="b", bucket="unreachable")
    with pytest.raises(StoreUnavailable):
        store.put(b"x")


def test_documents_through_the_api_live_in_s3(tmp_path, s3_server):
    from db_support import sqlite_template
    import shutil
    from service_support import DEMO, auth, running_app, upload, wait_read
    shutil.copyfile(sqlite_template(), tmp_path / "inbound.db")
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path, s3_endpoint=s3_server, s3_access_key="test",
                     s3_secret_key="testtest", s3_bucket="inbound-test") as client:
        doc = upload(client, "INV-88213.pdf").json()
        wait_read(client)
        assert client.get(f"/api/v1/documents/{doc['id']}", headers=auth()).json()["status"] in ("needs_review", "ready")
        assert client.get(f"/api/v1/documents/{doc['id']}/file", headers=auth()).content == (DEMO / "INV-88213.pdf").read_bytes()
        store = client.app.state.services.blobs
        assert isinstance(store, S3Store) and store.exists(doc["sha256"])
    assert not (tmp_path / "blobs").exists()
