"""What a new process pays to read the programme's data: building a `Runtime` (the flows, the
content, the campaigns, the calendar, each read and checked against its schema), as every
`sathi` command, worker process and gunicorn worker does when it starts, and every test.

Each round runs in a fresh Python process, and times, in that process, the first build and
the next few (a second build finds each file already checked). The baseline, in the same run:
the same builds with the pure-Python YAML parser and no memory of checked files, which is how
data files were read before 2026-12-07 (bot/schemas.py). Prints both, and their ratio.

    .venv/bin/python bench/startup.py [--rounds 3] [--builds 5]

Uses a scratch SQLite file; touches no server.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from bot import runtime, schemas
from bot.config import Settings
if sys.argv[2] == "python":  # the baseline: pure-Python parser, every file checked every time
    import yaml
    schemas._FAST = yaml.SafeLoader
    schemas._KEEP_UP_TO = -1
settings = Settings.from_env(database_url="sqlite:///" + sys.argv[3], redis_url=None)
times = []
for _ in range(int(sys.argv[4])):
    t = time.perf_counter()
    rt = runtime.Runtime(settings)
    times.append(time.perf_counter() - t)
    rt.close()
print(json.dumps(times))
"""


def run(mode: str, builds: int, db: Path) -> list[float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), mode, str(db), str(builds)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="fresh processes per way of reading")
    ap.add_argument("--builds", type=int, default=5, help="Runtimes built in each process")
    args = ap.parse_args()
    first: dict[str, list[float]] = {"libyaml": [], "python": []}
    later: dict[str, list[float]] = {"libyaml": [], "python": []}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "startup.db"
        for _ in range(args.rounds):
            for mode in ("python", "libyaml"):  # alternated, so a busy moment hits both
                times = run(mode, args.builds, db)
                first[mode].append(times[0])
                later[mode].extend(times[1:])
    ms = {k: (1000 * statistics.median(first[k]), 1000 * statistics.median(later[k]))
          for k in first}
    print(f"Runtime build, median of {args.rounds} fresh processes × {args.builds} builds:")
    for k, label in (("python", "pure-Python parser, no memory (before)"),
                     ("libyaml", "libyaml, files checked once per process (now)")):
        print(f"  {label:48s} first {ms[k][0]:6.0f} ms   next {ms[k][1]:6.0f} ms")
    print(f"  now ÷ before: first {ms['libyaml'][0] / ms['python'][0]:.2f}, "
          f"next {ms['libyaml'][1] / ms['python'][1]:.2f}")


if __name__ == "__main__":
    main()
