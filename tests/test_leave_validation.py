"""`sprout content validate` rules for content/policies/leave.yaml: every figure has its article, every region that
gives figures has a revision date and the URL of the text (not a home page), every unknown figure has a note."""

from __future__ import annotations

import shutil

import pytest
import yaml

from knowledge.leave import document_url_problem, load_leave
from knowledge.settings import REPO_ROOT


def write(tmp_path, edit):
    (tmp_path / "policies").mkdir()
    data = yaml.safe_load((REPO_ROOT / "content" / "policies" / "leave.yaml").read_text(encoding="utf-8"))
    edit(data)
    (tmp_path / "policies" / "leave.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_leave(tmp_path)


def region(data, code):
    return next(r for r in data["regions"] if r["code"] == code)


def messages(problems):
    return "\n".join(str(p) for p in problems)


def test_the_shipped_file_is_valid(tmp_path):
    policies, problems = write(tmp_path, lambda data: None)
    assert policies is not None, messages(problems)


def test_a_figure_without_its_article_is_rejected(tmp_path):
    policies, problems = write(tmp_path, lambda d: region(d, "CN-BJ")["articles"].pop("paternity"))
    assert policies is None and "CN-BJ: paternity gives a figure but no article" in messages(problems)


def test_an_unknown_figure_without_a_note_is_rejected(tmp_path):
    policies, problems = write(tmp_path, lambda d: region(d, "CN-HE")["notes"].pop("childcare"))
    assert policies is None and "CN-HE: childcare is unknown (null) and needs a note" in messages(problems)


def test_a_region_with_figures_and_no_revision_date_is_rejected(tmp_path):
    policies, problems = write(tmp_path, lambda d: region(d, "CN-SH").pop("revision"))
    assert policies is None and "CN-SH: needs the date of the revision" in messages(problems)


def test_a_region_with_figures_and_no_document_url_is_rejected(tmp_path):
    policies, problems = write(tmp_path, lambda d: region(d, "CN-SH")["source"].update(url=None))
    assert policies is None and "CN-SH: needs a source with publisher and title, year and the url" in messages(problems)


@pytest.mark.parametrize("url", ["https://flk.npc.gov.cn/", "https://www.jiangsu.gov.cn", "flk.npc.gov.cn/x"])
def test_a_source_url_that_is_a_home_page_or_not_a_link_is_rejected(tmp_path, url):
    policies, problems = write(tmp_path, lambda d: region(d, "CN-GD")["source"].update(url=url))
    assert policies is None and "CN-GD:" in messages(problems) and repr(url) in messages(problems)


def test_the_national_source_must_not_be_a_home_page(tmp_path):
    policies, problems = write(tmp_path, lambda d: d["national"]["source"].update(url="https://www.gov.cn/"))
    assert policies is None and "national baseline: source url" in messages(problems)


def test_an_unchecked_region_cannot_give_figures(tmp_path):
    def edit(d):
        row = region(d, "CN-AH")
        row.update(paternity_leave_days=30)
        row["articles"] = {"paternity": "第X条"}
    policies, problems = write(tmp_path, edit)
    assert policies is None and "CN-AH: is marked checked: false" in messages(problems)


def test_a_name_used_by_two_regions_is_rejected(tmp_path):
    policies, problems = write(tmp_path, lambda d: region(d, "CN-GX")["aliases"].append("粤"))
    assert policies is None and "'粤' is already used by CN-GD" in messages(problems)


@pytest.mark.parametrize("url, ok", [
    ("https://www.shanghai.gov.cn/a/b.html", True), ("https://law.moj.gov.tw/LawClass/LawAll.aspx?pcode=N0030014", True),
    ("https://www.gov.cn/", False), ("https://www.gov.cn", False), ("ftp://x.org/a", False), ("", False),
])
def test_document_urls_must_name_a_page(url, ok):
    assert (document_url_problem(url) is None) is ok


def test_content_validate_reports_a_leave_problem(tmp_path):
    from click.testing import CliRunner
    from bot.cli import cli

    content = tmp_path / "content"
    shutil.copytree(REPO_ROOT / "content", content, ignore=shutil.ignore_patterns("eval"))
    path = content / "policies" / "leave.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("    paternity: 第十九条\n", "", 1), encoding="utf-8")
    result = CliRunner().invoke(cli, ["content", "validate"], env={"SPROUT_CONTENT_DIR": str(content)})
    assert result.exit_code != 0
    assert "content/policies/leave.yaml" in result.output and "CN-BJ: paternity gives a figure" in result.output
