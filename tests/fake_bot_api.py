"""A loopback fake Bot API server (standard library only) for running the real `sprout serve` process against.

It answers getMe, getUpdates (long polling, with offset confirmation as Telegram does it: asking with offset N
confirms and forgets every update below N), setWebhook/deleteWebhook, setMyCommands, sendMessage, sendChatAction
and answerCallbackQuery, records every call, and answers any other method with a 400 so a new call never passes
unnoticed. Point the bot at it with SPROUT_TELEGRAM_API_URL=<fake.api_url>.

`FakeBotApi` runs in the test's own process; `FakeBotApiProcess` runs it in a child process (the same interface),
so the fake answers the bot as promptly as Telegram would, even while the test's own threads keep the GIL busy."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER = {"id": 999000, "is_bot": True, "first_name": "Sprout", "username": "SproutTestBot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
TRUE_METHODS = {"answerCallbackQuery", "setMyCommands", "setWebhook", "deleteWebhook", "deleteMyCommands",
                "sendChatAction"}


class FakeBotApi:
    """Start with `start()`, stop with `stop()`. `calls` holds (method, params) in arrival order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.queued: list[dict[str, Any]] = []   # updates waiting to be fetched with getUpdates
        self.confirmed = 0                       # updates forgotten because an offset confirmed them
        self._lock = threading.Condition()
        self._next_message_id = 1
        self._stopping = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle's algorithm the body would wait for the bot's
            # delayed ACK (40 ms), which Telegram's answers do not.
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # quiet
                return None

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path.startswith("/control/"):
                    status, answer = fake._control(self.path, body)
                else:
                    status, answer = fake._answer(self.path.rsplit("/", 1)[-1], _params(self.headers, body))
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the bot was killed while waiting for this
                    self.close_connection = True

            do_GET = do_POST

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def start(self) -> "FakeBotApi":
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # What the bot sent ----------------------------------------------------------------------------------------

    def methods(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [params for method, params in self.calls if method == name]

    def sent_texts(self) -> list[tuple[int, str]]:
        """(chat id, text) of every sendMessage, in the order they arrived."""
        return [(int(p.get("chat_id", 0)), str(p.get("text", ""))) for p in self.methods("sendMessage")]

    def count(self, name: str) -> int:
        with self._lock:
            return sum(1 for method, _ in self.calls if method == name)

    def queue(self, updates: list[dict[str, Any]]) -> None:
        with self._lock:
            self.queued.extend(updates)
            self._lock.notify_all()

    # Answers ----------------------------------------------------------------------------------------------------

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append((method, params))
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        if method in TRUE_METHODS:
            return 200, {"ok": True, "result": True}
        if method == "sendMessage":
            with self._lock:
                message_id = self._next_message_id
                self._next_message_id += 1
            chat_id = int(params.get("chat_id", 0))
            return 200, {"ok": True, "result": {"message_id": message_id, "date": int(time.time()),
                                                 "chat": {"id": chat_id, "type": "private"}, "from": BOT_USER,
                                                 "text": str(params.get("text", ""))}}
        return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {method} not faked"}

    def _control(self, path: str, body: bytes) -> tuple[int, Any]:
        """The test's side when the fake runs in a child process: read the record, queue updates."""
        if path.startswith("/control/calls"):
            since = int(path.rsplit("=", 1)[-1]) if "since=" in path else 0
            with self._lock:
                return 200, {"calls": self.calls[since:], "confirmed": self.confirmed}
        if path == "/control/queue":
            self.queue(json.loads(body))
            return 200, {"ok": True}
        return 404, {"ok": False}

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = min(int(params.get("limit") or 100), 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, 5.0)
        with self._lock:
            if offset:
                before = len(self.queued)
                self.queued = [u for u in self.queued if u["update_id"] >= offset]
                self.confirmed += before - len(self.queued)
            while not self.queued and not self._stopping and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            return [dict(u) for u in self.queued[:limit]]


def _params(headers, body: bytes) -> dict[str, Any]:
    """The request's parameters, as PTB sends them (form fields, JSON, or multipart for files)."""
    kind = headers.get("Content-Type", "")
    params: dict[str, Any] = {}
    if "application/json" in kind:
        params = json.loads(body or b"{}")
    elif "multipart/form-data" in kind:
        params = {"multipart": True}
    elif body:
        params = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    return decode_json_values(params)


def decode_json_values(params: dict[str, Any]) -> dict[str, Any]:
    """Bot API parameters sent as JSON text (reply_markup, entities) decoded in place; other values as they are."""
    for key, value in list(params.items()):
        if isinstance(value, str) and value[:1] in "{[":
            try:
                params[key] = json.loads(value)
            except ValueError:
                pass
    return params


class FakeBotApiProcess:
    """The fake Bot API in a child process, with FakeBotApi's interface; the record is fetched over loopback."""

    def __init__(self) -> None:
        root = Path(__file__).resolve().parent.parent
        self._proc = subprocess.Popen([sys.executable, "-m", "tests.fake_bot_api"], cwd=root, stdout=subprocess.PIPE,
                                      text=True)
        self._base = self._proc.stdout.readline().strip()  # the child prints its address once it listens
        if not self._base:
            raise RuntimeError("the fake Bot API process did not start")
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.confirmed = 0

    @property
    def api_url(self) -> str:
        return f"{self._base}/bot"

    def start(self) -> "FakeBotApiProcess":
        return self

    def stop(self) -> None:
        self._refresh()
        self._proc.terminate()
        self._proc.wait()
        self._proc.stdout.close()

    def _control(self, path: str, data: bytes | None = None) -> Any:
        request = urllib.request.Request(f"{self._base}/control/{path}", data=data or b"", method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    def _refresh(self) -> None:
        if self._proc.poll() is not None:
            return
        found = self._control(f"calls?since={len(self.calls)}")
        self.calls.extend((method, params) for method, params in found["calls"])
        self.confirmed = found["confirmed"]

    def queue(self, updates: list[dict[str, Any]]) -> None:
        self._control("queue", json.dumps(updates).encode())

    def methods(self, name: str) -> list[dict[str, Any]]:
        self._refresh()
        return [params for method, params in self.calls if method == name]

    def sent_texts(self) -> list[tuple[int, str]]:
        return [(int(p.get("chat_id", 0)), str(p.get("text", ""))) for p in self.methods("sendMessage")]

    def count(self, name: str) -> int:
        return len(self.methods(name))


if __name__ == "__main__":
    server = FakeBotApi().start()
    print(server.api_url.removesuffix("/bot"), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
