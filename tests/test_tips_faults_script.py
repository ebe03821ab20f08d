"""The tips fault script (tests/faults/tips_faults.py), reduced: the real `sprout tips send-due` process against
the loopback fake Bot API through an outage, dropped connections, 502s, 429s, kill -9 and SIGTERM."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_reduced_fault_script_sends_every_tip_once_through_outages_kills_and_sigterm():
    done = subprocess.run([sys.executable, "-m", "tests.faults.tips_faults", "--json", "--children", "80",
                           "--kills", "2", "--sigterms", "1"], cwd=ROOT, capture_output=True, timeout=600)
    result = json.loads(done.stdout)
    assert result["errors"] == {}
    totals = result["totals"]
    assert (totals["duplicates"], totals["lost"], totals["open"], totals["expired"]) == (0, 0, 0, 0)
    assert totals["delivered"] == totals["planned"] == 6 * 80
    scenarios = result["scenarios"]
    for name in ("outage", "drops", "502"):  # the faults really hit the sender, and were retried
        assert scenarios[name]["retried"] > 0, name
    assert scenarios["kill9"]["passes"] >= 3 and -9 in scenarios["kill9"]["exit_codes"]
    assert result["sigterm_exit_codes"] == [0]
    assert done.returncode == 0
