"""The web console in a real browser: Debian's Chromium driven by Playwright against a real uvicorn server on a
free loopback port, on a private copy of the content and the session's built index. The journeys a community
worker makes; the refusals are in test_web_console.py. Screenshots of the main pages at desktop and phone width
go to var/test-artifacts/web/ (not committed)."""

from __future__ import annotations

import shutil
import socket
import threading
from dataclasses import replace

import pytest

from knowledge.settings import REPO_ROOT
from webhelpers import CURATOR, REVIEWER, console_settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "var" / "test-artifacts" / "web"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}
NEW_SENTENCE = "Console check: a warm bath and a song about pandas can be part of the routine."


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, built_index, shared_model, shared_parts):
    """The console over uvicorn in a thread, for the whole module."""
    import uvicorn

    from bot.web import create_app
    from bot.wiring import build_runtime

    base = tmp_path_factory.mktemp("web")
    settings = console_settings(base, built_index, web_port=free_port())
    runtime = build_runtime(settings, embedder_factory=lambda: shared_model, shared=shared_parts)
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=settings.web_port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ready = threading.Event()
    while thread.is_alive() and not server.started:
        ready.wait(0.05)  # waiting for the socket to open, not for time to pass
    assert server.started, "the console did not start"
    yield runtime
    server.should_exit = True
    thread.join()
    runtime.db.conn.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not (REPO_ROOT / CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


def base_url(runtime) -> str:
    return runtime.settings.web_base_url


def link_from_the_bot(runtime, telegram_id: int) -> str:
    """What a curator gets from /web in a private chat with the bot."""
    from bot.messages import Incoming

    replies = runtime.engine.handle(Incoming(f"tg:{telegram_id}", chat_id=telegram_id, text="/web", command="web",
                                             telegram_user_id=telegram_id))
    return next(word for reply in replies for word in reply.text.split() if "/signin/link/" in word)


def signed_in(browser, runtime, telegram_id: int, size: str = "desktop"):
    """A new browser context signed in by one-time link, with the button pressed from the keyboard."""
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.goto(link_from_the_bot(runtime, telegram_id))
    page.focus("#use-link")
    page.keyboard.press("Enter")
    page.wait_for_url("**/review")
    return context, page


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_curator_signs_in_with_the_link_the_bot_sent(server, browser):
    context, page = signed_in(browser, server, CURATOR)
    assert page.locator("h1").inner_text() == "Review queue"
    assert f"Curator {CURATOR}" in page.locator("header").inner_text()
    context.close()


def test_the_link_cannot_be_used_a_second_time(server, browser):
    url = link_from_the_bot(server, CURATOR)
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    page.click("#use-link")
    page.wait_for_url("**/review")
    second = browser.new_context()
    other = second.new_page()
    other.goto(url)
    other.click("#use-link")
    assert "already been used" in other.locator("[role=alert]").inner_text()
    other.goto(base_url(server) + "/review")
    assert other.url.endswith("/signin")
    second.close()
    context.close()


def test_an_edit_is_proposed_approved_by_another_reviewer_published_and_then_answered(server, browser,
                                                                                       shared_model, shared_parts):
    from knowledge.store import EntryStore

    store = EntryStore(server.db)
    entry = store.get("sleep-bedtime-routine") or next(e for e in store.published() if e.topic == "sleep")
    question = entry.texts["en"].questions[0]

    curator, page = signed_in(browser, server, CURATOR)
    page.goto(f"{base_url(server)}/editor?entry={entry.id}")
    body = page.locator("#en_body")
    body.fill(body.input_value() + "\n\n" + NEW_SENTENCE)
    live = page.wait_for_selector("#live-check.ok")  # checked while typing, by the server's validator
    assert "No problems found" in live.inner_text()
    page.fill("#en_title", "")
    assert "too short" in page.wait_for_selector("#live-check.error").inner_text()
    page.fill("#en_title", entry.texts["en"].title)
    page.click("#check")
    assert page.locator("#checked").is_visible()
    page.click("#save")
    page.wait_for_url("**/review/*")
    assert NEW_SENTENCE in page.locator(".diff").inner_text()
    proposal_url = page.url
    assert page.locator("#publish").count() == 0  # a curator does not publish
    curator.close()

    reviewer, page = signed_in(browser, server, REVIEWER)
    page.click(f"a[href='{proposal_url.split(base_url(server))[1]}'] >> nth=0")
    assert NEW_SENTENCE in page.locator(".preview-en").first.inner_text() or \
        NEW_SENTENCE in page.locator("pre.local").first.inner_text()
    shoot(page, "review-proposal-desktop")
    page.fill("#approve-comment", "Checked against the NHS page.")
    page.click("#approve")
    assert "approved" in page.locator("main").inner_text()
    page.click("#publish")
    page.wait_for_load_state()
    assert "published" in page.locator(".meta").first.inner_text()
    reviewer.close()

    # `sprout ask`'s engine, started afresh on the same data folder: content files synced, index checked.
    from bot.wiring import build_runtime, refresh_index
    from knowledge.bundle import load_valid_knowledge

    kb, _ = load_valid_knowledge(server.settings.content_dir, server.clock().date())
    fresh = build_runtime(server.settings, embedder_factory=lambda: shared_model, shared=replace(shared_parts, kb=kb))
    try:
        refresh_index(fresh)
        result = fresh.answerer.answer(question, "en", log_question=False)
        assert result.entry_id == entry.id
        assert NEW_SENTENCE in result.text + result.rest
    finally:
        fresh.db.conn.close()


def test_a_script_in_an_entry_body_never_runs_in_the_console(server, browser):
    from knowledge.curation import Workflow
    from test_curation_workflow import flying_entry

    entry = flying_entry(id="health-flying-script-check")
    texts = {**entry.texts, "en": replace(entry.texts["en"], body=entry.texts["en"].body +
                                          "\n\n<script>alert('x')</script><img src=x onerror=alert(2)>")}
    proposal = Workflow(server.db, server.clock, content_dir=server.settings.content_dir).propose(
        replace(entry, texts=texts), f"tg:{CURATOR}", origin="web")
    context, page = signed_in(browser, server, REVIEWER)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{base_url(server)}/review/{proposal.id}")
    assert "<script>alert('x')</script>" in page.locator(".preview-en").first.inner_text()
    assert page.locator("main script").count() == 0 and page.locator("main img").count() == 0
    assert dialogs == []
    context.close()


def test_a_parents_unanswered_question_shows_in_gaps_and_an_entry_written_from_it_closes_the_cluster(server,
                                                                                                     browser):
    from datetime import timedelta

    from knowledge.gaps import gap_questions

    question = "how do i register my baby for a library card"
    server.answerer.answer(question, "en")  # a parent asks; Sprout has no entry for it
    assert question in [q.text for q in gap_questions(server.db, server.clock() - timedelta(days=1))]

    curator, page = signed_in(browser, server, CURATOR)
    page.goto(f"{base_url(server)}/gaps")
    card = page.locator("li.card", has_text=question)
    assert card.count() == 1 and "open" in card.inner_text()
    shoot(page, "gaps-desktop")
    card.get_by_role("link", name="Write an entry for this").click()
    assert question in page.locator("#en_questions").input_value()
    page.select_option("#topic", "development")
    page.fill("#age_min", "0")
    page.fill("#age_max", "36")
    page.fill("#sources", "UNICEF | Reading to your baby | https://www.unicef.org/parenting/child-development/"
                          "reading-to-your-baby | 2023")
    page.fill("#en_title", "Library cards and books for babies")
    page.fill("#en_body", "Many public libraries let you join your baby as a member from birth. Ask at the desk "
                          "what they need; often a parent's document and an address are enough. Board books, "
                          "songs and rhyme times help babies learn words long before they talk.")
    page.fill("#en_questions", question + "\ncan a baby join the library\nwhen can my child get a library card")
    page.fill("#zh_title", "给宝宝办借书证")
    page.fill("#zh_body", "很多公共图书馆允许宝宝从出生起就办理借书证。到服务台问问需要什么材料，通常父母的证件和地址就够了。"
                          "纸板书、儿歌和童谣时间能帮助宝宝在会说话之前很久就开始学习词语。多和宝宝一起看书、说话和唱歌。")
    page.fill("#zh_questions", "宝宝可以办借书证吗\n怎么给宝宝办图书馆卡\n几岁可以办借书证")
    page.click("#save")
    page.wait_for_url("**/review/*")
    proposal_path = page.url.split(base_url(server))[1]
    curator.close()

    reviewer, page = signed_in(browser, server, REVIEWER, size="phone")
    page.goto(base_url(server) + proposal_path)
    shoot(page, "review-proposal-phone")
    page.click("#publish")
    page.wait_for_load_state()
    page.goto(f"{base_url(server)}/gaps")
    card = page.locator("li.card", has_text=question)
    assert "closed" in card.inner_text()
    shoot(page, "gaps-phone")
    reviewer.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_screenshots_of_the_main_pages(server, browser, size):
    context, page = signed_in(browser, server, REVIEWER, size=size)
    for path in ("/review", "/entries", "/stats", "/redflags", "/services", "/announcements", "/audit"):
        page.goto(base_url(server) + path)
        assert page.locator("h1").count() == 1
        # every form field has a label
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(el => !(el.labels && el.labels.length)).map(el => el.name)""")
        assert unlabelled == [], (path, unlabelled)
        shoot(page, f"{path.strip('/')}-{size}")
    context.close()
