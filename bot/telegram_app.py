"""The Telegram front end: a thin adapter that turns updates into engine actions and replies into Bot API calls.
No business logic lives here; the conversation engine is shared with the local chat."""

from __future__ import annotations

import asyncio
import html
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from telegram import (BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, KeyboardButton,
                      ReplyKeyboardMarkup, ReplyKeyboardRemove, Update)
from telegram.constants import ChatType, MessageEntityType, ParseMode
from telegram.error import Forbidden
from telegram.ext import (AIORateLimiter, Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters)
from telegram.request import BaseRequest, HTTPXRequest

from .messages import Incoming, Reply

if TYPE_CHECKING:
    from .wiring import Runtime

log = logging.getLogger(__name__)
MAX_TEXT = 4096
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def to_html(text: str) -> str:
    """Plain text with **bold** marks to Telegram HTML, escaping everything else."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a long reply at paragraph breaks so no part exceeds Telegram's limit."""
    parts, current = [], ""
    for paragraph in text.split("\n\n"):
        candidate = f"{current}\n\n{paragraph}" if current else paragraph
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while len(paragraph) > limit:
            parts.append(paragraph[:limit])
            paragraph = paragraph[limit:]
        current = paragraph
    if current:
        parts.append(current)
    return parts or [""]


class TelegramFrontEnd:
    """Handlers for the PTB Application; the engine runs on one worker thread so SQLite sees one writer."""

    def __init__(self, runtime: "Runtime"):
        self.runtime = runtime
        self.engine = runtime.engine
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sprout-engine")

    async def _run(self, incoming: Incoming) -> list[Reply]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.engine.handle, incoming)

    def _incoming(self, update: Update, **fields: Any) -> Incoming:
        user, chat = update.effective_user, update.effective_chat
        return Incoming(f"tg:{user.id}", chat_id=chat.id, language_hint=user.language_code,
                        telegram_user_id=user.id, private=chat.type == ChatType.PRIVATE, **fields)

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any /command: the engine knows which exist."""
        message = update.effective_message
        command, _, args = message.text[1:].partition(" ")
        name, _, addressee = command.partition("@")
        if addressee and addressee.lower() != (context.bot.username or "").lower():
            return  # /command@OtherBot in a group is for another bot
        incoming = self._incoming(update, command=name.lower(), args=args.strip(), text=message.text)
        await self.send(update.effective_chat.id, await self._run(incoming), context)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Free text; in groups only when the bot is mentioned."""
        message = update.effective_message
        text = message.text or ""
        if update.effective_chat.type != ChatType.PRIVATE:
            mention = f"@{context.bot.username}"
            mentioned = any(e.type == MessageEntityType.MENTION and message.parse_entity(e).lower() == mention.lower()
                            for e in message.entities)
            replied = message.reply_to_message is not None and message.reply_to_message.from_user is not None \
                and message.reply_to_message.from_user.id == context.bot.id
            if not (mentioned or replied):
                return
            text = re.sub(re.escape(mention), "", text, flags=re.I).strip()
        replies = await self._run(self._incoming(update, text=text))
        await self.send(update.effective_chat.id, replies, context)

    async def on_location(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared location: used for this search only, never stored or logged."""
        location = update.effective_message.location
        incoming = self._incoming(update, location=(location.latitude, location.longitude))
        await self.send(update.effective_chat.id, await self._run(incoming), context, remove_keyboard=True)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An inline button press."""
        query = update.callback_query
        await query.answer()
        replies = await self._run(self._incoming(update, callback=query.data or ""))
        await self.send(update.effective_chat.id, replies, context)

    async def send(self, chat_id: int, replies: list[Reply], context: ContextTypes.DEFAULT_TYPE,
                   remove_keyboard: bool = False) -> None:
        bot = context.bot
        try:
            for reply in replies:
                markup: Any = None
                if reply.buttons:
                    markup = InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                                                   for row in reply.buttons])
                elif reply.request_location:
                    markup = ReplyKeyboardMarkup([[KeyboardButton(reply.location_label, request_location=True)]],
                                                 one_time_keyboard=True, resize_keyboard=True)
                elif remove_keyboard:
                    markup = ReplyKeyboardRemove()
                if reply.document is not None:
                    await bot.send_document(chat_id, InputFile(reply.document.content, filename=reply.document.filename),
                                            caption=reply.text[:1024], reply_markup=markup)
                    continue
                parts = split_text(reply.text)
                for i, part in enumerate(parts):
                    await bot.send_message(chat_id, to_html(part), parse_mode=ParseMode.HTML,
                                           reply_markup=markup if i == len(parts) - 1 else None)
        except Forbidden:
            # The user blocked the bot: stop sending to them until they write again.
            user = self.engine.users.find(f"tg:{chat_id}")
            if user is not None:
                self.engine.users.deactivate(user.id)
            log.info("chat blocked the bot; user deactivated")

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error without personal data, and tell the user something went wrong."""
        log.error("error while handling an update: %s", type(context.error).__name__,
                  exc_info=(type(context.error), context.error, context.error.__traceback__))
        if isinstance(update, Update) and update.effective_chat and update.effective_user:
            user = self.engine.users.find(f"tg:{update.effective_user.id}")
            lang = user.language if user else self.runtime.settings.language
            try:
                await context.bot.send_message(update.effective_chat.id, self.runtime.renderer.t("error.internal", lang))
            except Exception:  # noqa: BLE001 - nothing more can be done for this update
                log.warning("could not tell the user about the error")

    async def post_init(self, app: Application) -> None:
        """Register the command menu in both languages."""
        renderer = self.runtime.renderer
        for lang, code in (("en", None), ("zh", "zh")):
            commands = [BotCommand(name, renderer.t(f"cmd.{name}", lang)[:256]) for name in self.engine.public_commands()]
            await app.bot.set_my_commands(commands, language_code=code)


class SignallingRequest(HTTPXRequest):
    """PTB's HTTP client, which tells the tips sender the moment a request leaves (after the rate limiter's wait),
    so that a row is recorded as started only when its message can really reach Telegram."""

    async def do_request(self, *args, **kwargs):
        from .tips_sender import REQUEST_LEAVING

        leaving = REQUEST_LEAVING.get()
        if leaving is not None:
            leaving()
        return await super().do_request(*args, **kwargs)


def build_sending_bot(settings) -> "ExtBot":
    """The bot a cron send pass needs: the Application's token, server, HTTP client and rate limiter, without
    handlers, triage or the index (so `sprout tips send-due` starts in a fraction of the time)."""
    from telegram.ext import ExtBot

    urls = {}
    if settings.telegram_api_url:
        urls = {"base_url": f"{settings.telegram_api_url}/bot",
                "base_file_url": f"{settings.telegram_api_url}/file/bot"}
    return ExtBot(settings.telegram_token, request=SignallingRequest(connection_pool_size=256),
                  rate_limiter=AIORateLimiter(max_retries=3), **urls)


def build_application(runtime: "Runtime", request: BaseRequest | None = None,
                      updates_request: BaseRequest | None = None, rate_limiter: bool = True) -> Application:
    """The composition of the PTB Application; tests pass a recording request object as the transport."""
    front = TelegramFrontEnd(runtime)
    builder: ApplicationBuilder = Application.builder().token(runtime.settings.telegram_token or "123456:TEST-TOKEN")
    if runtime.settings.telegram_api_url:
        api = runtime.settings.telegram_api_url
        builder = builder.base_url(f"{api}/bot").base_file_url(f"{api}/file/bot")
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    else:  # PTB's default for the bot's requests, telling the tips sender when each one leaves
        builder = builder.request(SignallingRequest(connection_pool_size=256))
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    app = builder.post_init(front.post_init).build()
    app.bot_data["front"] = front
    app.bot_data["runtime"] = runtime
    app.add_handler(MessageHandler(filters.COMMAND, front.on_command))
    app.add_handler(CallbackQueryHandler(front.on_callback))
    app.add_handler(MessageHandler(filters.LOCATION, front.on_location))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, front.on_text))
    app.add_error_handler(front.on_error)
    for hook in runtime.telegram_hooks:
        hook(app)
    return app


def run_telegram(runtime: "Runtime") -> None:
    """Webhook or polling; either way updates go through the durable inbox (bot/telegram_serve.py)."""
    from .telegram_serve import run_telegram as serve_with_inbox

    serve_with_inbox(runtime)
