"""The `sprout` command line: one command per job, for operators, curators and developers."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from datetime import date
from pathlib import Path

import click

from knowledge.bundle import content_stats, load_knowledge
from knowledge.db import migrate, open_database
from knowledge.settings import Settings, SettingsError, load_settings

from .cli_types import FiniteRange

from .logs import configure_logging


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_object(dict)["settings"]


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


class LazyGroup(click.Group):
    """A group whose commands from other modules (`lazy`: name -> "module:attribute") are imported only when one
    of them is run or listed: `sprout ask` does not import the tips, services, curation and safety tooling."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            import importlib

            module, _, attribute = self.lazy[name].partition(":")
            self.add_command(getattr(importlib.import_module(module, __package__), attribute), name)
        return super().get_command(ctx, name)


class SproutGroup(LazyGroup):
    """The root command: content and storage faults end every command with a one-line message and exit 1, never
    a traceback (the validator's `path:line: message` lines for content)."""

    def invoke(self, ctx: click.Context):
        import sqlite3

        from knowledge.bundle import ContentError
        from knowledge.db import StorageError, describe_storage_error

        try:
            return super().invoke(ctx)
        except ContentError as exc:
            raise click.ClickException(f"the content has errors, so nothing was started or changed:\n{exc}\n"
                                       "Fix them (`sprout content validate` lists them all) and run it again.") from None
        except StorageError as exc:
            raise click.ClickException(str(exc)) from None
        except sqlite3.DatabaseError as exc:
            settings = (ctx.obj or {}).get("settings")
            raise click.ClickException(describe_storage_error(exc, settings.db_path if settings else "database")) \
                from None


@click.group(cls=SproutGroup, context_settings={"help_option_names": ["-h", "--help"]},
             lazy={"tips": ".cli_tips:tips_group", "gaps": ".cli_curation:gaps_command",
                   "stats": ".cli_curation:stats_command", "safety": ".cli_safety:safety_group",
                   "services": ".cli_services:services_group", "web": ".cli_web:web_command",
                   "curators": ".cli_web:curators_group"})
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML settings file (also SPROUT_CONFIG).")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """Sprout: vetted parenting guidance for families of children under 3."""
    try:
        settings = load_settings(os.environ, config)
    except SettingsError as exc:
        raise click.UsageError(f"invalid setting: {exc}") from None
    try:
        configure_logging(settings.log_level, log_file=settings.log_file,
                          secrets=(settings.telegram_token, settings.webhook_secret))
    except OSError as exc:
        raise click.UsageError(f"invalid setting: SPROUT_LOG_FILE={str(settings.log_file)!r}: cannot write it "
                               f"({exc.strerror or exc})") from None
    ctx.ensure_object(dict)["settings"] = settings


@cli.group(cls=LazyGroup, lazy={"stale": ".cli_curation:stale_command"})
def content() -> None:
    """Check and summarise the content curators edit."""


@content.command("validate")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Date to judge review-by dates against.")
@click.pass_context
def content_validate(ctx: click.Context, today) -> None:
    """Check every content file; print problems as path:line: message."""
    settings = _settings(ctx)
    _, problems = load_knowledge(settings.content_dir, today.date() if today else date.today(), thorough=True)
    for problem in problems:
        click.echo(str(problem))
    errors = sum(1 for p in problems if p.level == "error")
    warnings = len(problems) - errors
    click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)
    if errors:
        sys.exit(1)


@content.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def content_stats_command(ctx: click.Context, as_json: bool) -> None:
    """Count entries by status, topic and language, and tips, milestones, policies and services."""
    settings = _settings(ctx)
    kb, _ = load_knowledge(settings.content_dir, date.today())
    stats = content_stats(kb, settings.content_dir)
    if as_json:
        _echo_json(stats)
    else:
        for key, value in stats.items():
            click.echo(f"{key}: {value}")


@cli.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("migrate")
@click.pass_context
def db_migrate(ctx: click.Context) -> None:
    """Create or upgrade the SQLite database (safe to run twice)."""
    settings = _settings(ctx)
    db = open_database(settings.db_path, migrate_now=False)
    applied = migrate(db)
    click.echo(f"applied migrations: {applied or 'none (up to date)'}")


@db_group.command("retention")
@click.pass_context
def db_retention(ctx: click.Context) -> None:
    """Drop the words of questions older than SPROUT_QUESTION_RETENTION_DAYS (180) and unlink them from users;
    `serve` also does this once a day. Prints JSON."""
    from knowledge.clock import utc_now
    from knowledge.privacy import apply_retention

    settings = _settings(ctx)
    db = open_database(settings.db_path)
    try:
        _echo_json(apply_retention(db, utc_now(), settings.question_retention_days))
    finally:
        db.conn.close()


def _runtime(ctx: click.Context, ensure_index: bool = True):
    from .wiring import build_runtime, refresh_index

    runtime = build_runtime(_settings(ctx))
    if ensure_index:
        # Cheap when nothing changed (the model is loaded only if some text is new), and never stale.
        refresh_index(runtime)
    hook = (ctx.obj or {}).pop("on_runtime", None)
    if hook is not None:
        hook(runtime)
    return runtime


@cli.group("index")
def index_group() -> None:
    """The search index over published entries."""


@index_group.command("build")
@click.option("--quiet", is_flag=True, help="Print only the summary line.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def index_build(ctx: click.Context, quiet: bool, as_json: bool) -> None:
    """Sync content files and (re)build the index; only changed text is embedded."""
    from rich.progress import Progress

    from .wiring import refresh_index

    runtime = _runtime(ctx, ensure_index=False)
    if quiet or as_json:
        report = refresh_index(runtime)
    else:
        with Progress(transient=True) as progress:
            task = progress.add_task("embedding", total=None)
            report = refresh_index(runtime, progress=lambda done, total: progress.update(task, completed=done,
                                                                                          total=total))
    if as_json:
        _echo_json(report.as_dict())
        return
    click.echo(f"index: {report.entries} entries, {report.texts} texts; embedded {report.embedded}, "
               f"reused {report.reused}; added {len(report.added)}, changed {len(report.changed)}, "
               f"removed {len(report.removed)}{' (full rebuild)' if report.full_rebuild else ''} "
               f"in {report.seconds}s")


def _ask_one(runtime, question: str, lang: str | None, age: float | None, region: str | None) -> dict:
    return runtime.answerer.answer(question, lang, age, log_question=True, region=region).as_dict()


@cli.command()
@click.argument("question", required=False)
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None, help="Reply language (default: the question's).")
@click.option("--age-months", type=FiniteRange(0, 36), default=None, help="The child's age in months.")
@click.option("--region", default=None, help="Region for emergency numbers (default: SPROUT_REGION).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
@click.option("--jsonl", is_flag=True, help="Read JSON lines from stdin ({id, question, lang, age_months}); write one "
                                            "result per line.")
@click.option("--timings", is_flag=True, hidden=True,
              help="Write wall-clock marks of the start-up phases to stderr as JSON (used by `sprout bench`).")
@click.pass_context
def ask(ctx: click.Context, question: str | None, lang: str | None, age_months: float | None, region: str | None,
        as_json: bool, jsonl: bool, timings: bool) -> None:
    """Ask Sprout a question (triage first, then the knowledge base)."""
    if not jsonl and not question:
        raise click.UsageError("give a question, or --jsonl to read questions from stdin")
    marks = {"command_started": time.time()}
    runtime = _runtime(ctx)
    marks["runtime_built"] = time.time()
    if timings:
        from .bench import peak_rss_mb

        ctx.call_on_close(lambda: click.echo(json.dumps(
            {**marks, "answered": time.time(), "model_load_s": runtime.model.load_seconds,
             "peak_rss_mb": peak_rss_mb()}), err=True))
    if jsonl:
        for number, line in enumerate(sys.stdin, 1):
            if not line.strip():
                continue
            item = None
            try:
                item = json.loads(line)
                _check_jsonl_question(item)
            except ValueError as exc:
                item_id = item.get("id") if isinstance(item, dict) else None
                click.echo(json.dumps({"line": number, **({"id": item_id} if item_id is not None else {}),
                                       "error": f"bad input: {exc}"}, ensure_ascii=False))
                continue
            result = _ask_one(runtime, item["question"], item.get("lang"), item.get("age_months"), region)
            click.echo(json.dumps({"id": item.get("id"), **result}, ensure_ascii=False))
        return
    result = _ask_one(runtime, question, lang, age_months, region)
    if as_json:
        _echo_json(result)
    else:
        # The answer opens with the section that answers the question; a terminal shows the rest after it.
        click.echo(result["text"] + (f"\n\n{result['rest']}" if result.get("rest") else ""))


def _check_jsonl_question(item) -> None:
    """One `ask --jsonl` input, checked as the single-question options are: a question, en or zh, 0-36 months."""
    if not isinstance(item, dict) or not isinstance(item.get("question"), str) or not item["question"].strip():
        raise ValueError("needs a non-empty 'question' string")
    if item.get("lang") not in (None, "en", "zh"):
        raise ValueError("'lang' must be \"en\" or \"zh\"")
    age = item.get("age_months")
    if age is not None and (isinstance(age, bool) or not isinstance(age, (int, float)) or not 0 <= age <= 36
                            or not math.isfinite(age)):
        raise ValueError("'age_months' must be a number from 0 to 36")


@cli.command()
@click.option("--user", default="me", show_default=True, help="Local user name (each keeps their own profile).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None, help="Language to start in.")
@click.pass_context
def chat(ctx: click.Context, user: str, lang: str | None) -> None:
    """Chat with Sprout in the terminal (same engine as Telegram; buttons are numbered)."""
    from .features.tips import local_inbox
    from .local_chat import LocalChat

    runtime = _runtime(ctx)
    local = LocalChat(runtime.engine, user, click.echo, runtime.settings.data_dir / "exports", lang,
                      inbox=local_inbox(runtime))
    interactive = sys.stdin.isatty()
    local.run(sys.stdin, prompt=(lambda: click.echo("> ", nl=False)) if interactive else None)


@cli.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run the Telegram bot (polling, or webhook when SPROUT_WEBHOOK_URL is set)."""
    settings = _settings(ctx)
    if not settings.telegram_token:
        raise click.ClickException(
            "TELEGRAM_BOT_TOKEN is not set. Create a bot by talking to @BotFather in Telegram (/newbot), "
            "then run: export TELEGRAM_BOT_TOKEN=<the token it gives you>. Without a token, use `sprout chat`.")
    from .telegram_app import run_telegram

    run_telegram(_runtime(ctx))


@cli.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Start Sprout: the Telegram bot when TELEGRAM_BOT_TOKEN is set, else the local chat (and the web console
    beside it when SPROUT_WEB=1)."""
    settings = _settings(ctx)
    if settings.web_enabled:
        # The console beside the bot (or the local chat), started once the bot's runtime exists.
        from .cli_web import start_console_beside

        ctx.obj["on_runtime"] = start_console_beside
    if settings.telegram_token:
        ctx.invoke(serve)
    else:
        ctx.invoke(chat)


@cli.command("eval")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mode", type=click.Choice(["hybrid", "dense", "keyword", "all"]), default="hybrid",
              help="Retrieval mode to evaluate ('all' compares the three).")
@click.option("--calibrate", is_flag=True, help="Also search abstention thresholds on these files.")
@click.option("--write", is_flag=True, help="With --calibrate: save the fitted answering model for the current "
                                            "SPROUT_MODEL (retrieval/calibration/<model>.json).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def eval_command(ctx: click.Context, files: tuple[Path, ...], mode: str, calibrate: bool, write: bool,
                 as_json: bool) -> None:
    """Evaluate retrieval (hit@k, MRR, abstention) or triage (recall, false alarms) on labelled JSONL files."""
    from retrieval.evaluate import calibrate as run_calibration
    from retrieval.evaluate import evaluate_retrieval, evaluate_triage, file_kind, load_eval_files

    try:
        items = load_eval_files(files)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if not items:
        raise click.ClickException("the evaluation files are empty")
    if file_kind(items) == "triage":
        from .wiring import load_safety

        report = {"triage": evaluate_triage(load_safety(_settings(ctx)), items)}
    else:
        runtime = _runtime(ctx)
        modes = ["hybrid", "dense", "keyword"] if mode == "all" else [mode]
        report = {m: evaluate_retrieval(runtime.answerer, items, m) for m in modes}
        if calibrate:
            report["calibration"] = run_calibration(runtime.answerer, items)
            if write:
                report["written"] = str(save_calibration(runtime.retriever, report["calibration"]))
    if as_json:
        _echo_json(report)
    else:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))


@cli.command()
@click.option("--section", "sections", multiple=True,
              type=click.Choice(["triage", "retrieval", "cold_start", "tips", "services"]),
              help="Run only these sections (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the only output format).")
@click.pass_context
def bench(ctx: click.Context, sections: tuple[str, ...], as_json: bool) -> None:
    """Measure speed and memory; prints JSON."""
    from .bench import run_benchmarks

    chosen = list(sections) or ["triage", "retrieval", "cold_start", "tips", "services"]
    _echo_json(run_benchmarks(_settings(ctx), chosen, _bench_extras()))


def save_calibration(retriever, fitted: dict) -> Path:
    """Write the fitted answering model (per language weights and threshold) beside the ranking weights in use,
    as the calibration file of the retriever's model."""
    from dataclasses import replace

    from retrieval.search import CALIBRATION_DIR, calibration_file_name

    current = retriever.calibration
    weights = {**current.weights, **{lang: fit["weights"] for lang, fit in fitted.items()}}
    threshold = {**current.threshold, **{lang: fit["threshold"] for lang, fit in fitted.items()}}
    updated = replace(current, weights=weights, threshold=threshold)
    path = CALIBRATION_DIR / calibration_file_name(retriever.live.identity.model_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(updated.as_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def _bench_extras() -> dict:
    """Benchmark sections contributed by features."""
    from knowledge.services_bench import run_services_benchmark
    from knowledge.tips_bench import run_tips_benchmark

    return {"services": run_services_benchmark, "tips": run_tips_benchmark}


def main() -> None:
    cli(prog_name="sprout")


if __name__ == "__main__":
    main()
