"""The `sprout` command line: one command per job, for operators, curators and developers."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path

import click

from knowledge.bundle import content_stats, load_knowledge
from knowledge.db import migrate, open_database
from knowledge.settings import Settings, SettingsError, load_settings

from .logs import configure_logging


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_object(dict)["settings"]


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML settings file (also SPROUT_CONFIG).")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """Sprout: vetted parenting guidance for families of children under 3."""
    try:
        settings = load_settings(os.environ, config)
    except SettingsError as exc:
        raise click.UsageError(f"invalid setting: {exc}") from None
    configure_logging(settings.log_level)
    ctx.ensure_object(dict)["settings"] = settings


@cli.group()
def content() -> None:
    """Check and summarise the content curators edit."""


@content.command("validate")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Date to judge review-by dates against.")
@click.pass_context
def content_validate(ctx: click.Context, today) -> None:
    """Check every content file; print problems as path:line: message."""
    settings = _settings(ctx)
    _, problems = load_knowledge(settings.content_dir, today.date() if today else date.today())
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


def main() -> None:
    cli(prog_name="sprout")
