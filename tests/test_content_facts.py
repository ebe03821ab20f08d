"""The key-facts table: a tip, checklist or entry line that contradicts a reviewed fact is an error with its
path:line, in either language; the same subject with different age limits across files is a warning."""

import shutil
from datetime import date
from pathlib import Path

import pytest

from knowledge.bundle import load_knowledge
from knowledge.facts import contradiction_problems, facts_problems, load_facts, threshold_problems

CONTENT = Path(__file__).resolve().parent.parent / "content"
FACTS, FACT_PROBLEMS = load_facts(CONTENT)


def contradicted(text: str) -> set[str]:
    return {p.message.split("'")[1] for p in contradiction_problems(FACTS, [("x.md", 1, text)])}


def test_the_shipped_facts_table_loads_cleanly_and_every_fact_has_a_document_source():
    assert FACT_PROBLEMS == []
    assert {f.id for f in FACTS} >= {"whole-nuts", "honey", "cows-milk-main-drink", "water-for-babies",
                                     "formula-leftovers", "breast-milk-storage", "screen-time", "car-seat-rear-facing",
                                     "dummy-clips", "teething-foods", "speech-36-months"}
    assert all(f.source["url"].startswith("https://") for f in FACTS)


@pytest.mark.parametrize("text, fact", [
    # the formula text the fact-check found (issue 18), in both languages
    ("- Throw away any formula left 2 hours after the feed.", "formula-leftovers"),
    ("- 喂奶后超过2小时剩下的奶要倒掉。", "formula-leftovers"),
    # the tip that said under 3
    ("Whole nuts must never be given to children under 3.", "whole-nuts"),
    ("整粒坚果绝对不能给3岁以下的孩子吃。", "whole-nuts"),
    ("A little honey is fine from 6 months.", "honey"),
    ("蜂蜜8个月以后就可以少量吃。", "honey"),
    ("Children under 2 can have up to 1 hour of screen time a day.", "screen-time"),
    ("You can turn the seat forward-facing at 9 months.", "car-seat-rear-facing"),
    ("Use a short clip made for dummies.", "dummy-clips"),
    ("请用专用的短奶嘴夹。", "dummy-clips"),
    ("A frozen teething ring numbs the gums.", "teething-foods"),
    ("出牙时可以给他啃生胡萝卜条。", "teething-foods"),
    ("By 3 they can be understood by familiar adults most of the time.", "speech-36-months"),
    ("熟悉的大人大多能听懂他的话。", "speech-36-months"),
    ("Thawed breast milk can be refrozen once.", "breast-milk-storage"),
])
def test_contradicting_statements_are_caught(text, fact):
    assert fact in contradicted(text)


@pytest.mark.parametrize("text", [
    "- Throw away any formula left in the bottle after a feed; use it within 2 hours of making it.",
    "- 每次喂完后瓶里剩下的奶都要倒掉，不要留到下一顿。",
    "Never give whole nuts or peanuts to children under 5: they can choke on them.",
    "Do not give honey to a baby under 12 months.",
    "Use a short clip made for dummies, only while your baby is awake, never for sleep.",
    "Offer a firm rubber teething ring, chilled in the fridge (not the freezer).",
    "给硬一些的橡胶牙胶，放冰箱冷藏（不要冷冻）。",
    "Raw apple and carrot sticks are risky for babies.",
    "Never refreeze breast milk once it has thawed.",
    "解冻过的母乳不能再次冷冻。",
    "Talks well enough for others to understand, most of the time.",
    "Use a clip-on parasol or sunshade instead.",
])
def test_agreeing_statements_pass(text):
    assert contradicted(text) == set()


def test_a_tip_with_the_old_nut_age_is_reported_with_its_path_and_line(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content, ignore=shutil.ignore_patterns("eval", "services"))
    tips = content / "tips" / "tips.yaml"
    lines = tips.read_text(encoding="utf-8").split("\n")
    index = next(i for i, line in enumerate(lines) if "whole nuts" in line.lower())
    lines[index] = lines[index].replace("children under 5", "children under 3")
    tips.write_text("\n".join(lines), encoding="utf-8")
    found = [p for p in facts_problems(content) if p.path.endswith("tips/tips.yaml")]
    errors = [p for p in found if p.level == "error"]
    assert [(p.line, "whole-nuts" in p.message) for p in errors] == [(index + 1, True)], found
    # and the generic rule sees the same subject with a different age than the entries give
    assert any(p.level == "warning" and p.line == index + 1 and "36 months" in p.message for p in found)


def test_different_age_limits_for_one_subject_across_files_are_a_warning():
    lines = [("a.md", 3, "Do not give whole nuts to children under 5."),
             ("b.yaml", 7, "No whole nuts under 4 years.")]
    problems = threshold_problems(FACTS, lines)
    assert [(p.path, p.line, p.level) for p in problems] == [("b.yaml", 7, "warning")]


def test_content_validate_runs_the_check():
    _, problems = load_knowledge(CONTENT, date(2026, 11, 20), thorough=True)
    assert not [p for p in problems if "key fact" in p.message]
