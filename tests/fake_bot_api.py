"""A loopback fake Bot API server (standard library only) for running the real `sprout serve` process against.

It answers getMe, getUpdates (long polling, with offset confirmation as Telegram does it: asking with offset N
confirms and forgets every update below N), setWebhook/deleteWebhook, setMyCommands, sendMessage, editMessageText,
editMessageReplyMarkup, sendChatAction and answerCallbackQuery, records every call, and answers any other method
with a 400 so a new call never passes unnoticed. It checks what Telegram checks (text of 1-4096 UTF-16 units after
the HTML is parsed, well-formed HTML, callback data of 1-64 bytes, an edit of a message that exists and changes
it) and keeps each message as it stands after edits (`messages`). `fail(method, ...)` makes the next calls of a
method answer an error (a 500, a 429 with retry_after, "query is too old"). Point the bot at it with
SPROUT_TELEGRAM_API_URL=<fake.api_url>.

`FakeBotApi` runs in the test's own process; `FakeBotApiProcess` runs it in a child process (the same interface),
so the fake answers the bot as promptly as Telegram would, even while the test's own threads keep the GIL busy."""

from __future__ import annotations

import html.parser
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
        self.paths: list[tuple[str, str]] = []   # (request path, method): the address the bot used
        self.queued: list[dict[str, Any]] = []   # updates waiting to be fetched with getUpdates
        self.confirmed = 0                       # updates forgotten because an offset confirmed them
        self._lock = threading.Condition()
        self._next_message_id = 1
        self._stopping = False
        self.messages: dict[int, dict[str, Any]] = {}   # message_id -> the message as it stands now
        self.faults: dict[str, list[tuple[int, dict[str, Any]]]] = {}
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
                    method = self.path.rsplit("/", 1)[-1]
                    with fake._lock:
                        fake.paths.append((self.path, method))
                    status, answer = fake._answer(method, _params(self.headers, body))
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

    def fail(self, method: str, status: int, description: str = "", retry_after: int | None = None,
             times: int = 1) -> None:
        """The next `times` calls of `method` get this error answer instead of being carried out."""
        answer: dict[str, Any] = {"ok": False, "error_code": status,
                                  "description": description or {500: "Internal Server Error",
                                                                 429: "Too Many Requests"}.get(status, "Bad Request")}
        if retry_after is not None:
            answer["parameters"] = {"retry_after": retry_after}
            answer["description"] = f"Too Many Requests: retry after {retry_after}"
        with self._lock:
            self.faults.setdefault(method, []).extend([(status, answer)] * times)

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append((method, params))
            fault = self.faults.get(method)
            if fault:
                return fault.pop(0)
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        if method in TRUE_METHODS:
            return 200, {"ok": True, "result": True}
        if method in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            return self._message(method, params)
        return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {method} not faked"}

    def _message(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        problem = _check(method, params)
        if problem:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}
        chat_id = int(params.get("chat_id", 0))
        markup = params.get("reply_markup")
        with self._lock:
            if method == "sendMessage":
                message_id = self._next_message_id
                self._next_message_id += 1
                self.messages[message_id] = {"message_id": message_id, "chat_id": chat_id,
                                             "text": str(params.get("text", "")), "reply_markup": markup}
            else:
                message_id = int(params.get("message_id", 0))
                current = self.messages.get(message_id)
                if current is None or current["chat_id"] != chat_id:
                    return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"}
                changed = dict(current, reply_markup=markup or None)
                if method == "editMessageText":
                    changed["text"] = str(params.get("text", ""))
                if changed == current:
                    return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is not "
                                 "modified: specified new message content and reply markup are exactly the same"}
                self.messages[message_id] = changed
            stored = self.messages[message_id]
        result = {"message_id": message_id, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                  "from": BOT_USER, "text": _plain(stored["text"])}
        if stored["reply_markup"] and "inline_keyboard" in stored["reply_markup"]:
            result["reply_markup"] = stored["reply_markup"]
        return 200, {"ok": True, "result": result}

    def _control(self, path: str, body: bytes) -> tuple[int, Any]:
        """The test's side when the fake runs in a child process: read the record, queue updates."""
        if path.startswith("/control/calls"):
            since = int(path.rsplit("=", 1)[-1]) if "since=" in path else 0
            with self._lock:
                return 200, {"calls": self.calls[since:], "confirmed": self.confirmed}
        if path == "/control/queue":
            self.queue(json.loads(body))
            return 200, {"ok": True}
        if path == "/control/fail":
            self.fail(**json.loads(body))
            return 200, {"ok": True}
        if path == "/control/messages":
            with self._lock:
                return 200, {"messages": list(self.messages.values())}
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


class _Tags(html.parser.HTMLParser):
    """Telegram's HTML parse mode, roughly: known tags only, each closed in order."""

    ALLOWED = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
               "span", "blockquote", "tg-emoji"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.error = ""
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.ALLOWED:
            self.error = self.error or f"can't parse entities: unsupported start tag \"{tag}\""
        self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.error = self.error or f"can't parse entities: can't find end tag corresponding to start tag"
        else:
            self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def _plain(text: str) -> str:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    return "".join(parser.text)


def _check(method: str, params: dict[str, Any]) -> str:
    """What Telegram would refuse in a message: the reason, or ''."""
    if method != "editMessageReplyMarkup":
        text = str(params.get("text", ""))
        parser = _Tags()
        parser.feed(text)
        parser.close()
        if parser.error or parser.open:
            return parser.error or "can't parse entities: unclosed start tag"
        plain = "".join(parser.text)
        if not plain.strip():
            return "message text is empty"
        if len(plain.encode("utf-16-le")) // 2 > 4096:
            return "message is too long"
    markup = params.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                return "BUTTON_DATA_INVALID"
    return ""


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

    def fail(self, method: str, status: int, description: str = "", retry_after: int | None = None,
             times: int = 1) -> None:
        self._control("fail", json.dumps({"method": method, "status": status, "description": description,
                                          "retry_after": retry_after, "times": times}).encode())

    @property
    def messages(self) -> dict[int, dict[str, Any]]:
        return {m["message_id"]: m for m in self._control("messages")["messages"]}

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
