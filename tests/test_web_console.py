"""The web console through its real routes (Starlette's TestClient, no browser): who is refused, CSRF, sign-in
links and passwords, four eyes, escaping, the content file written with the database, and the other pages.
The browser journeys are in test_web_browser.py."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from knowledge.content import parse_entry
from knowledge.curation import Workflow
from knowledge.web_access import issue_link, set_password
from test_curation_workflow import flying_entry
from webhelpers import CURATOR, PARENT, REVIEWER, REVIEWER_2, console_settings, csrf_of, sign_in

SCRIPT = "<script>alert('x')</script>"
# A topic whose published entries need no red flags (health entries must carry them: see the refusal test).
DEVELOPMENT = {"id": "development-flying-with-a-baby", "topic": "development"}


@pytest.fixture
def console(tmp_path, built_index, shared_model, shared_parts, clock):
    from bot.web import create_app
    from bot.wiring import build_runtime

    settings = console_settings(tmp_path, built_index)
    runtime = build_runtime(settings, clock=clock, embedder_factory=lambda: shared_model, shared=shared_parts)
    app = create_app(runtime)
    yield runtime, app
    runtime.db.conn.close()


def client_for(app, telegram_id=None, runtime=None) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1:8088")
    if telegram_id is not None:
        sign_in(client, runtime, telegram_id)
    return client


def proposal_by(runtime, author: int, **changes) -> int:
    workflow = Workflow(runtime.db, runtime.clock, content_dir=runtime.settings.content_dir)
    return workflow.propose(flying_entry(**changes), f"tg:{author}", origin="web").id


# Signed out, not staff, wrong role ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/review", "/entries", "/editor", "/gaps", "/stats", "/redflags", "/services",
                                  "/audit"])
def test_a_signed_out_visitor_is_sent_to_sign_in(console, path):
    runtime, app = console
    response = client_for(app).get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"


def test_a_signed_out_post_is_refused_and_changes_nothing(console):
    runtime, app = console
    pid = proposal_by(runtime, CURATOR)
    client = client_for(app)
    page = client.get("/signin")
    response = client.post(f"/review/{pid}/publish", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 401
    assert Workflow(runtime.db, runtime.clock).get(pid).state == "in_review"


def test_a_parent_cannot_get_a_sign_in_link(console):
    from knowledge.web_access import AccessError

    runtime, _ = console
    with pytest.raises(AccessError):
        issue_link(runtime.db, runtime.settings, PARENT, runtime.clock())


def test_a_link_whose_holder_is_no_longer_staff_signs_nobody_in(console, shared_parts):
    from bot.web import create_app
    from bot.wiring import build_runtime

    runtime, app = console
    token = issue_link(runtime.db, runtime.settings, CURATOR, runtime.clock())
    demoted = build_runtime(replace(runtime.settings, curator_ids=frozenset()), clock=runtime.clock,
                            embedder_factory=runtime.model, shared=shared_parts)
    try:
        client = client_for(create_app(demoted))
        page = client.get(f"/signin/link/{token}")
        response = client.post(f"/signin/link/{token}", data={"csrf": csrf_of(page.text)})
        assert response.status_code == 401
        assert client.get("/review", follow_redirects=False).status_code == 303
    finally:
        demoted.db.conn.close()


def test_a_session_is_refused_once_its_holder_is_no_longer_staff(console, shared_parts):
    from bot.web import create_app
    from bot.wiring import build_runtime

    runtime, app = console
    cookie = client_for(app, CURATOR, runtime).cookies.get("sprout_console")
    demoted = build_runtime(replace(runtime.settings, curator_ids=frozenset()), clock=runtime.clock,
                            embedder_factory=runtime.model, shared=shared_parts)
    try:
        client = client_with_cookie(create_app(demoted), cookie)  # same data folder, so the same signing key
        assert client.get("/review", follow_redirects=False).status_code == 403
        assert client.get("/gaps", follow_redirects=False).status_code == 403
    finally:
        demoted.db.conn.close()


def test_a_curator_cannot_publish_or_import_only_a_reviewer_can(console):
    runtime, app = console
    pid = proposal_by(runtime, REVIEWER)
    client = client_for(app, CURATOR, runtime)
    csrf = csrf_of(client.get("/review").text)
    assert client.post(f"/review/{pid}/publish", data={"csrf": csrf}).status_code == 403
    assert client.post(f"/review/{pid}/approve", data={"csrf": csrf}).status_code == 403
    assert client.get("/announcements").status_code == 403
    assert Workflow(runtime.db, runtime.clock).get(pid).state == "in_review"
    refused = runtime.db.execute("select count(*) from audit_log where action = 'refused:web' and actor = ?",
                                 [f"tg:{CURATOR}"]).fetchone()[0]
    assert refused == 3


# CSRF ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_a_form_without_its_csrf_token_is_rejected(console, token):
    runtime, app = console
    pid = proposal_by(runtime, CURATOR)
    client = client_for(app, REVIEWER, runtime)
    data = {} if token is None else {"csrf": token}
    response = client.post(f"/review/{pid}/publish", data=data)
    assert response.status_code == 403
    assert Workflow(runtime.db, runtime.clock).get(pid).state == "in_review"
    assert runtime.db.execute("select count(*) from audit_log where action = 'refused:csrf'").fetchone()[0] == 1


def test_the_live_editor_check_needs_the_csrf_token_and_writes_nothing(console):
    runtime, app = console
    client = client_for(app, CURATOR, runtime)
    csrf = csrf_of(client.get("/editor").text)
    fields = {"topic": "health", "age_min": "0", "age_max": "12", "sources": "", "en_title": "Hi", "en_body": "x",
              "en_questions": "", "zh_title": "", "zh_body": "", "zh_questions": ""}
    assert client.post("/editor/check", data=fields).status_code == 403
    checked = client.post("/editor/check", data={"csrf": csrf, **fields}).json()
    assert any("too short" in p for p in checked["problems"])
    assert runtime.db.execute("select count(*) from proposals").fetchone()[0] == 0


def test_the_sign_in_form_needs_its_csrf_token_too(console):
    runtime, app = console
    set_password(runtime.db, REVIEWER, "a long enough password", runtime.clock(), "test")
    client = client_for(app)
    response = client.post("/signin", data={"telegram_id": str(REVIEWER), "password": "a long enough password"})
    assert response.status_code == 403


# Sign-in links and passwords ------------------------------------------------------------------------------------


def test_a_sign_in_link_works_once(console):
    runtime, app = console
    token = issue_link(runtime.db, runtime.settings, REVIEWER, runtime.clock())
    first = client_for(app)
    page = first.get(f"/signin/link/{token}")
    assert first.post(f"/signin/link/{token}", data={"csrf": csrf_of(page.text)}, follow_redirects=False
                      ).status_code == 303
    assert first.get("/review").status_code == 200
    second = client_for(app)
    page = second.get(f"/signin/link/{token}")
    response = second.post(f"/signin/link/{token}", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 401 and "already been used" in response.text
    assert second.get("/review", follow_redirects=False).status_code == 303


def test_an_expired_sign_in_link_fails(console):
    runtime, app = console
    token = issue_link(runtime.db, runtime.settings, REVIEWER, runtime.clock())
    runtime.clock.advance(minutes=runtime.settings.web_link_minutes, seconds=1)
    client = client_for(app)
    page = client.get(f"/signin/link/{token}")
    assert client.post(f"/signin/link/{token}", data={"csrf": csrf_of(page.text)}).status_code == 401


def test_opening_a_link_without_pressing_the_button_does_not_use_it_up(console):
    runtime, app = console
    token = issue_link(runtime.db, runtime.settings, REVIEWER, runtime.clock())
    client_for(app).get(f"/signin/link/{token}")  # a link preview or a scanner
    client = client_for(app)
    page = client.get(f"/signin/link/{token}")
    assert client.post(f"/signin/link/{token}", data={"csrf": csrf_of(page.text)}, follow_redirects=False
                       ).status_code == 303


def test_links_are_stored_hashed(console):
    runtime, _ = console
    token = issue_link(runtime.db, runtime.settings, REVIEWER, runtime.clock())
    stored = [row[0] for row in runtime.db.execute("select token_hash from web_links")]
    assert stored and token not in stored


def test_a_password_signs_in_and_is_stored_as_argon2(console):
    runtime, app = console
    set_password(runtime.db, REVIEWER, "correct horse battery", runtime.clock(), "test")
    assert runtime.db.execute("select hash from staff_passwords").fetchone()[0].startswith("$argon2id$")
    client = client_for(app)
    csrf = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"csrf": csrf, "telegram_id": str(REVIEWER),
                                            "password": "correct horse battery"}, follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/review").status_code == 200


def test_sign_in_attempts_are_rate_limited_in_the_database(console):
    runtime, app = console
    set_password(runtime.db, REVIEWER, "correct horse battery", runtime.clock(), "test")
    client = client_for(app)
    csrf = csrf_of(client.get("/signin").text)
    for _ in range(5):
        wrong = client.post("/signin", data={"csrf": csrf, "telegram_id": str(REVIEWER), "password": "guess" * 3})
        assert wrong.status_code == 401 and "do not match" in wrong.text
    right = client.post("/signin", data={"csrf": csrf, "telegram_id": str(REVIEWER),
                                         "password": "correct horse battery"})
    assert right.status_code == 401 and "Too many failed attempts" in right.text
    runtime.clock.advance(minutes=16)
    later = client.post("/signin", data={"csrf": csrf, "telegram_id": str(REVIEWER),
                                         "password": "correct horse battery"}, follow_redirects=False)
    assert later.status_code == 303


def test_a_tampered_session_cookie_is_ignored(console):
    runtime, app = console
    client = client_for(app, REVIEWER, runtime)
    value = client.cookies.get("sprout_console")
    assert client_with_cookie(app, value).get("/review", follow_redirects=False).status_code == 200
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer("not the key", salt="sprout-console-session").dumps(
        {"u": REVIEWER, "l": "en", "c": "x"})
    tampered = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    for cookie in (forged, tampered):
        assert client_with_cookie(app, cookie).get("/review", follow_redirects=False).status_code == 303


def client_with_cookie(app, cookie: str) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1:8088", cookies={"sprout_console": cookie})


def test_the_signing_key_is_generated_0600_in_the_data_folder(console):
    runtime, _ = console
    path = runtime.settings.web_secret_path
    assert path.exists() and (os.stat(path).st_mode & 0o777) == 0o600


# Review: four eyes, escaping, previews ---------------------------------------------------------------------------


def test_an_author_cannot_approve_or_publish_their_own_change(console):
    runtime, app = console
    pid = proposal_by(runtime, REVIEWER)
    client = client_for(app, REVIEWER, runtime)
    page = client.get(f"/review/{pid}")
    assert "another reviewer has to approve" in page.text
    csrf = csrf_of(page.text)
    for action in ("approve", "publish"):
        response = client.post(f"/review/{pid}/{action}", data={"csrf": csrf})
        assert response.status_code == 409 and "someone else has to review it" in response.text
    assert Workflow(runtime.db, runtime.clock).get(pid).state == "in_review"
    assert runtime.db.execute("select count(*) from proposal_reviews").fetchone()[0] == 0


def test_a_script_in_an_entry_body_is_escaped_in_the_console_and_in_the_bots_html(console):
    runtime, app = console
    entry = flying_entry()
    body = entry.texts["en"].body + f"\n\n{SCRIPT}"
    pid = proposal_by(runtime, CURATOR, texts={**entry.texts, "en": replace(entry.texts["en"], body=body)})
    page = client_for(app, REVIEWER, runtime).get(f"/review/{pid}")
    assert page.status_code == 200
    assert SCRIPT not in page.text
    assert "&lt;script&gt;alert(" in page.text  # shown as text in the side-by-side and the local chat preview
    from bot.web.app import Console

    telegram = Console(runtime).previews(Workflow(runtime.db, runtime.clock).get(pid).entry)["en"]["telegram"]
    assert any("&lt;script&gt;" in part for part in telegram)
    assert not any("<script" in part for part in telegram)
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_request_changes_needs_a_comment_and_sends_a_new_entry_back_to_draft(console):
    runtime, app = console
    pid = proposal_by(runtime, CURATOR)
    client = client_for(app, REVIEWER, runtime)
    csrf = csrf_of(client.get(f"/review/{pid}").text)
    assert client.post(f"/review/{pid}/changes", data={"csrf": csrf, "comment": "  "}).status_code == 409
    assert client.post(f"/review/{pid}/changes", data={"csrf": csrf, "comment": "Say why"}).status_code == 200
    workflow = Workflow(runtime.db, runtime.clock)
    assert workflow.get(pid).state == "rejected" and workflow.get(pid).note == "Say why"
    assert workflow.store.get(flying_entry().id).status == "draft"
    assert [r["verdict"] for r in workflow.reviews(pid)] == ["changes"]


def test_publishing_writes_the_content_file_and_the_rows_together(console):
    runtime, app = console
    pid = proposal_by(runtime, CURATOR, **DEVELOPMENT)
    entry_id = DEVELOPMENT["id"]
    path = runtime.settings.content_dir / "guidance" / DEVELOPMENT["topic"] / f"{entry_id}.md"
    assert parse_entry(path.read_text("utf-8"), "x")[0].status == "in_review"  # the new entry's file, on saving
    client = client_for(app, REVIEWER, runtime)
    csrf = csrf_of(client.get(f"/review/{pid}").text)
    assert client.post(f"/review/{pid}/approve", data={"csrf": csrf}).status_code == 200
    assert client.post(f"/review/{pid}/publish", data={"csrf": csrf}).status_code == 200
    on_disk, problems = parse_entry(path.read_text("utf-8"), str(path))
    assert on_disk.status == "published" and on_disk.reviewer == f"tg:{REVIEWER}"
    assert not [p for p in problems if p.level == "error"]
    row = runtime.db.execute("select status, file_hash from entries where id = ?", [entry_id]).fetchone()
    assert row == ("published", on_disk.content_hash)  # a restart's content sync sees nothing new


def test_publishing_a_health_entry_without_red_flags_is_refused_by_the_file_validator(console):
    runtime, app = console
    pid = proposal_by(runtime, CURATOR)
    path = runtime.settings.content_dir / "guidance" / "health" / f"{flying_entry().id}.md"
    before = path.read_bytes()
    client = client_for(app, REVIEWER, runtime)
    response = client.post(f"/review/{pid}/publish", data={"csrf": csrf_of(client.get(f"/review/{pid}").text)})
    assert response.status_code == 409 and "needs red_flags before it is published" in response.text
    assert path.read_bytes() == before
    assert Workflow(runtime.db, runtime.clock).get(pid).state == "in_review"


def test_a_publish_whose_commit_fails_leaves_the_old_file(console, monkeypatch):
    runtime, app = console
    pid = proposal_by(runtime, CURATOR, **DEVELOPMENT)
    path = runtime.settings.content_dir / "guidance" / DEVELOPMENT["topic"] / f"{DEVELOPMENT['id']}.md"
    before = path.read_bytes()
    workflow = Workflow(runtime.db, runtime.clock, content_dir=runtime.settings.content_dir)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(workflow, "_decide_rows", broken)
    with pytest.raises(RuntimeError):
        workflow.publish(pid, f"tg:{REVIEWER}", runtime.clock().date())
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".*.tmp"))
    assert workflow.store.get(DEVELOPMENT["id"]).status == "in_review"


# The other pages -------------------------------------------------------------------------------------------------


def test_the_editor_refuses_what_content_validate_refuses_and_names_the_problem(console):
    runtime, app = console
    client = client_for(app, CURATOR, runtime)
    csrf = csrf_of(client.get("/editor").text)
    response = client.post("/editor", data={
        "csrf": csrf, "action": "save", "topic": "health", "age_min": "0", "age_max": "12", "sources": "",
        "en_title": "Hi", "en_body": "short", "en_questions": "one", "zh_title": "", "zh_body": "", "zh_questions": ""})
    assert response.status_code == 422
    assert "too short" in response.text and "sources are needed" in response.text
    assert runtime.db.execute("select count(*) from proposals").fetchone()[0] == 0


@pytest.mark.parametrize("lang,expected", [("en", "Review queue"), ("zh", "审核队列")])
def test_the_console_speaks_english_and_chinese(console, lang, expected):
    runtime, app = console
    client = client_for(app, REVIEWER, runtime)
    csrf = csrf_of(client.get("/review").text)
    client.post("/language", data={"csrf": csrf, "lang": lang, "next": "/review"})
    page = client.get("/review")
    assert f"<h1>{expected}</h1>" in page.text


def test_stats_draws_questions_per_day_as_svg(console):
    runtime, app = console
    runtime.answerer.answer("how do I wean my baby off the dummy", "en")
    page = client_for(app, REVIEWER, runtime).get("/stats")
    assert page.status_code == 200 and "<svg" in page.text and "Questions per day" in page.text


def test_try_a_message_shows_triage_and_retrieval(console):
    runtime, app = console
    client = client_for(app, CURATOR, runtime)
    page = client.get("/redflags")
    assert "not_breathing" in page.text
    response = client.post("/redflags", data={"csrf": csrf_of(page.text), "message": "my baby is not breathing",
                                              "lang": ""})
    assert "emergency" in response.text and "not_breathing" in response.text
    logged = runtime.db.execute("select count(*) from question_log where question like '%breathing%'").fetchone()[0]
    assert logged == 0  # trying a message is not a parent's question


def test_services_import_is_a_dry_run_first_then_a_commit(console):
    runtime, app = console
    client = client_for(app, REVIEWER, runtime)
    csrf = csrf_of(client.get("/services").text)
    before = runtime.db.execute("select count(*) from services").fetchone()[0]
    csv = ("id,type,lat,lon,name_en,name_zh,registration\n"
           "web-1,private,31.2,121.4,Little Sprouts,小芽托育,registered\n"
           "web-2,nonsense,31.2,121.4,Bad Row,坏行,registered\n").encode()
    dry = client.post("/services/import", data={"csrf": csrf, "action": "dry_run"},
                      files={"file": ("centres.csv", csv, "text/csv")})
    assert dry.status_code == 200 and "nothing written yet" in dry.text and "line 3" in dry.text
    assert runtime.db.execute("select count(*) from services").fetchone()[0] == before
    upload = dry.text.split('name="upload" value="')[1].split('"')[0]
    done = client.post("/services/import", data={"csrf": csrf, "action": "commit", "upload": upload})
    assert "Imported" in done.text
    assert runtime.db.execute("select count(*) from services").fetchone()[0] == before + 1
    found = client.get("/services?q=Little+Sprouts")
    assert "web-1" in found.text
    edited = client.post("/services/web-1", data={"csrf": csrf, "phone": "021-12345678", "type": "private",
                                                  "lat": "31.2", "lon": "121.4", "registration": "pending"})
    assert edited.status_code == 200, edited.text
    assert runtime.db.execute("select registration, phone from services where id = 'web-1'").fetchone() == \
        ("pending", "021-12345678")


def test_an_announcement_is_previewed_with_its_audience_then_queued_through_the_ledger(console):
    from datetime import date

    from tipshelpers import subscribed_child

    runtime, app = console
    parent, _ = subscribed_child(runtime.db, "tg:7001", date(2026, 5, 1), runtime.clock(), chat_id=7001)
    subscribed_child(runtime.db, "tg:7002", date(2024, 1, 1), runtime.clock(), chat_id=7002)  # 34 months
    client = client_for(app, REVIEWER, runtime)
    csrf = csrf_of(client.get("/announcements").text)
    preview = client.post("/announcements", data={
        "csrf": csrf, "region": "", "band": "4-6", "en": "The clinic is closed on Friday for training.",
        "zh": "诊所周五培训，停诊一天。"})
    assert preview.status_code == 200 and "It goes to 1 subscribers" in preview.text
    aid = runtime.db.execute("select max(id) from announcements").fetchone()[0]
    when = runtime.clock() + timedelta(days=1)
    for _ in range(2):  # a second press queues nobody twice
        sent = client.post(f"/announcements/{aid}/send", data={"csrf": csrf, "when": when.strftime("%Y-%m-%dT%H:%M")})
        assert sent.status_code == 200
    rows = runtime.db.execute("select dedupe_key, due_at, state from deliveries where kind = 'announcement'").fetchall()
    assert rows == [(f"announcement:{aid}:{parent.id}", when.strftime("%Y-%m-%dT%H:%M:00Z"), "pending")]


def test_the_audit_log_page_shows_who_did_what(console):
    runtime, app = console
    client = client_for(app, REVIEWER, runtime)
    page = client.get("/audit")
    assert "web_signin_link" in page.text and f"tg:{REVIEWER}" in page.text


def test_the_bot_sends_a_sign_in_link_on_web_to_a_curator_in_private_only(console):
    from bot.messages import Incoming

    runtime, app = console
    private = runtime.engine.handle(Incoming(f"tg:{CURATOR}", chat_id=CURATOR, text="/web", command="web",
                                             telegram_user_id=CURATOR))
    url = next(word for reply in private for word in reply.text.split() if "/signin/link/" in word)
    assert url.startswith("http://127.0.0.1:8088/signin/link/")
    group = runtime.engine.handle(Incoming(f"tg:{CURATOR}", chat_id=-5, text="/web", command="web",
                                           telegram_user_id=CURATOR, private=False))
    assert "/signin/link/" not in " ".join(r.text for r in group)
    token = url.rsplit("/", 1)[1]
    client = client_for(app)
    page = client.get(f"/signin/link/{token}")
    assert client.post(f"/signin/link/{token}", data={"csrf": csrf_of(page.text)}, follow_redirects=False
                       ).status_code == 303


# Settings and the command line ----------------------------------------------------------------------------------


def test_web_settings_default_to_loopback_and_are_checked():
    from knowledge.settings import SettingsError, load_settings

    default = load_settings({})
    assert (default.web_enabled, default.web_listen, default.web_base_url) == (False, "127.0.0.1",
                                                                                "http://127.0.0.1:8088")
    configured = load_settings({"SPROUT_WEB": "1", "SPROUT_WEB_PORT": "9000", "SPROUT_WEB_LINK_MINUTES": "5",
                                "SPROUT_WEB_URL": "https://console.example.org/"})
    assert (configured.web_enabled, configured.web_port, configured.web_link_minutes) == (True, 9000, 5)
    assert configured.web_base_url == "https://console.example.org"
    for name, value in (("SPROUT_WEB", "maybe"), ("SPROUT_WEB_PORT", "0"), ("SPROUT_WEB_URL", "ftp://x"),
                        ("SPROUT_WEB_LINK_MINUTES", "600")):
        with pytest.raises(SettingsError, match=name):
            load_settings({name: value})


def test_curators_add_sets_a_password_only_for_staff(tmp_path):
    from click.testing import CliRunner

    from bot.cli import cli
    from knowledge.db import open_database

    env = {"SPROUT_DATA_DIR": str(tmp_path), "SPROUT_REVIEWER_IDS": str(REVIEWER)}
    refused = CliRunner().invoke(cli, ["curators", "add", str(PARENT), "--password"], env=env,
                                 input="a long enough password\na long enough password\n")
    assert refused.exit_code == 1 and "not a curator or reviewer" in refused.output
    short = CliRunner().invoke(cli, ["curators", "add", str(REVIEWER), "--password"], env=env, input="short\nshort\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    done = CliRunner().invoke(cli, ["curators", "add", str(REVIEWER), "--password"], env=env,
                              input="a long enough password\na long enough password\n")
    assert done.exit_code == 0, done.output
    db = open_database(tmp_path / "sprout.db")
    try:
        assert db.execute("select telegram_id from staff_passwords").fetchall() == [(REVIEWER,)]
        assert "a long enough password" not in db.execute("select hash from staff_passwords").fetchone()[0]
    finally:
        db.conn.close()


def test_sprout_run_with_sprout_web_starts_the_console_beside_the_bot_on_loopback(console):
    import socket
    import threading

    import httpx

    from bot.cli_web import start_console_beside

    runtime, _ = console
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runtime.settings = replace(runtime.settings, web_port=port)
    server, thread = start_console_beside(runtime)
    try:
        waiting = threading.Event()
        while thread.is_alive() and not server.started:
            waiting.wait(0.05)  # the socket opening, not time passing
        response = httpx.get(f"http://127.0.0.1:{port}/signin")
        assert response.status_code == 200 and "Sign in" in response.text
        assert server.config.host == "127.0.0.1"
    finally:
        server.should_exit = True
        thread.join()


def test_a_health_entry_with_red_flags_typed_in_the_editor_is_published_with_them(console):
    runtime, app = console
    entry = flying_entry()
    fields = {"topic": "health", "age_min": "0", "age_max": "36",
              "sources": "NHS | Travelling with children | https://www.nhs.uk/conditions/travel-vaccines/ | 2023",
              "red_flags": "emergency | Struggling to breathe | 呼吸困难\ntoday | Ear pain with a fever | 耳朵疼并发烧 | 0-12",
              **{f"{lang}_{field}": (getattr(entry.texts[lang], field) if field != "questions"
                                     else "\n".join(entry.texts[lang].questions))
                 for lang in ("en", "zh") for field in ("title", "body", "questions")}}
    author = client_for(app, CURATOR, runtime)
    saved = author.post("/editor", data={"csrf": csrf_of(author.get("/editor").text), "action": "save", **fields},
                        follow_redirects=False)
    assert saved.status_code == 303, saved.text
    pid = int(saved.headers["location"].rsplit("/", 1)[1])
    reviewer = client_for(app, REVIEWER, runtime)
    published = reviewer.post(f"/review/{pid}/publish", data={"csrf": csrf_of(reviewer.get(f"/review/{pid}").text)})
    assert published.status_code == 200
    stored = Workflow(runtime.db, runtime.clock).store.get(Workflow(runtime.db, runtime.clock).get(pid).entry_id)
    assert stored.status == "published"
    assert [(f.when, f.texts["zh"], f.ages) for f in stored.red_flags] == [
        ("emergency", "呼吸困难", None), ("today", "耳朵疼并发烧", (0.0, 12.0))]


def test_the_editor_shows_an_entrys_red_flags_so_saving_it_unchanged_keeps_them(console):
    import html as html_lib
    import re

    runtime, app = console
    current = next(e for e in Workflow(runtime.db, runtime.clock).store.published() if e.red_flags)
    client = client_for(app, CURATOR, runtime)
    page = client.get(f"/editor?entry={current.id}").text
    fields = {name: html_lib.unescape(value) for name, value in
              re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S)}
    fields.update({name: html_lib.unescape(value) for name, value in
                   re.findall(r'<input id="[^"]+" name="([^"]+)"[^>]*value="([^"]*)"', page)})
    fields["topic"] = current.topic
    check = client.post("/editor/check", data={"csrf": csrf_of(page), "entry_id": current.id, **fields}).json()
    assert check["problems"] == []
    saved = client.post("/editor", data={"csrf": csrf_of(page), "entry_id": current.id, "action": "save", **fields},
                        follow_redirects=False)
    assert saved.status_code == 303, saved.text
    proposal = Workflow(runtime.db, runtime.clock).get(int(saved.headers["location"].rsplit("/", 1)[1]))
    assert proposal.kind == "edit" and proposal.entry.red_flags == current.red_flags
    assert proposal.entry.texts == current.texts and proposal.entry.sources == current.sources
