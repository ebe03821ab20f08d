"""`sprout gaps`, `sprout stats` and `sprout content stale`: the curators' views from the command line."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import click

from knowledge.bundle import load_knowledge
from knowledge.curation import stale_entries
from knowledge.db import open_database
from knowledge.store import EntryStore
from knowledge.usage_stats import usage_stats


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.command("gaps")
@click.option("--days", type=click.IntRange(1, 3650), default=90, show_default=True, help="How far back to look.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Clusters to show.")
@click.option("--no-check", is_flag=True, help="Skip re-running each cluster's questions through retrieval.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def gaps_command(ctx: click.Context, days: int, limit: int, no_check: bool, as_json: bool) -> None:
    """Clusters of questions Sprout could not answer well (no answer, unsure, 👎), biggest first."""
    from knowledge.gaps import LOW_CONFIDENCE, find_gaps, idf_by_language

    from .cli import _runtime

    runtime = _runtime(ctx)
    snapshot = runtime.live.snapshot

    def answered_well(question: str, lang: str):
        result = runtime.answerer.answer(question, lang, log_question=False)
        return result.kind == "answer" and (result.score or 0.0) >= LOW_CONFIDENCE, result.entry_id

    clusters = find_gaps(runtime.db, runtime.model(), runtime.segmenter, runtime.clock(), days,
                         check=None if no_check else answered_well, limit=limit,
                         dense_weight=runtime.retriever.calibration.dense_weight,
                         thresholds=runtime.retriever.calibration.gap_thresholds,
                         idf=idf_by_language(snapshot.terms) if snapshot else None)
    data = [c.as_dict() for c in clusters]
    if as_json:
        _echo_json({"days": days, "clusters": data})
        return
    if not data:
        click.echo(f"no unanswered, unsure or 👎 questions in the last {days} days")
    for number, c in enumerate(data, 1):
        checked = f"; answered now {c['answered_now']}/{c['checked']}" if c["checked"] else ""
        click.echo(f"#{number} [{c['key']}] {c['count']} question(s) {c['languages']} {c['reasons']}{checked}")
        for example in c["examples"]:
            click.echo(f"    {example}")


@click.command("stats")
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True, help="How far back to count.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stats_command(ctx: click.Context, days: int, as_json: bool) -> None:
    """Usage and helpfulness statistics: counts and rates only, no personal data."""
    settings = ctx.find_object(dict)["settings"]
    stats = usage_stats(open_database(settings.db_path), datetime.now(timezone.utc), days)
    if as_json:
        _echo_json(stats)
        return
    for key, value in stats.items():
        click.echo(f"{key}: {json.dumps(value, ensure_ascii=False, default=str)}")


@click.command("stale")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Date to judge review-by dates against.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stale_command(ctx: click.Context, today, as_json: bool) -> None:
    """Published entries past their review-by date (content files, with changes made in the chat on top)."""
    settings = ctx.find_object(dict)["settings"]
    day = today.date() if today else date.today()
    kb, _ = load_knowledge(settings.content_dir, day)
    entries = {e.id: e for e in kb.entries}
    if settings.db_path.exists():
        # The database holds what curators published or retired in the chat; it wins over the file version.
        entries.update({e.id: e for e in EntryStore(open_database(settings.db_path)).all()})
    stale = stale_entries(entries.values(), day)
    rows = [{"id": e.id, "topic": e.topic, "title": e.text("en").title, "review_by": e.review_by.isoformat(),
             "path": e.path} for e in stale]
    if as_json:
        _echo_json({"today": day.isoformat(), "stale": rows})
        return
    for row in rows:
        click.echo(f"{row['review_by']}  {row['id']}  {row['title']}")
    click.echo(f"{len(rows)} stale entr{'y' if len(rows) == 1 else 'ies'}", err=True)
