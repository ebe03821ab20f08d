"""Logs never hold the bot token, and handling a message never logs its text."""

import logging

from bot.logs import RedactingFilter
from bot.messages import Incoming


def test_bot_tokens_are_scrubbed_from_any_log_record():
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1,
                               "POST https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe",
                               (), None)
    RedactingFilter().filter(record)
    assert "AAHdqTcv" not in record.getMessage() and "<token>" in record.getMessage()


def test_handling_a_message_never_logs_its_text_or_dates(runtime, caplog):
    caplog.set_level(logging.DEBUG)
    runtime.engine.handle(Incoming("local:log", text="my daughter Zoe born 2026-03-04 has a rash"))
    runtime.engine.handle(Incoming("local:log", text="宝宝晚上总醒，怎么办"))
    assert "Zoe" not in caplog.text and "2026-03-04" not in caplog.text and "总醒" not in caplog.text
