"""The benchmark plumbing (the figures themselves are measured by `sprout bench --json`, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

from bot.bench import _timing_marks, bench_triage, peak_rss_mb


def test_a_process_started_from_a_big_one_reports_its_own_peak_memory():
    ballast = bytearray(300 * 1024 * 1024)  # the parent now holds 300 MB more than the child ever will
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page so it is resident
    child = subprocess.run([sys.executable, "-c", "from bot.bench import peak_rss_mb; print(peak_rss_mb())"],
                           capture_output=True, text=True, check=True)
    assert peak_rss_mb() > 300
    assert float(child.stdout) < 150, "the child's peak includes the parent's memory at fork"


def test_the_start_up_marks_are_read_from_the_last_json_line_of_stderr():
    marks = {"command_started": 1.0, "runtime_built": 2.0, "answered": 3.0, "peak_rss_mb": 500.0}
    stderr = "a warning from a library\n" + json.dumps(marks) + "\nnot json\n"
    assert _timing_marks(stderr) == marks
    assert _timing_marks("nothing useful") is None


def test_the_triage_section_reports_percentiles(settings):
    out = bench_triage(settings, count=60)
    assert out["messages"] == 60 and 0 < out["p50_ms"] <= out["p95_ms"]
