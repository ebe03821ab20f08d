"""Urgency for the mother: entries about her health after birth (content/postnatal.yaml) need structured red flags,
including pre-eclampsia signs and a painful swollen calf at `today` or `emergency`."""

import shutil
from pathlib import Path

from knowledge.content import load_entries, postnatal_problems

CONTENT = Path(__file__).resolve().parent.parent / "content"
ENTRY = "wellbeing/wellbeing-confinement-diet-brown-sugar-water"


def _content(tmp_path, red_flags: str | None):
    content = tmp_path / "content"
    (content / "guidance" / "wellbeing").mkdir(parents=True)
    text = (CONTENT / "guidance" / f"{ENTRY}.md").read_text(encoding="utf-8")
    start = text.index("\nred_flags:\n") + 1
    end = text.index("\nen:\n", start) + 1
    text = text[:start] + (red_flags or "") + text[end:]
    (content / "guidance" / f"{ENTRY}.md").write_text(text, encoding="utf-8")
    (content / "postnatal.yaml").write_text(
        "signs:\n  pre-eclampsia: \"headache|blurred vision\"\n  blood-clot: \"\\\\bcalf\\\\b\"\n"
        "entries:\n  - {id: wellbeing-confinement-diet-brown-sugar-water, needs: [pre-eclampsia, blood-clot]}\n",
        encoding="utf-8")
    entries, problems = load_entries(content)
    assert [p for p in problems if p.level == "error"] == []
    return content, entries


def test_a_postnatal_wellbeing_entry_without_red_flags_is_an_error(tmp_path):
    content, entries = _content(tmp_path, None)
    problems = postnatal_problems(content, entries)
    # a draft is warned; the same entry published is an error
    assert [(p.level, "needs red_flags" in p.message) for p in problems] == [("warning", True)]
    published = [e.__class__(**{**e.__dict__, "status": "published"}) for e in entries]
    assert [p.level for p in postnatal_problems(content, published)] == ["error"]


def test_pre_eclampsia_and_a_swollen_calf_as_plain_advice_are_not_enough(tmp_path):
    content, entries = _content(tmp_path, "red_flags:\n  - when: within_24h\n    en: \"Severe headache or blurred vision\"\n"
                                          "    zh: \"剧烈头痛或视物模糊\"\n")
    messages = [p.message for p in postnatal_problems(content, entries)]
    assert any("pre-eclampsia" in m for m in messages) and any("blood-clot" in m for m in messages), messages


def test_the_shipped_postnatal_entries_carry_their_urgent_signs():
    entries, _ = load_entries(CONTENT)
    assert postnatal_problems(CONTENT, entries) == []
    assert "wellbeing-looking-after-yourself-after-birth" in (CONTENT / "postnatal.yaml").read_text(encoding="utf-8")
