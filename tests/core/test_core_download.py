"""Resumable downloads against a real local HTTP server that drops connections."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from core_helpers import SECRET, TOKEN, FakeTime
from marketo_core import DownloadIntegrityError, MarketoAPIError, MarketoClient, MarketoHTTPError

FILE_PATH = "/bulk/v1/leads/export/ce45/file.json"
PAYLOAD = b"".join(
    hashlib.sha256(str(i).encode()).hexdigest().encode() + b"\n" for i in range(5000)
)  # 325,000 bytes
CHECKSUM = "sha256:" + hashlib.sha256(PAYLOAD).hexdigest()


class FileServer:
    """Serves identity and one bulk file; can cut the body after ``drop_after`` bytes."""

    def __init__(self) -> None:
        self.drop_after: int | None = None
        self.drops_left = 0
        self.honor_range = True
        self.payload = PAYLOAD
        self.content_type = "text/csv"
        self.file_requests: list[dict[str, str | None]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/identity/oauth/token":
                    self._send(200, json.dumps({"access_token": TOKEN, "expires_in": 3599}))
                elif path == FILE_PATH:
                    owner.serve_file(self)
                else:
                    self._send(404, "Not Found", "text/plain")

            def _send(self, status: int, body: str, ctype: str = "application/json") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def serve_file(self, handler: BaseHTTPRequestHandler) -> None:
        range_header = handler.headers.get("Range")
        with self.lock:
            self.file_requests.append(
                {"range": range_header, "authorization": handler.headers.get("Authorization")}
            )
            drop = self.drops_left > 0
            self.drops_left -= 1 if drop else 0
        payload = self.payload
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
        if match and self.honor_range:
            start = int(match.group(1))
            handler.send_response(206)
            handler.send_header(
                "Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}"
            )
        else:
            handler.send_response(200)
        body = payload[start:]
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if drop and self.drop_after is not None:
            handler.wfile.write(body[: self.drop_after])
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.wfile.write(body)


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    server = FileServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join(5)


@pytest.fixture
def live_client(file_server: FileServer, fake_time: FakeTime) -> Iterator[MarketoClient]:
    client = MarketoClient(
        file_server.url, "client-id-123", SECRET, sleep=fake_time.sleep, timeout=(5.0, 10.0)
    )
    yield client
    client.close()


def test_download_resumes_after_a_drop_with_range_and_verifies_checksum(
    file_server: FileServer,
    live_client: MarketoClient,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    file_server.drop_after = 100_000
    file_server.drops_left = 2
    out = io.BytesIO()
    seen: list[int] = []
    with caplog.at_level(logging.DEBUG):
        written = live_client.download(
            FILE_PATH, out,
            expected_size=len(PAYLOAD), expected_checksum=CHECKSUM,
            progress=seen.append, chunk_size=10_000,
        )
    assert written == len(PAYLOAD)
    assert out.getvalue() == PAYLOAD
    ranges = [r["range"] for r in file_server.file_requests]
    assert ranges == [None, "bytes=100000-", "bytes=200000-"]
    assert all(r["authorization"] == f"Bearer {TOKEN}" for r in file_server.file_requests)
    assert seen == sorted(seen)
    assert seen[-1] == len(PAYLOAD)
    assert len(fake_time.sleeps) == 2
    assert "resuming with Range" in caplog.text
    # urllib3 logs the identity request line with its query string at DEBUG.
    assert "/identity/oauth/token" in caplog.text
    assert SECRET not in caplog.text
    assert TOKEN not in caplog.text


def test_download_restarts_cleanly_when_the_server_ignores_range(
    file_server: FileServer, live_client: MarketoClient
) -> None:
    file_server.drop_after = 50_000
    file_server.drops_left = 1
    file_server.honor_range = False
    out = io.BytesIO()
    written = live_client.download(
        FILE_PATH, out, expected_size=len(PAYLOAD), expected_checksum=CHECKSUM,
        chunk_size=10_000,
    )
    assert written == len(PAYLOAD)
    assert out.getvalue() == PAYLOAD
    assert [r["range"] for r in file_server.file_requests] == [None, "bytes=50000-"]


def test_download_detects_a_checksum_mismatch(
    file_server: FileServer, live_client: MarketoClient
) -> None:
    with pytest.raises(DownloadIntegrityError, match="checksum"):
        live_client.download(
            FILE_PATH, io.BytesIO(), expected_checksum="sha256:" + "0" * 64
        )


def test_download_detects_a_size_mismatch(
    file_server: FileServer, live_client: MarketoClient
) -> None:
    with pytest.raises(DownloadIntegrityError, match="announced"):
        live_client.download(FILE_PATH, io.BytesIO(), expected_size=len(PAYLOAD) - 1)


def test_download_gives_up_when_every_attempt_drops(
    file_server: FileServer, fake_time: FakeTime
) -> None:
    file_server.drop_after = 10
    file_server.drops_left = 100
    file_server.honor_range = False  # never progresses
    client = MarketoClient(file_server.url, "id", SECRET, sleep=fake_time.sleep, max_retries=2)
    with client, pytest.raises(MarketoAPIError, match="kept dropping") as info:
        client.download(FILE_PATH, io.BytesIO())
    assert SECRET not in str(info.value)
    assert len(file_server.file_requests) == 3


def test_download_404_is_an_http_error_with_status(
    file_server: FileServer, live_client: MarketoClient
) -> None:
    with pytest.raises(MarketoHTTPError) as info:
        live_client.download("/bulk/v1/leads/export/unknown/file.json", io.BytesIO())
    assert info.value.status == 404


# Under 64 KB the client reads the whole body to check for an error envelope before
# handing the response over; a drop during that read must still resume with Range.
SMALL = PAYLOAD[:30_000]


def test_a_small_file_dropped_while_checked_for_an_envelope_resumes_with_range(
    file_server: FileServer, live_client: MarketoClient, fake_time: FakeTime
) -> None:
    file_server.payload = SMALL
    file_server.drop_after = 10_000
    file_server.drops_left = 1
    out = io.BytesIO()
    written = live_client.download(
        FILE_PATH, out, expected_size=len(SMALL),
        expected_checksum="sha256:" + hashlib.sha256(SMALL).hexdigest(),
    )
    assert written == len(SMALL)
    assert out.getvalue() == SMALL
    # No byte that arrived is fetched twice.
    assert [r["range"] for r in file_server.file_requests] == [None, "bytes=10000-"]
    assert len(fake_time.sleeps) == 1


def test_a_small_file_dropped_twice_and_restarted_by_the_server(
    file_server: FileServer, live_client: MarketoClient
) -> None:
    file_server.payload = SMALL
    file_server.drop_after = 7_000
    file_server.drops_left = 2
    file_server.honor_range = False
    out = io.BytesIO()
    assert live_client.download(FILE_PATH, out, expected_size=len(SMALL)) == len(SMALL)
    assert out.getvalue() == SMALL
    assert [r["range"] for r in file_server.file_requests] == [None, "bytes=7000-", "bytes=7000-"]


def test_a_stream_cut_during_the_envelope_check_reaches_the_reader_as_a_drop(
    file_server: FileServer, live_client: MarketoClient
) -> None:
    # open_stream callers see a small file exactly as they see a large one: the bytes that
    # arrived, then the drop, wherever they read it.
    file_server.payload = SMALL
    file_server.drop_after = 10_000
    file_server.drops_left = 1
    resp = live_client.open_stream("GET", FILE_PATH)
    got = bytearray()

    def read_all() -> None:
        for chunk in resp.iter_content(4096):
            got.extend(chunk)

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        read_all()
    resp.close()
    assert bytes(got) == SMALL[:10_000]


def test_a_possible_envelope_cut_short_is_asked_for_again_whole(
    file_server: FileServer, live_client: MarketoClient, fake_time: FakeTime
) -> None:
    # Part of something that starts like JSON could be an error envelope: never hand it
    # over as file bytes; send the request again.
    body = json.dumps({"requestId": "x#1", "success": True, "pad": "p" * 5000}).encode()
    file_server.payload = body
    file_server.content_type = "application/json"
    file_server.drop_after = 100
    file_server.drops_left = 1
    out = io.BytesIO()
    assert live_client.download(FILE_PATH, out, expected_size=len(body)) == len(body)
    assert out.getvalue() == body
    assert [r["range"] for r in file_server.file_requests] == [None, None]
    assert len(fake_time.sleeps) == 1
