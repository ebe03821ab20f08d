"""A recording transport for python-telegram-bot: the real Application runs, only HTTP is replaced."""

from __future__ import annotations

import json
from typing import Any

from fake_bot_api import decode_json_values
from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 999000, "is_bot": True, "first_name": "Sprout", "username": "SproutTestBot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
TRUE_METHODS = {"answerCallbackQuery", "setMyCommands", "setWebhook", "deleteWebhook", "deleteMyCommands",
                "sendChatAction"}
MESSAGE_METHODS = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendDocument", "sendLocation"}


class RecordingRequest(BaseRequest):
    """Answers the Bot API like Telegram would and records every call. Unknown methods get a 400 so a new API
    call never passes unnoticed; chats can be told to answer 403 (blocked) or 429 (retry_after)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.blocked: set[int] = set()
        self.retry_after: dict[int, int] = {}
        self.faults: dict[str, list[Any]] = {}
        self._next_id = 1

    def fail(self, method: str, status: int, description: str = "", retry_after: int | None = None,
             times: int = 1) -> None:
        """The next `times` calls of `method` get this error answer (recorded, not carried out)."""
        answer: dict[str, Any] = {"ok": False, "error_code": status, "description": description or "Error"}
        if retry_after is not None:
            answer["parameters"] = {"retry_after": retry_after}
        self.faults.setdefault(method, []).extend([(status, json.dumps(answer).encode())] * times)

    def time_out_after_sending(self, method: str) -> None:
        """The next call of `method` is carried out (recorded), then its answer never comes: a read timeout."""
        self.faults.setdefault(method, []).append("timeout")

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    def texts(self) -> list[str]:
        return [params.get("text", params.get("caption", "")) for name, params in self.calls
                if name in ("sendMessage", "sendDocument")]

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout=None, write_timeout=None, connect_timeout=None, pool_timeout=None):
        name = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = {}
        if request_data is not None:
            params = decode_json_values(dict(request_data.parameters))
            if request_data.multipart_data:
                params["files"] = {k: v for k, v in request_data.multipart_data.items()}
        self.calls.append((name, params))
        fault = self.faults.get(name)
        if fault:
            planned = fault.pop(0)
            if planned == "timeout":
                import httpx
                from telegram.error import TimedOut

                raise TimedOut() from httpx.ReadTimeout("read timed out")
            return planned
        chat_id = params.get("chat_id")
        if name == "getMe":
            return 200, json.dumps({"ok": True, "result": BOT_USER}).encode()
        if name in TRUE_METHODS:
            return 200, json.dumps({"ok": True, "result": True}).encode()
        if name in MESSAGE_METHODS:
            chat = int(chat_id) if chat_id is not None else 0
            if chat in self.blocked:
                return 403, json.dumps({"ok": False, "error_code": 403,
                                        "description": "Forbidden: bot was blocked by the user"}).encode()
            if self.retry_after.get(chat):
                seconds = self.retry_after.pop(chat)
                return 429, json.dumps({"ok": False, "error_code": 429, "description": "Too Many Requests",
                                        "parameters": {"retry_after": seconds}}).encode()
            message = {"message_id": self._next_id, "date": 1764400000,
                       "chat": {"id": chat, "type": "private"}, "from": BOT_USER}
            self._next_id += 1
            if "text" in params:
                message["text"] = params["text"]
            if name == "sendDocument":
                message["document"] = {"file_id": "doc1", "file_unique_id": "u1", "file_name": "data.json"}
                if "caption" in params:
                    message["caption"] = params["caption"]
            return 200, json.dumps({"ok": True, "result": message}).encode()
        return 400, json.dumps({"ok": False, "error_code": 400, "description": f"Bad Request: {name} not faked"}).encode()


def user_json(user_id: int, language: str = "en") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Parent", "language_code": language}


def message_update(update_id: int, user_id: int, text: str | None = None, chat_type: str = "private",
                   chat_id: int | None = None, language: str = "en", entities=None, location=None) -> dict[str, Any]:
    chat = {"id": chat_id or user_id, "type": chat_type}
    if chat_type != "private":
        chat["title"] = "Parents group"
    message: dict[str, Any] = {"message_id": update_id, "date": 1764400000, "chat": chat,
                               "from": user_json(user_id, language)}
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    if entities:
        message["entities"] = entities
    if location:
        message["location"] = {"latitude": location[0], "longitude": location[1]}
    return {"update_id": update_id, "message": message}


def callback_update(update_id: int, user_id: int, data: str, language: str = "en", message_id: int = 1,
                    reply_markup: dict[str, Any] | None = None) -> dict[str, Any]:
    message = {"message_id": message_id, "date": 1764400000, "chat": {"id": user_id, "type": "private"},
               "from": BOT_USER, "text": "menu"}
    if reply_markup:
        message["reply_markup"] = reply_markup
    return {"update_id": update_id, "callback_query": {
        "id": f"cb{update_id}", "from": user_json(user_id, language), "chat_instance": "ci", "data": data,
        "message": message}}


class LoopbackBotAPI:
    """A fake Bot API server on 127.0.0.1 for the real `sprout` process (`SPROUT_TELEGRAM_API_URL`). It records
    every message it accepts and can be told to fail the way networks and Telegram do:

    - `set_mode("down")`: connections are refused (the listening socket is closed, open ones are cut);
    - `set_mode("drop")`: each connection is reset without an answer;
    - `set_mode("502")`: a proxy's HTML error page; `set_mode("429", retry_after=1)`: Telegram's flood wait
      (both for sendMessage; getMe still answers, so a sender starts and then meets them);
    - `set_mode("up")`: answer normally. `delay` slows each sendMessage (so a kill lands mid-send), and
      `on_delivered(count)` is called after each accepted message, so a test can change the mode at message N."""

    def __init__(self, delay: float = 0.0) -> None:
        import threading

        self.delay = delay
        self.delivered: list[tuple[int, str]] = []
        self.refused = 0
        self.on_delivered = None
        self._lock = threading.RLock()
        self._mode = "up"
        self._retry_after = 1
        self._server = None
        self._thread = None
        self._connections: set = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LoopbackBotAPI":
        self._listen()
        return self

    def stop(self) -> None:
        self._close()

    def __enter__(self) -> "LoopbackBotAPI":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str, retry_after: int = 1) -> None:
        assert mode in ("up", "down", "drop", "502", "429")
        with self._lock:
            if mode == self._mode:
                return
            was, self._mode, self._retry_after = self._mode, mode, retry_after
            if mode == "down":
                self._close()
            elif was == "down":
                self._listen()

    def _listen(self) -> None:
        import threading
        from http.server import ThreadingHTTPServer

        api = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

            def process_request(self, request, client_address):
                api._connections.add(request)
                if api._mode in ("drop", "down"):
                    api._reset(request)
                    return
                super().process_request(request, client_address)

            def handle_error(self, request, client_address):  # resets are what this server is for: stay quiet
                return None

            def shutdown_request(self, request):
                api._connections.discard(request)
                super().shutdown_request(request)

        server = Server(("127.0.0.1", self.port), _Handler)
        server.api = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        for connection in list(self._connections):
            self._reset(connection)

    def _reset(self, connection) -> None:
        """Close with RST: the peer sees a reset connection, never an answer."""
        import socket
        import struct

        self._connections.discard(connection)
        try:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()
        except OSError:
            pass

    def texts_by_chat(self) -> dict[int, list[str]]:
        by_chat: dict[int, list[str]] = {}
        with self._lock:
            for chat, text in self.delivered:
                by_chat.setdefault(chat, []).append(text)
        return by_chat


def _make_handler():
    from http.server import BaseHTTPRequestHandler
    from urllib.parse import parse_qs

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            return None

        def do_POST(self) -> None:
            import time

            api: LoopbackBotAPI = self.server.api
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            mode = api._mode
            if mode in ("drop", "down"):
                api.refused += 1
                api._reset(self.connection)
                self.close_connection = True
                return
            name = self.path.rsplit("/", 1)[-1]
            if "json" in (self.headers.get("Content-Type") or ""):
                params = json.loads(body or b"{}")
            else:
                params = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
            if mode == "502" and name != "getMe":
                api.refused += 1
                return self._answer(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
            if mode == "429" and name != "getMe":
                api.refused += 1
                return self._json(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry "
                                        f"after {api._retry_after}", "parameters": {"retry_after": api._retry_after}})
            if name == "getMe":
                return self._json(200, {"ok": True, "result": BOT_USER})
            if name in TRUE_METHODS:
                return self._json(200, {"ok": True, "result": True})
            if name == "sendMessage":
                if api.delay:
                    time.sleep(api.delay)
                chat = int(params.get("chat_id", 0))
                with api._lock:
                    api.delivered.append((chat, params.get("text", "")))
                    count = len(api.delivered)
                    message_id = count
                self._json(200, {"ok": True, "result": {"message_id": message_id, "date": 1764400000,
                                                        "chat": {"id": chat, "type": "private"}, "from": BOT_USER,
                                                        "text": params.get("text", "")}})
                if api.on_delivered is not None:
                    api.on_delivered(count)
                return None
            return self._json(400, {"ok": False, "error_code": 400, "description": f"Bad Request: {name} not faked"})

        def _json(self, code: int, payload) -> None:
            self._answer(code, json.dumps(payload).encode(), "application/json")

        def _answer(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


_Handler = _make_handler()
