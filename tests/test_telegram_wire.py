"""What goes over the wire: PTB's real HTTPXRequest over httpx.MockTransport, and webhook mode on loopback."""

import asyncio
import json
import socket

import httpx
from telegram import Update
from telegram.request import HTTPXRequest

from bot.telegram_app import build_application
from telegram_fake import BOT_USER, RecordingRequest, message_update


def test_replies_go_out_as_html_with_inline_keyboards(runtime):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        body = dict(httpx.QueryParams(request.content.decode())) if request.content else {}
        seen.append((method, body))
        if method == "getMe":
            return httpx.Response(200, json={"ok": True, "result": BOT_USER})
        if method == "sendMessage":
            return httpx.Response(200, json={"ok": True, "result": {
                "message_id": 1, "date": 1764400000, "chat": {"id": int(body["chat_id"]), "type": "private"},
                "text": body.get("text", "")}})
        return httpx.Response(400, json={"ok": False, "error_code": 400, "description": "not faked"})

    request = HTTPXRequest(httpx_kwargs={"transport": httpx.MockTransport(handler)})
    app = build_application(runtime, request=request, rate_limiter=False)
    errors = []

    async def record(update, context):
        errors.append(context.error)

    app.add_error_handler(record)

    async def script():
        async with app:
            await app.process_update(Update.de_json(message_update(1, 42, "/start"), app.bot))

    asyncio.run(script())
    assert errors == []
    sends = [body for method, body in seen if method == "sendMessage"]
    assert sends and sends[0]["parse_mode"] == "HTML"
    keyboard = json.loads(sends[0]["reply_markup"])["inline_keyboard"]
    assert {b["callback_data"] for row in keyboard for b in row} == {"lang:en", "lang:zh"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhook_rejects_requests_without_the_secret_token(runtime):
    fake = RecordingRequest()
    app = build_application(runtime, request=fake, rate_limiter=False)
    port = _free_port()
    update = json.dumps(message_update(1, 43, "/help"))

    async def script():
        async with app:
            await app.updater.start_webhook(listen="127.0.0.1", port=port, url_path="telegram",
                                            secret_token="s3cret-token", webhook_url="https://bot.example.org/telegram")
            await app.start()
            try:
                async with httpx.AsyncClient() as client:
                    url = f"http://127.0.0.1:{port}/telegram"
                    headers = {"content-type": "application/json"}
                    missing = await client.post(url, content=update, headers=headers)
                    wrong = await client.post(url, content=update,
                                              headers={**headers, "X-Telegram-Bot-Api-Secret-Token": "nope"})
                    right = await client.post(url, content=update,
                                              headers={**headers, "X-Telegram-Bot-Api-Secret-Token": "s3cret-token"})
                for _ in range(200):  # let the application process the queued update
                    if fake.sent():
                        break
                    await asyncio.sleep(0.01)
            finally:
                await app.updater.stop()
                await app.stop()
            return missing.status_code, wrong.status_code, right.status_code

    assert asyncio.run(script()) == (403, 403, 200)
    assert fake.sent("setWebhook")[0]["secret_token"] == "s3cret-token"
    assert any("/start" in m.get("text", "") for m in fake.sent())
