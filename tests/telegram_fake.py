"""A recording transport for python-telegram-bot: the real Application runs, only HTTP is replaced."""

from __future__ import annotations

import json
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 999000, "is_bot": True, "first_name": "Sprout", "username": "SproutTestBot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
TRUE_METHODS = {"answerCallbackQuery", "setMyCommands", "setWebhook", "deleteWebhook", "deleteMyCommands"}
MESSAGE_METHODS = {"sendMessage", "editMessageText", "sendDocument", "sendLocation"}


class RecordingRequest(BaseRequest):
    """Answers the Bot API like Telegram would and records every call. Unknown methods get a 400 so a new API
    call never passes unnoticed; chats can be told to answer 403 (blocked) or 429 (retry_after)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.blocked: set[int] = set()
        self.retry_after: dict[int, int] = {}
        self._next_id = 1

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
            params = dict(request_data.parameters)
            for key, value in list(params.items()):
                if isinstance(value, str) and value[:1] in "{[":
                    try:
                        params[key] = json.loads(value)
                    except ValueError:
                        pass
            if request_data.multipart_data:
                params["files"] = {k: v for k, v in request_data.multipart_data.items()}
        self.calls.append((name, params))
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


def callback_update(update_id: int, user_id: int, data: str, language: str = "en") -> dict[str, Any]:
    return {"update_id": update_id, "callback_query": {
        "id": f"cb{update_id}", "from": user_json(user_id, language), "chat_instance": "ci", "data": data,
        "message": {"message_id": 1, "date": 1764400000, "chat": {"id": user_id, "type": "private"},
                    "from": BOT_USER, "text": "menu"}}}
