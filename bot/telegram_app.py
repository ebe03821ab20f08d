"""The Telegram front end: a thin adapter that turns updates into engine actions and replies into Bot API calls.
No business logic lives here; the conversation engine is shared with the local chat."""

from __future__ import annotations

import asyncio
import html
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from telegram import (BotCommand, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, KeyboardButton,
                      LinkPreviewOptions, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update)
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import (AIORateLimiter, Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters)
from telegram.request import BaseRequest, HTTPXRequest

from .messages import Incoming, Reply

if TYPE_CHECKING:
    from .wiring import Runtime

log = logging.getLogger(__name__)
MAX_TEXT = 4096  # Telegram's limit, in UTF-16 code units of the text after entity parsing; we count the HTML
_BOLD = re.compile(r"\*\*(.+?)\*\*")
# Telegram's answers to answerCallbackQuery for a press it no longer waits on (queued while the bot was down,
# or delivered twice): the press itself is still handled, only the spinner can no longer be stopped.
_HARMLESS_QUERY_ERRORS = ("query is too old", "query id is invalid")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # map, gov.cn and source links: a preview card adds nothing
TICK = "✓ "


def to_html(text: str) -> str:
    """Plain text with **bold** marks to Telegram HTML, escaping everything else."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(text.encode("utf-16-le")) // 2


def _html_len(text: str) -> int:
    return utf16_len(to_html(text))


def _cut(text: str, limit: int) -> tuple[str, str]:
    """The longest head of `text` whose HTML fits `limit`, cut at a line break or a space when there is one in
    its second half, and a tail; a **bold** span cut in two is closed in the head and reopened in the tail, so
    no part ever ends inside a tag."""
    low, high = 1, len(text)
    while low < high:  # binary search on characters for the longest head that fits
        middle = (low + high + 1) // 2
        if _html_len(text[:middle] + "**") <= limit:
            low = middle
        else:
            high = middle - 1
    head_end = low
    for mark in ("\n", " "):
        at = text.rfind(mark, 0, head_end)
        if at > head_end // 2:
            head_end = at + 1
            break
    head, tail = text[:head_end], text[head_end:]
    if head.count("**") % 2:  # a bold span runs across the cut
        head, tail = head + "**", "**" + tail
    return head.rstrip(), tail.lstrip()


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a long reply at paragraph breaks (then lines, then spaces) so that the HTML of no part exceeds
    Telegram's limit in UTF-16 code units, and no part ends inside a **bold** span."""
    parts, current = [], ""
    for paragraph in text.split("\n\n"):
        candidate = f"{current}\n\n{paragraph}" if current else paragraph
        if _html_len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while _html_len(paragraph) > limit:
            head, paragraph = _cut(paragraph, limit)
            parts.append(head)
        current = paragraph
    if current:
        parts.append(current)
    return parts or [""]


def _harmless_query_error(error: BaseException) -> bool:
    return isinstance(error, BadRequest) and any(s in str(error).lower() for s in _HARMLESS_QUERY_ERRORS)


def _inline_markup(rows) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows])


def pressed_markup(markup: InlineKeyboardMarkup | None, data: str, effect: str) -> InlineKeyboardMarkup | None:
    """The keyboard of a pressed message after the press: only the pressed button, ticked ("mark"), or every
    button but the pressed one ("drop"). None when no button is left."""
    if markup is None:
        return None
    rows = []
    for row in markup.inline_keyboard:
        if effect == "mark":
            kept = [InlineKeyboardButton(TICK + b.text.removeprefix(TICK), callback_data=b.callback_data)
                    for b in row if b.callback_data == data]
        else:
            kept = [b for b in row if b.callback_data != data]
        if kept:
            rows.append(kept)
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramFrontEnd:
    """Handlers for the PTB Application; the engine runs on one worker thread so SQLite sees one writer."""

    def __init__(self, runtime: "Runtime", sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.runtime = runtime
        self.engine = runtime.engine
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sprout-engine")
        self.sleep = sleep

    async def _run(self, incoming: Incoming) -> list[Reply]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.engine.handle, incoming)

    def _incoming(self, update: Update, **fields: Any) -> Incoming:
        user, chat = update.effective_user, update.effective_chat
        return Incoming(f"tg:{user.id}", chat_id=chat.id, language_hint=user.language_code,
                        telegram_user_id=user.id, private=chat.type == ChatType.PRIVATE, **fields)

    async def _typing(self, chat_id: int, context: ContextTypes.DEFAULT_TYPE) -> None:
        """"typing…" while an answer is searched for; only a courtesy, so a failure is logged and ignored."""
        try:
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:
            log.debug("typing action failed: %s", type(exc).__name__)

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
        # A question is triaged, searched and rendered: say at once that the bot is on it.
        await self._typing(update.effective_chat.id, context)
        replies = await self._run(self._incoming(update, text=text))
        await self.send(update.effective_chat.id, replies, context)

    async def on_location(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared location: used for this search only, never stored or logged."""
        location = update.effective_message.location
        incoming = self._incoming(update, location=(location.latitude, location.longitude))
        await self.send(update.effective_chat.id, await self._run(incoming), context, remove_keyboard=True)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An inline button press: handled first, then answered (Telegram may say the query is too old by then, or
        already was: a press queued while the bot was down still does what the parent asked)."""
        query = update.callback_query
        try:
            data = query.data or ""
            if data.split(":", 1)[0] in self.engine.slow_callbacks:
                await self._typing(update.effective_chat.id, context)
            replies = await self._run(self._incoming(update, callback=data))
            await self.send_press(query, replies, context)
        finally:
            await self._answer_query(query)

    async def _answer_query(self, query: CallbackQuery) -> None:
        try:
            await query.answer()
        except TelegramError as exc:
            if _harmless_query_error(exc):
                log.debug("callback query no longer answerable: %s", exc)
            else:
                log.warning("could not answer a callback query: %s: %s", type(exc).__name__, exc)

    async def send_press(self, query: CallbackQuery, replies: list[Reply], context: ContextTypes.DEFAULT_TYPE) -> None:
        """The replies to a press, and what becomes of the pressed message: turned into the first reply ("edit"),
        or its keyboard reduced to the choice made ("mark") or to the buttons not pressed ("drop"), so that a
        step of a conversation stays one message and an old button never starts something surprising."""
        message = query.message
        chat_id = message.chat.id if message is not None else query.from_user.id
        effect = replies[0].on_press if replies else "mark"
        if message is not None and effect == "edit" and replies[0].document is None \
                and not replies[0].request_location and len(split_text(replies[0].text)) == 1:
            if await self._edit(chat_id, message.message_id, replies[0], context):
                replies = replies[1:]
        elif message is not None and isinstance(message, Message):
            markup = pressed_markup(message.reply_markup, query.data or "", "drop" if effect == "drop" else "mark")
            if markup != message.reply_markup:
                try:
                    await self._call("editMessageReplyMarkup", lambda: context.bot.edit_message_reply_markup(
                        chat_id, message.message_id, reply_markup=markup))
                except TelegramError as exc:  # deleted, too old to edit, Telegram down: the replies still go
                    log.log(logging.DEBUG if isinstance(exc, BadRequest) else logging.WARNING,
                            "pressed message not updated: %s: %s", type(exc).__name__, exc)
        await self.send(chat_id, replies, context)

    async def _edit(self, chat_id: int, message_id: int, reply: Reply, context: ContextTypes.DEFAULT_TYPE) -> bool:
        """Turn the pressed message into `reply`; False when Telegram cannot (too old, deleted): send it instead."""
        try:
            await self._call("editMessageText", lambda: context.bot.edit_message_text(
                to_html(reply.text), chat_id, message_id, parse_mode=ParseMode.HTML,
                reply_markup=_inline_markup(reply.buttons), link_preview_options=NO_PREVIEW))
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True  # the same press delivered twice: the message already says this
            log.debug("could not edit the pressed message (%s); sending the reply instead", exc)
            return False
        return True

    async def _call(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """One Bot API call of an interactive reply, tried again with backoff while Telegram cannot have taken it
        (5xx, 429 with its retry_after, a connection refused or reset before the request was written), within
        SPROUT_SEND_ATTEMPTS and SPROUT_SEND_RETRY_SECONDS. Anything else is raised as it is."""
        from .tips_sender import NotDelivered, RetryLater, classify

        settings = self.runtime.settings
        waited, attempt = 0.0, 1
        while True:
            try:
                return await call()
            except (BadRequest, Forbidden, InvalidToken):
                raise
            except TelegramError as exc:
                outcome = classify(exc)
                if not isinstance(outcome, NotDelivered):
                    raise
                wait = outcome.seconds if isinstance(outcome, RetryLater) else min(0.5 * 2 ** (attempt - 1), 8.0)
                if attempt >= settings.send_attempts or waited + wait > settings.send_retry_seconds:
                    log.error("%s not delivered after %d attempts: %s", what, attempt, outcome)
                    raise
                log.warning("%s not delivered (%s); trying again in %.1f s", what, outcome, wait)
                await self.sleep(wait)
                waited += wait
                attempt += 1

    async def send(self, chat_id: int, replies: list[Reply], context: ContextTypes.DEFAULT_TYPE,
                   remove_keyboard: bool = False) -> None:
        bot = context.bot
        try:
            for reply in replies:
                markup: Any = _inline_markup(reply.buttons)
                add_buttons_after = None
                if reply.request_location and markup is None:
                    markup = ReplyKeyboardMarkup([[KeyboardButton(reply.location_label, request_location=True)]],
                                                 one_time_keyboard=True, resize_keyboard=True)
                elif remove_keyboard:
                    # A message carries one keyboard: the location keyboard goes with this message, and its inline
                    # buttons are put on it right after (still one message).
                    add_buttons_after, markup = markup, ReplyKeyboardRemove()
                    remove_keyboard = False
                if reply.document is not None:
                    await self._call("sendDocument", lambda: bot.send_document(
                        chat_id, InputFile(reply.document.content, filename=reply.document.filename),
                        caption=reply.text[:1024], reply_markup=markup))
                    continue
                parts = split_text(reply.text)
                for i, part in enumerate(parts):
                    last = i == len(parts) - 1
                    sent = await self._send_message(bot, chat_id, part, markup if last else None)
                    if last and add_buttons_after is not None and sent is not None:
                        await self._call("editMessageReplyMarkup", lambda: bot.edit_message_reply_markup(
                            chat_id, sent.message_id, reply_markup=add_buttons_after))
        except Forbidden:
            # The user blocked the bot: stop sending to them until they write again.
            user = self.engine.users.find(f"tg:{chat_id}")
            if user is not None:
                self.engine.users.deactivate(user.id)
            log.info("chat blocked the bot; user deactivated")

    async def _send_message(self, bot, chat_id: int, text: str, markup: Any) -> Message | None:
        """One message; a timeout after the request was written is logged and not retried or apologised for (the
        parent may well have it), and the replies after it still go."""
        from .tips_sender import Unknown, classify

        try:
            return await self._call("sendMessage", lambda: bot.send_message(
                chat_id, to_html(text), parse_mode=ParseMode.HTML, reply_markup=markup,
                link_preview_options=NO_PREVIEW))
        except (TimedOut, NetworkError) as exc:
            if not isinstance(classify(exc), Unknown):
                raise
            log.warning("a reply may not have been delivered (%s); not sending it again", classify(exc))
            return None

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error without personal data; tell the user something went wrong only when our own code failed
        (when Telegram failed, a reply may have arrived, or an apology would not get through either)."""
        log.error("error while handling an update: %s", type(context.error).__name__,
                  exc_info=(type(context.error), context.error, context.error.__traceback__))
        if isinstance(context.error, TelegramError):
            return
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
    if settings.telegram_base_urls:
        urls = dict(zip(("base_url", "base_file_url"), settings.telegram_base_urls))
    return ExtBot(settings.telegram_token, request=SignallingRequest(connection_pool_size=256),
                  rate_limiter=AIORateLimiter(max_retries=3), **urls)


def build_application(runtime: "Runtime", request: BaseRequest | None = None,
                      updates_request: BaseRequest | None = None, rate_limiter: bool = True) -> Application:
    """The composition of the PTB Application; tests pass a recording request object as the transport."""
    front = TelegramFrontEnd(runtime)
    builder: ApplicationBuilder = Application.builder().token(runtime.settings.telegram_token or "123456:TEST-TOKEN")
    if runtime.settings.telegram_base_urls:
        base_url, base_file_url = runtime.settings.telegram_base_urls
        builder = builder.base_url(base_url).base_file_url(base_file_url)
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
