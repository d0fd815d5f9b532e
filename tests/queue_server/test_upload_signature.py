"""Uploads are signed like webhooks: HMAC-SHA256 of the exact body in
``X-HallQ-Signature``, the key named by ``[ratings] upload_secret_env`` (read from the
environment, never written in the hall file). Against a real HTTP receiver on loopback,
through the notifier's own delivery step."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading

from queue_server.config import parse_config
from queue_server.notify.sender import Notifier

from .test_config import problems_of, raw_test_hall


class Receiver:
    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ratings"


PAYLOAD = {"key": "R7", "kind": "rating", "record": {"满意度代码": "1"}}


def test_an_upload_is_signed_with_the_key_from_the_environment(config, monkeypatch):
    receiver = Receiver()
    try:
        Notifier(None, config.notify, upload_secret="s3cret")._deliver(  # type: ignore[arg-type]
            "upload", receiver.url, PAYLOAD
        )
        Notifier(None, config.notify)._deliver("upload", receiver.url, PAYLOAD)  # type: ignore[arg-type]
    finally:
        receiver.server.shutdown()
    (signed, body), (unsigned, _) = receiver.got
    want = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signed["x-hallq-signature"] == want
    assert json.loads(body)["record_id"] == "R7"
    assert "x-hallq-signature" not in unsigned  # no key set: sent as before


def test_the_hall_file_names_the_variable_and_it_must_be_set(monkeypatch):
    raw = raw_test_hall()
    raw.setdefault("ratings", {})["upload_secret_env"] = "HALLQ_TEST_UPLOAD_KEY"
    monkeypatch.delenv("HALLQ_TEST_UPLOAD_KEY", raising=False)
    assert any(p.startswith("ratings.upload_secret_env") for p in problems_of(raw))
    monkeypatch.setenv("HALLQ_TEST_UPLOAD_KEY", "k")
    assert parse_config(raw).ratings.upload_secret_env == "HALLQ_TEST_UPLOAD_KEY"
    raw["ratings"]["upload_secret_env"] = "not a name"
    assert any(p.startswith("ratings.upload_secret_env") for p in problems_of(raw))
