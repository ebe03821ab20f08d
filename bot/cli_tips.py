"""`sprout tips ...`: operators' view of the scheduled-message ledger, and one send pass for cron deployments."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import datetime, timezone

import click

from knowledge.db import open_database
from knowledge.deliveries import Ledger, worker_id


def _parse_at(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date-time like 2026-12-01T09:00 (UTC unless it has an offset)")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@click.group("tips")
def tips_group() -> None:
    """Scheduled tips and milestone check-ins."""


@tips_group.command("due")
@click.option("--at", "at", default=None, help="Date-time to plan for (ISO, UTC unless an offset is given).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def tips_due(ctx: click.Context, at: str | None, as_json: bool) -> None:
    """What would be planned and sent at --at, without writing or sending anything."""
    from knowledge.bundle import load_valid_knowledge

    settings = ctx.find_object(dict)["settings"]
    moment = _parse_at(at)
    kb, _ = load_valid_knowledge(settings.content_dir, moment.date())
    ledger = Ledger(open_database(settings.db_path), kb.tips)
    report, due = ledger.preview(moment)
    rows = [{"id": d.id, "kind": d.kind, "item": d.item_id, "child_id": d.child_id, "due_at": d.due_at,
             "language": d.language} for d in due]
    if as_json:
        click.echo(json.dumps({"at": moment.isoformat(), "planned": report.planned, "superseded": report.superseded,
                               "due": rows}, indent=2))
    else:
        click.echo(f"{len(rows)} due at {moment.isoformat()} ({report.planned} newly planned)")
        for row in rows:
            click.echo(f"  #{row['id']} {row['kind']} {row['item']} child {row['child_id']} due {row['due_at']}")


@tips_group.command("send-due", epilog="""\b
Exit codes:
  0  every due message was sent or finished for good (blocked, refused), or the pass was
     stopped by SIGTERM/SIGINT: the message in flight was finished, the rest went back to pending
  1  an error: no token, the database or content could not be used
  3  some messages were not delivered (Telegram unreachable, 5xx, 429) and wait for a retry;
     a later pass sends them (also when Telegram could not be reached at all)
  4  some messages are 'unknown' (a timeout after the request left: never re-sent) or
     'expired' (retried until SPROUT_TIPS_RETRY_DEADLINE_HOURS); see `sprout tips stats`""")
@click.pass_context
def tips_send_due(ctx: click.Context) -> None:
    """Plan, then send everything due now through Telegram (one pass; for cron-style deployments).

    Prints the pass's counts as JSON: sent, retried, expired, unknown, released, ..."""
    settings = ctx.find_object(dict)["settings"]
    if not settings.telegram_token:
        raise click.ClickException("TELEGRAM_BOT_TOKEN is not set: sending needs the Telegram bot. "
                                   "Local chat users receive their tips when they next open `sprout chat`.")
    from telegram.error import InvalidToken, TelegramError

    from knowledge.bundle import load_knowledge
    from knowledge.clock import utc_now

    from .features.tips import compose_delivery
    from .render import Renderer
    from .telegram_app import build_sending_bot
    from .tips_sender import EXIT_RETRY_PENDING, RetryPolicy, TelegramTransport, send_due

    kb, _ = load_knowledge(settings.content_dir, utc_now().date())
    db = open_database(settings.db_path)
    ledger = Ledger(db, kb.tips)
    compose = compose_delivery(Renderer(), db, kb, {c.age_months: c for c in kb.milestones})

    async def one_pass():
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        bot = build_sending_bot(settings)
        try:
            await bot.initialize()
        except InvalidToken as exc:
            raise click.ClickException(f"Telegram refused the bot token: {exc}")
        except TelegramError as exc:  # unreachable: nothing was claimed, so nothing is lost
            click.echo(f"Telegram could not be reached ({exc}); nothing was sent, run again later.", err=True)
            return None
        try:
            ledger.plan(utc_now())
            return await send_due(ledger, compose, TelegramTransport(bot), utc_now, worker_id(),
                                  retry=RetryPolicy.from_settings(settings), stop=stopping.is_set)
        finally:
            await bot.shutdown()

    stats = asyncio.run(one_pass())
    if stats is None:
        ctx.exit(EXIT_RETRY_PENDING)
    click.echo(json.dumps(stats.__dict__))
    ctx.exit(stats.exit_code())


@tips_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def tips_stats(ctx: click.Context, as_json: bool) -> None:
    """Ledger counts by state and kind, and subscriptions by status.

    Also: retried (rows that met a network or server error and were sent again or wait to be), waiting_retry
    (of those, still pending), expired (retried until the deadline and given up) and unknown (may or may not
    have been delivered; never re-sent)."""
    settings = ctx.find_object(dict)["settings"]
    stats = Ledger(open_database(settings.db_path), []).stats()
    click.echo(json.dumps(stats, indent=2) if as_json else "\n".join(f"{k}: {v}" for k, v in stats.items()))
