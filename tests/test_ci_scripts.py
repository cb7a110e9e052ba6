"""scripts/nlu-ci and .ci/run's Rasa handling, against stand-ins (no Rasa)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_run_stopping_the_server_twice_keeps_a_passing_runs_status(tmp_path):
    # .ci/run stops Rasa after the NLU tests and again on EXIT: the second kill finds no group
    stop = re.search(r"^stop_rasa\(\) \{.*\}$", (ROOT / ".ci/run").read_text(), re.M).group(0)
    script = tmp_path / "run"
    script.write_text("set -euo pipefail\nsetsid sleep 30 >/dev/null 2>&1 &\nrasa_server=$!\n"
                      f"{stop}\ntrap stop_rasa EXIT\nsleep 0.2\nstop_rasa\necho passed\n")
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "passed\n")
