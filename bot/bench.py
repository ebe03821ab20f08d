"""Benchmarks that print JSON: index build, cold start, warm latency against a bare encode, triage cost, and the
sections other features add (tips planning, service search). Measured, never asserted in tests."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from knowledge.settings import Settings


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]  # noqa: E731
    return {"p50_ms": round(pick(0.5) * 1000, 3), "p95_ms": round(pick(0.95) * 1000, 3),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 3)}


def peak_rss_mb() -> float:
    """This process's own peak resident memory. Linux keeps `ru_maxrss` across exec, so a process started from a
    big one (the bench, after loading the model) would report its parent's size at fork; the high-water mark of
    the current address space (VmHWM) has no such inheritance."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def bench_questions(content_dir: Path, count: int) -> list[dict[str, Any]]:
    from retrieval.evaluate import read_jsonl

    items = [i for path in sorted((content_dir / "eval" / "retrieval").glob("*.jsonl")) for i in read_jsonl(path)]
    items = items or [{"question": "how much should my baby sleep", "lang": "en"}]
    return [items[i % len(items)] for i in range(count)]


def bench_retrieval(settings: Settings, questions: int = 500) -> dict[str, Any]:
    from bot.wiring import build_runtime, refresh_index

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        cold = replace(settings, data_dir=base, db_path=base / "bench.db")
        started = time.perf_counter()
        runtime = build_runtime(cold)
        report = refresh_index(runtime)
        out["index_build_cold_s"] = round(time.perf_counter() - started, 3)
        out["index_texts"] = report.texts
        # Warm cache: throw the index away but keep the embedding cache in the database.
        import shutil

        shutil.rmtree(cold.index_dir)
        runtime.db.execute("delete from search_fts")
        started = time.perf_counter()
        report = runtime.builder.build()
        runtime.live.reload()
        out["index_build_warm_cache_s"] = round(time.perf_counter() - started, 3)
        out["index_build_warm_cache_embedded"] = report.embedded

        # Edit one entry and rebuild (the model is already loaded, as in a running bot).
        from knowledge.store import EntryStore

        store = EntryStore(runtime.db)
        entry = store.published()[0]
        texts = dict(entry.texts)
        texts["en"] = replace(texts["en"], body=texts["en"].body + "\n\n(edited for the benchmark)")
        store.save(replace(entry, texts=texts), "bench", "edit")
        started = time.perf_counter()
        report = runtime.builder.build()
        runtime.live.reload()
        out["rebuild_after_one_edit_s"] = round(time.perf_counter() - started, 3)
        out["rebuild_after_one_edit_embedded"] = report.embedded

        items = bench_questions(settings.content_dir, questions)
        # The bare model, past the memo of recent question vectors: one encode of the question, as a bare
        # search would need.
        model = getattr(runtime.model(), "inner", runtime.model())
        for item in items[:20]:  # warm-up
            runtime.answerer.answer(item["question"], item.get("lang"), log_question=False)
            model.encode_query([item["question"]])
        bare, full = [], []
        for item in items:
            started = time.perf_counter()
            model.encode_query([item["question"]])
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            runtime.answerer.answer(item["question"], item.get("lang"), log_question=True)
            full.append(time.perf_counter() - started)
        out["warm_ask"] = {"questions": len(items), **_percentiles(full),
                           "throughput_per_s": round(len(full) / sum(full), 1)}
        out["bare_encode"] = _percentiles(bare)
        out["ratio_p50_vs_bare_encode"] = round(statistics.median(full) / statistics.median(bare), 3)
        out["ratio_p95_vs_bare_encode"] = round(out["warm_ask"]["p95_ms"] / out["bare_encode"]["p95_ms"], 3)
        runtime.db.conn.close()
    return out


def bench_cold_start(settings: Settings, runs: int = 3) -> dict[str, Any]:
    """A new process, from spawning the interpreter to its exit after printing the first answer (index already
    built), `runs` times; the median run's phases come from wall-clock marks the process writes to stderr."""
    question = "how much should a 6 month old sleep"
    samples = []
    for _ in range(runs):
        spawned = time.time()
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "bot.cli", "ask", question, "--json", "--timings"],
                              capture_output=True, text=True, env=None, check=False)
        seconds = time.perf_counter() - started
        samples.append((seconds, done, spawned))
    ordered = sorted(samples, key=lambda sample: sample[0])
    seconds, done, spawned = ordered[len(ordered) // 2]
    out: dict[str, Any] = {
        "cold_start_to_first_answer_s": round(seconds, 3),
        "runs_s": [round(sample[0], 3) for sample in samples],
        "ok": all(d.returncode == 0 and '"kind"' in d.stdout for _, d, _ in samples),
    }
    # Each `ask` reports its own peak (RUSAGE_CHILDREN would count the pages a child shares with this big
    # process between fork and exec).
    peaks = [m.get("peak_rss_mb") for m in (_timing_marks(d.stderr) for _, d, _ in samples) if m]
    out["peak_rss_mb_ask_process"] = max((p for p in peaks if p is not None), default=None)
    marks = _timing_marks(done.stderr)
    if marks:
        model = marks.get("model_load_s") or 0.0
        out["median_run_phases_s"] = {
            "interpreter_and_imports": round(marks["command_started"] - spawned, 3),
            "runtime_build_and_index_check": round(marks["runtime_built"] - marks["command_started"], 3),
            "model_import_and_load": round(model, 3),
            "answer_without_model_load": round(marks["answered"] - marks["runtime_built"] - model, 3),
            "exit": round(spawned + seconds - marks["answered"], 3),
        }
    return out


def _timing_marks(stderr: str) -> dict[str, Any] | None:
    for line in reversed(stderr.splitlines()):
        try:
            marks = json.loads(line)
        except ValueError:
            continue
        if isinstance(marks, dict) and "command_started" in marks:
            return marks
    return None


def bench_triage(settings: Settings, count: int = 5000, semantic_count: int = 300) -> dict[str, Any]:
    """The rule line alone over `count` messages, then the whole safety check (rules, and the semantic line where
    they are silent) over `semantic_count` messages the rules say nothing about, in both languages."""
    from .wiring import load_safety

    safety = load_safety(settings)
    triage = safety.triage
    messages = ["my 6 week old has 38.4 and won't feed", "宝宝三个月，发烧39度，怎么办", "how do I start solids",
                "she had a seizure and is now sleepy", "宝宝晚上总醒", "can I give honey to my 8 month old"]
    samples = []
    for i in range(count):
        started = time.perf_counter()
        triage.check(messages[i % len(messages)])
        samples.append(time.perf_counter() - started)
    out: dict[str, Any] = {"messages": count, **_percentiles(samples)}
    if safety.semantic is None:
        out["semantic_line"] = "off (no multilingual model or no fitted probes)"
        return out
    silent = ["my toddler keeps waking at 5am, any tips", "宝宝最近总是哭闹，不知道怎么回事",
              "I feel so alone since the baby came, nobody gets it", "婆婆带孩子的方式我看不惯，怎么沟通",
              "how much milk should a 4 month old drink", "我老公从来不帮忙带孩子"]
    safety.check(silent[0])                    # first call maps the model's pages in
    samples = []
    for i in range(semantic_count):
        started = time.perf_counter()
        safety.check(silent[i % len(silent)])
        samples.append(time.perf_counter() - started)
    out["with_semantic_line"] = {"messages": semantic_count, **_percentiles(samples)}
    return out


def run_benchmarks(settings: Settings, sections: list[str], extra: dict[str, Callable[[], dict[str, Any]]]) -> dict:
    results: dict[str, Any] = {"machine": machine_info()}
    if "triage" in sections:
        results["triage"] = bench_triage(settings)
    if "retrieval" in sections:
        results["retrieval"] = bench_retrieval(settings)
    if "cold_start" in sections:
        results["cold_start"] = bench_cold_start(settings)
    for name, run in extra.items():
        if name in sections:
            results[name] = run()
    results["peak_rss_mb"] = peak_rss_mb()
    return results


def machine_info() -> dict[str, Any]:
    import os
    import platform

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run_benchmarks(Settings(), ["triage"], {}), indent=2))
