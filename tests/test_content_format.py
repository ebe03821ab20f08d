"""The content format and validator, on good and broken entry files."""

import textwrap
from datetime import date
from pathlib import Path

import pytest
import yaml

from knowledge.content import find_doses, load_entries, parse_entry, parse_yaml, split_front_matter

GOOD = textwrap.dedent("""\
    ---
    id: feeding-test-entry
    topic: feeding
    age_months: [0, 12]
    status: published
    author: sprout-starter-pack
    review_by: 2027-11-20
    sources:
      - publisher: NHS
        title: Foods to avoid
        url: https://www.nhs.uk/baby/weaning-and-feeding/foods-to-avoid-giving-babies-and-young-children/
        year: 2023
    en:
      title: Honey before 12 months
      questions:
        - can my baby have honey
        - honey for a 7 month old
        - is honey ok
    zh:
      title: 一岁以内不要吃蜂蜜
      questions:
        - 宝宝可以吃蜂蜜吗
        - 七个月能喝蜂蜜水吗
        - 蜂蜜可以吃吗
    review:
      state: source-checked
      log:
        - date: 2026-11-18
          by: sprout-starter-pack
          did: wrote it from the NHS page
          outcome: drafted
        - date: 2026-11-20
          by: checker-a
          did: compared each claim with source 1
          against: [1]
          outcome: consistent
    ---
    ## en
    Do not give honey to a baby under 12 months.

    ## zh
    不要给 12 个月以下的宝宝吃蜂蜜。
    """)


def write(tmp_path, text, name="feeding-test-entry", topic="feeding"):
    folder = tmp_path / "content" / "guidance" / topic
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_entry_parses_with_both_languages():
    entry, problems = parse_entry(GOOD, "content/guidance/feeding/feeding-test-entry.md")
    assert problems == []
    assert entry.texts["en"].body.startswith("Do not give honey")
    assert entry.texts["zh"].title == "一岁以内不要吃蜂蜜"
    assert (entry.age_min, entry.age_max) == (0, 12)
    assert entry.sources[0].publisher == "NHS"


@pytest.mark.parametrize("change, message, line", [
    (("zh:\n  title: 一岁以内不要吃蜂蜜\n  questions:\n    - 宝宝可以吃蜂蜜吗\n    - 七个月能喝蜂蜜水吗\n    - 蜂蜜可以吃吗\n", ""),
     "missing language 'zh'", 31),
    (("age_months: [0, 12]", "age_months: [12, 48]"), "age_months must be [min, max]", 4),
    (("age_months: [0, 12]", "age_months: [10, 2]"), "age_months must be [min, max]", 4),
    (("sources:\n  - publisher: NHS\n    title: Foods to avoid\n    url: https://www.nhs.uk/baby/weaning-and-feeding/foods-to-avoid-giving-babies-and-young-children/\n    year: 2023\n",
      "sources: []\n"), "no source", 8),
    (("topic: feeding", "topic: cooking"), "unknown topic 'cooking'", 3),
    (("author: sprout-starter-pack", "author: sprout-starter-pack\nreviewer: x"), "replaced by the review log", 7),
    (("by: checker-a", "by: sprout-starter-pack"), "someone other than the author", 33),
    (("\n      against: [1]", ""), "which sources it compared", 32),
    (("against: [1]", "against: [2]"), "against lists the numbers (1-1)", 35),
    (("date: 2026-11-20", "date: 2026-13-45"), "date must be a date", 32),
    (("outcome: consistent", "outcome: looked fine"), "unknown outcome", 36),
    (("state: source-checked", "state: approved"), "state approved needs", 26),
    (("outcome: consistent", "outcome: approved"), "curator id", 33),
    (("state: source-checked", "state: signed"), "unknown review state", 26),
    (("  questions:\n    - can my baby have honey\n    - honey for a 7 month old\n    - is honey ok\n",
      "  questions:\n    - can my baby have honey\n"), "en.questions must list 3-6", 15),
    (("Do not give honey to a baby under 12 months.", "Give 5 mg per kg of paracetamol."), "medicine dose", 39),
])
def test_broken_entries_report_path_line_and_message(change, message, line):
    old, new = change
    assert old in GOOD
    entry, problems = parse_entry(GOOD.replace(old, new), "content/guidance/feeding/feeding-test-entry.md")
    assert entry is None
    matching = [p for p in problems if message in p.message]
    assert matching, problems
    assert matching[0].line == line
    assert str(matching[0]).startswith(f"content/guidance/feeding/feeding-test-entry.md:{line}: error: ")


def test_file_without_front_matter_is_an_error():
    entry, problems = parse_entry("just text", "x.md")
    assert entry is None and "front matter" in problems[0].message


def test_invalid_yaml_reports_its_line():
    entry, problems = parse_entry(GOOD.replace("topic: feeding", "topic: [feeding"), "x.md")
    assert entry is None and "not valid YAML" in problems[0].message
    assert problems[0].line == 4


def test_invalid_yaml_is_worded_as_pyyaml_words_it_even_with_libyaml():
    _, problems = parse_entry(GOOD.replace("status: published", "status: published\n  bad: indent"), "x.md")
    assert [(p.line, p.message) for p in problems] == [
        (6, "front matter is not valid YAML: mapping values are not allowed here")]


def test_dates_stay_text_with_the_fast_loader():
    data, _ = parse_yaml("reviewed: 2026-11-20\nwhen: 2026-11-20 09:00:00\ncount: 3\n")
    assert data == {"reviewed": "2026-11-20", "when": "2026-11-20 09:00:00", "count": 3}


def test_the_fast_loader_is_libyaml_when_pyyaml_has_it():
    from knowledge.content import _FastLoader

    assert issubclass(_FastLoader, yaml.CSafeLoader) == yaml.__with_libyaml__


def _shipped_yaml_documents() -> list[tuple[str, str]]:
    root = Path(__file__).resolve().parent.parent / "content"
    documents = [(str(path), split_front_matter(path.read_text(encoding="utf-8"))[0])
                 for path in sorted((root / "guidance").glob("*/*.md"))]
    for name in ("tips/tips.yaml", "milestones/milestones.yaml", "policies/leave.yaml", "regions.yaml"):
        documents.append((name, (root / name).read_text(encoding="utf-8")))
    return documents


def test_fast_and_pure_loaders_agree_on_every_shipped_file_and_line():
    from knowledge.content import _Loader, _compose_and_construct, _key_lines

    for name, text in _shipped_yaml_documents():
        fast_data, fast_node = parse_yaml(text)
        pure_data, pure_node = _compose_and_construct(text, _Loader)
        assert fast_data == pure_data, name
        assert _key_lines(fast_node) == _key_lines(pure_node), name


def test_duplicate_ids_are_reported(tmp_path):
    write(tmp_path, GOOD)
    write(tmp_path, GOOD.replace("topic: feeding", "topic: sleep"), topic="sleep")
    entries, problems = load_entries(tmp_path / "content")
    assert len(entries) == 1
    assert any("duplicate id" in p.message for p in problems)


def test_id_must_match_file_name(tmp_path):
    write(tmp_path, GOOD, name="other-name")
    _, problems = load_entries(tmp_path / "content")
    assert any("must match the file name" in p.message for p in problems)


def test_past_review_by_is_a_warning_not_an_error(tmp_path):
    from knowledge.bundle import stale_problems

    entry, _ = parse_entry(GOOD, "content/guidance/feeding/feeding-test-entry.md")
    warnings = stale_problems([entry], date(2028, 1, 1))
    assert warnings and warnings[0].level == "warning" and "stale" in warnings[0].message
    assert stale_problems([entry], date(2027, 1, 1)) == []


@pytest.mark.parametrize("text", ["give 2.5 ml of ibuprofen syrup", "15 mg/kg", "400 IU a day", "每公斤 10 毫克",
                                  "吃 5 毫升布洛芬"])
def test_doses_are_detected(text):
    assert find_doses(text)


@pytest.mark.parametrize("text", ["about 150 ml of formula per feed", "ask a pharmacist about the right dose",
                                  "babies under 6 months", "每天喝奶 500 毫升左右"])
def test_ordinary_amounts_are_not_doses(text):
    assert not find_doses(text)
