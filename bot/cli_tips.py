"""`sprout tips ...`: operators' view of the scheduled-message ledger, and one send pass for cron deployments."""

from __future__ import annotations

import asyncio
import json
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


@tips_group.command("send-due")
@click.pass_context
def tips_send_due(ctx: click.Context) -> None:
    """Plan, then send everything due now through Telegram (one pass; for cron-style deployments)."""
    settings = ctx.find_object(dict)["settings"]
    if not settings.telegram_token:
        raise click.ClickException("TELEGRAM_BOT_TOKEN is not set: sending needs the Telegram bot. "
                                   "Local chat users receive their tips when they next open `sprout chat`.")
    from .features.tips import delivery_context
    from .telegram_app import build_application
    from .tips_sender import TelegramTransport, send_due
    from .wiring import build_runtime

    runtime = build_runtime(settings)
    ledger, compose = delivery_context(runtime)

    async def one_pass():
        app = build_application(runtime)
        async with app:
            ledger.plan(runtime.clock())
            return await send_due(ledger, compose, TelegramTransport(app.bot), runtime.clock, worker_id())

    stats = asyncio.run(one_pass())
    click.echo(json.dumps(stats.__dict__))


@tips_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def tips_stats(ctx: click.Context, as_json: bool) -> None:
    """Ledger counts by state and kind, and subscriptions by status."""
    settings = ctx.find_object(dict)["settings"]
    stats = Ledger(open_database(settings.db_path), []).stats()
    click.echo(json.dumps(stats, indent=2) if as_json else "\n".join(f"{k}: {v}" for k, v in stats.items()))
