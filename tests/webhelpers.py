"""Shared by the web console tests: a runtime over a private copy of the content and the session's built index,
and signing in through the real routes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from knowledge.settings import REPO_ROOT, Settings
from retrievalhelpers import copy_data

CONTENT_DIR = REPO_ROOT / "content"
CURATOR, REVIEWER, REVIEWER_2, PARENT = 501, 601, 602, 900


def console_settings(base: Path, built_index: Path, **extra) -> Settings:
    """Settings over `base`: the built database and index copied in, and the content copied too, because the
    console writes content files when it publishes."""
    copy_data(built_index, base)
    shutil.copytree(CONTENT_DIR, base / "content", ignore=shutil.ignore_patterns("eval"))
    return Settings(data_dir=base, db_path=base / "sprout.db", content_dir=base / "content",
                    curator_ids=frozenset({CURATOR}), reviewer_ids=frozenset({REVIEWER, REVIEWER_2}),
                    **{"web_port": 8088, **extra})


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def sign_in(client, runtime, telegram_id: int) -> None:
    """Sign in the way a curator does: a link the bot issued, opened, then its button pressed."""
    from knowledge.web_access import issue_link

    token = issue_link(runtime.db, runtime.settings, telegram_id, runtime.clock())
    page = client.get(f"/signin/link/{token}")
    assert page.status_code == 200
    response = client.post(f"/signin/link/{token}", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert response.status_code == 303, response.text
