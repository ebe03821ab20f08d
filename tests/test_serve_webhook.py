"""The webhook of the real `sprout serve`: the secret header is checked before any of the body is read, bodies over
1 MB are refused before they are read, and a secret is generated (and kept) when none is set."""

import http.client
import json
import os
import secrets
import socket
import stat
import subprocess
import sys

import pytest

from tests.fake_bot_api import FakeBotApi
from tests.faults.inbox_faults import ROOT, TOKEN, Serve, free_port, update

NINETY_MB = 90 * 1024 * 1024
WAIT = 10.0  # seconds a refused request may take to be answered before the test calls it unanswered


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One webhook-mode `sprout serve` for the module, with a known secret."""
    fake = FakeBotApi().start()
    secret = secrets.token_urlsafe(32)
    serve = Serve(tmp_path_factory.mktemp("webhook"), fake, webhook_port=free_port(), secret=secret,
                  extra_env={"SPROUT_LOG_LEVEL": "INFO"})
    serve.start()
    yield serve, secret
    serve.stop()
    fake.stop()


def head_only(port: int, headers: dict) -> bytes:
    """Send a POST's headers and none of its body; return the first line of the answer (b'' if none came)."""
    lines = [b"POST /telegram HTTP/1.1", b"Host: 127.0.0.1"] + [f"{k}: {v}".encode() for k, v in headers.items()]
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:
        s.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        try:
            return s.recv(4096).split(b"\r\n", 1)[0]
        except TimeoutError:
            return b""


def stream_body(port: int, headers: dict, size: int) -> int:
    """Send a POST of `size` bytes in 64 KiB pieces until the server stops taking them; return the bytes sent."""
    lines = [b"POST /telegram HTTP/1.1", b"Host: 127.0.0.1"] + [f"{k}: {v}".encode() for k, v in headers.items()]
    piece = b"{" * 65536
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:
        s.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        try:
            while sent < size:
                s.sendall(piece)
                sent += len(piece)
        except OSError:  # the server answered and closed the connection
            pass
    return sent


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def post(port: int, body: bytes, secret: str | None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    try:
        conn.request("POST", "/telegram", body, headers)
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.parametrize("secret", [None, "wrong", "x" * 43])
def test_a_wrong_or_missing_secret_is_refused_with_403_before_the_body_is_sent(served, secret):
    serve, _ = served
    headers = {"Content-Type": "application/json", "Content-Length": str(NINETY_MB)}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    assert head_only(serve.port, headers).startswith(b"HTTP/1.1 403")


def test_a_body_over_1_mb_is_refused_with_413_before_it_is_sent(served):
    serve, secret = served
    headers = {"Content-Type": "application/json", "Content-Length": str(NINETY_MB),
               "X-Telegram-Bot-Api-Secret-Token": secret}
    assert head_only(serve.port, headers).startswith(b"HTTP/1.1 413")


def test_a_body_without_a_length_is_refused(served):
    serve, secret = served
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked",
               "X-Telegram-Bot-Api-Secret-Token": secret}
    assert head_only(serve.port, headers).startswith(b"HTTP/1.1 411")


def test_ninety_mb_bodies_are_not_read_and_do_not_grow_the_server(served):
    serve, secret = served
    before = peak_rss_mb(serve.proc.pid)
    unauthenticated = [stream_body(serve.port, {"Content-Type": "application/json",
                                                "Content-Length": str(NINETY_MB)}, NINETY_MB) for _ in range(4)]
    oversized = stream_body(serve.port, {"Content-Type": "application/json", "Content-Length": str(NINETY_MB),
                                         "X-Telegram-Bot-Api-Secret-Token": secret}, NINETY_MB)
    # What the kernel's socket buffers take before the server closes the connection, not 90 MB.
    assert max(unauthenticated + [oversized]) < 32 * 1024 * 1024
    assert peak_rss_mb(serve.proc.pid) - before < 32
    assert serve.proc.poll() is None


def test_the_model_and_index_are_loaded_before_the_webhook_takes_updates(served):
    serve, _ = served
    log = serve.log.read_text(errors="replace")
    assert "ready: model and index loaded" in log
    assert log.index("ready: model and index loaded") < log.index("webhook mode")


def test_the_right_secret_and_a_small_body_is_accepted(served):
    serve, secret = served
    assert post(serve.port, json.dumps(update(5, 3)).encode(), secret) == 200
    assert post(serve.port, json.dumps(update(6, 3)).encode(), "nope") == 403


def test_a_secret_is_generated_kept_private_and_reused_when_none_is_set(tmp_path):
    fake = FakeBotApi().start()
    serve = Serve(tmp_path, fake, webhook_port=free_port(), secret=None)
    try:
        serve.start()
        first = fake.methods("setWebhook")[-1]["secret_token"]
        stored = tmp_path / "data" / "webhook_secret"
        assert len(first) >= 32 and stored.read_text().strip() == first
        assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
        assert post(serve.port, json.dumps(update(1, 1)).encode(), first) == 200
        assert serve.stop() == 0
        serve.start()
        assert fake.methods("setWebhook")[-1]["secret_token"] == first
    finally:
        serve.stop()
        fake.stop()


def test_a_short_secret_is_refused_with_a_message(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN,
           "SPROUT_DATA_DIR": str(tmp_path), "SPROUT_WEBHOOK_URL": "https://bot.example.org/telegram",
           "SPROUT_WEBHOOK_SECRET": "s3cret-token"}
    done = subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", "serve"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "SPROUT_WEBHOOK_SECRET" in done.stderr and "32" in done.stderr
