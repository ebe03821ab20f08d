"""Every source links the document that supports the claim: a site's home page (root, index page or language
root) is refused in entries, the milestone checklists and the leave data, and no shipped file cites one."""

import shutil
from datetime import date
from pathlib import Path

import pytest

from knowledge.bundle import load_knowledge
from knowledge.content import parse_entry, site_root_url
from knowledge.leave import load_leave
from knowledge.milestones import load_milestones
from test_content_format import GOOD

CONTENT = Path(__file__).resolve().parent.parent / "content"
NHS_PAGE = "https://www.nhs.uk/baby/weaning-and-feeding/foods-to-avoid-giving-babies-and-young-children/"


@pytest.mark.parametrize("url", [
    "https://www.nhc.gov.cn/", "https://www.nhc.gov.cn", "http://www.nhc.gov.cn/index.html", "https://www.who.int/zh/",
    "https://www.who.int/en", "https://www.gov.uk/english/", "https://www.chinacdc.cn/zh-cn/index.shtml",
    "https://flk.npc.gov.cn/", "https://www.nhc.gov.cn/new_index.shtml", "https://dg.cnsoc.org/default.aspx",
])
def test_home_pages_and_language_roots_are_site_roots(url):
    assert site_root_url(url)


@pytest.mark.parametrize("url", [
    NHS_PAGE, "https://www.cdc.gov/act-early/milestones/index.html", "https://doi.org/10.1542/peds.2021-052138",
    "https://www.gov.cn/zhengce/zhengceku/2020-08/01/content_5531915.htm", "https://www.who.int/zh/news-room/fact-sheets",
    "https://flk.npc.gov.cn/detail2.html?ZmY4MDgxODE3ZjA3MDQ0NDAxN2YzMDNlN2E0NzAwNWM",
])
def test_document_addresses_are_not_site_roots(url):
    assert not site_root_url(url)


def test_an_entry_citing_a_home_page_is_an_error_on_the_url_line():
    text = GOOD.replace(NHS_PAGE, "https://www.nhc.gov.cn/")
    entry, problems = parse_entry(text, "content/guidance/feeding/feeding-test-entry.md")
    assert entry is None
    found = [p for p in problems if "home page" in p.message]
    assert found and found[0].level == "error" and found[0].line == 11, problems


def _copy(tmp_path, *parts):
    target = tmp_path / "content"
    for part in parts:
        (target / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CONTENT / part, target / part)
    return target


def test_a_milestone_source_that_is_a_home_page_is_an_error(tmp_path):
    content = _copy(tmp_path, "milestones/milestones.yaml")
    path = content / "milestones" / "milestones.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('url: "https://www.cdc.gov/act-early/milestones/index.html"',
                                 'url: "https://www.cdc.gov/"', 1), encoding="utf-8")
    _, problems = load_milestones(content)
    assert any("home page" in p.message and p.level == "error" for p in problems), problems


def test_a_leave_source_that_is_a_home_page_is_an_error(tmp_path):
    content = _copy(tmp_path, "policies/leave.yaml")
    path = content / "policies" / "leave.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("url:") and i > 20)
    lines[index] = lines[index].split("url:")[0] + "url: https://www.gov.cn/"
    path.write_text("\n".join(lines), encoding="utf-8")
    _, problems = load_leave(content)
    assert [p.line for p in problems if "home page" in p.message] == [index + 1], problems


def test_no_shipped_file_cites_a_home_page():
    _, problems = load_knowledge(CONTENT, date(2026, 11, 20))
    assert [str(p) for p in problems if "home page" in p.message] == []
