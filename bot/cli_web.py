"""`sprout web` (the web console) and `sprout curators add` (a console password for a curator or reviewer)."""

from __future__ import annotations

import logging
import threading

import click

log = logging.getLogger(__name__)


def serve_console(app, settings) -> None:
    import uvicorn

    uvicorn.run(app, host=settings.web_listen, port=settings.web_port, log_level="warning", access_log=False,
                server_header=False)


def start_console_beside(runtime):
    """`sprout run` with SPROUT_WEB=1: the console in a thread of its own, with its own database connection and
    runtime; after it publishes, the bot's live index is reloaded too."""
    import uvicorn

    from .web import create_app
    from .wiring import Shared, build_runtime

    shared = Shared(runtime.kb, runtime.renderer, runtime.triage, runtime.segmenter)
    console_runtime = build_runtime(runtime.settings, clock=runtime.clock, embedder_factory=runtime.model,
                                    shared=shared)
    app = create_app(console_runtime, on_published=runtime.live.reload)
    settings = runtime.settings
    server = uvicorn.Server(uvicorn.Config(app, host=settings.web_listen, port=settings.web_port,
                                           log_level="warning", access_log=False, server_header=False))
    thread = threading.Thread(target=server.run, name="sprout-web", daemon=True)
    thread.start()
    log.info("web console on %s", settings.web_base_url)
    return server, thread


@click.command("web")
@click.pass_context
def web_command(ctx: click.Context) -> None:
    """Run the web console for curators and reviewers (127.0.0.1:8088 unless SPROUT_WEB_LISTEN/PORT say otherwise)."""
    from .cli import _runtime
    from .web import create_app

    runtime = _runtime(ctx)
    settings = runtime.settings
    click.echo(f"Sprout console on {settings.web_base_url} (sign in with a link from /web in the bot, or a password "
               "from `sprout curators add --password`)", err=True)
    serve_console(create_app(runtime), settings)


@click.group("curators")
def curators_group() -> None:
    """Curators' and reviewers' console sign-in (their roles come from SPROUT_CURATOR_IDS / SPROUT_REVIEWER_IDS)."""


@curators_group.command("add")
@click.argument("telegram_id", type=click.IntRange(1, None))
@click.option("--password", is_flag=True, help="Set a console password (asked for twice, never on the command line).")
@click.pass_context
def curators_add(ctx: click.Context, telegram_id: int, password: bool) -> None:
    """Check that a Telegram id is a curator or reviewer and, with --password, set their console password."""
    from knowledge.clock import utc_now
    from knowledge.curation import role_of
    from knowledge.db import open_database
    from knowledge.web_access import MIN_PASSWORD, AccessError, set_password

    settings = ctx.find_object(dict)["settings"]
    role = role_of(settings, telegram_id)
    if role is None:
        raise click.ClickException(f"{telegram_id} is not a curator or reviewer: add it to SPROUT_CURATOR_IDS or "
                                   "SPROUT_REVIEWER_IDS first (roles live in the settings, like the bot's)")
    if not password:
        click.echo(f"{telegram_id} is a {role}; they can sign in with a link from /web in the bot")
        return
    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    db = open_database(settings.db_path)
    try:
        set_password(db, telegram_id, secret, utc_now(), actor="cli")
    except AccessError:
        raise click.ClickException(f"the password must be at least {MIN_PASSWORD} characters long") from None
    finally:
        db.conn.close()
    click.echo(f"password set for {role} {telegram_id}")
