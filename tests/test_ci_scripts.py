"""scripts/nlu-ci and .ci/run's Rasa handling, against stand-ins (no Rasa): a server that takes
connections and never answers, one that answers /status, a serving process that dies."""
from __future__ import annotations

import http.server
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RASA_")}
    return {**env, **extra}


@pytest.fixture
def silent_port():
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]


@pytest.fixture
def status_port():
    class Status(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/status" else 404)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_server_that_never_answers_does_not_hide_the_death_of_its_process(silent_port,
                                                                           tmp_path):
    log = tmp_path / "rasa.log"
    log.write_text("the server's last words\n")
    # not a child of this process: a dead child stays a zombie, which kill -0 finds alive
    serving = subprocess.run(["sh", "-c", "sleep 3 >/dev/null 2>&1 & echo $!"],
                             capture_output=True, text=True, check=True).stdout.strip()
    started = time.monotonic()
    done = subprocess.run(
        ["scripts/nlu-ci", "echo", "ran"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=_env(RASA_URL=f"http://127.0.0.1:{silent_port}", RASA_PID=serving,
                 RASA_LOG=str(log)))
    assert done.returncode == 1 and "ran" not in done.stdout
    assert "Rasa server died" in done.stderr and "the server's last words" in done.stderr
    assert time.monotonic() - started < 30  # one bounded look (10 s) after the death


def test_the_server_of_a_living_process_is_used_with_rasa_required(status_port):
    serving = subprocess.Popen(["sleep", "60"])
    try:
        done = subprocess.run(
            ["scripts/nlu-ci", "sh", "-c", 'echo "$RASA_URL $SATHI_REQUIRE_RASA"'], cwd=ROOT,
            capture_output=True, text=True, timeout=60,
            env=_env(RASA_URL=f"http://127.0.0.1:{status_port}", RASA_PID=str(serving.pid)))
    finally:
        serving.kill()
        serving.wait()
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"http://127.0.0.1:{status_port} 1"


def test_an_answer_from_the_port_is_not_taken_for_a_dead_servers(status_port):
    # ours died (its port was taken, say) and another process answers on the port
    dead = subprocess.Popen(["true"])
    dead.wait()
    done = subprocess.run(
        ["scripts/nlu-ci", "echo", "ran"], cwd=ROOT, capture_output=True, text=True,
        timeout=60, env=_env(RASA_URL=f"http://127.0.0.1:{status_port}", RASA_PID=str(dead.pid)))
    assert done.returncode == 1 and "Rasa server died" in done.stderr


def test_ci_run_stopping_the_server_twice_keeps_a_passing_runs_status(tmp_path):
    # .ci/run stops Rasa after the NLU tests and again on EXIT: the second kill finds no group
    script = tmp_path / "run"
    script.write_text("set -euo pipefail\nsetsid sleep 30 >/dev/null 2>&1 &\nrasa_server=$!\n"
                      f"{_stop_rasa()}\ntrap stop_rasa EXIT\nsleep 0.2\nstop_rasa\necho passed\n")
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "passed\n")


def test_ci_run_kills_what_of_the_server_ignores_the_stop(tmp_path):
    # a group whose leader and child ignore TERM (a hung install, say) is killed after the grace
    script = tmp_path / "run"
    script.write_text(
        "set -euo pipefail\nRASA_STOP_GRACE=1\n"
        "setsid bash -c 'trap \"\" TERM; sleep 60 & echo $! > child; wait' >/dev/null 2>&1 &\n"
        f"rasa_server=$!\n{_stop_rasa()}\nsleep 0.5\nstop_rasa\ncat child\n")
    started = time.monotonic()
    done = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0 and time.monotonic() - started < 10
    child = Path(f"/proc/{done.stdout.split()[-1]}/stat")
    time.sleep(0.2)  # gone, or a zombie its new parent has not reaped yet
    assert not child.exists() or child.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_ci_run_leaves_no_rasa_server_behind_when_it_is_killed_9(tmp_path):
    # .ci/run's own line, with a stand-in for the server; then the run is killed as a CI
    # runner's timeout kills a job, with no chance to run its EXIT trap
    launch = re.search(r"^setsid .*scripts/nlu-serve .*$", (ROOT / ".ci/run").read_text(),
                       re.M).group(0).replace('scripts/nlu-serve "$rasa_port"', "sleep 60")
    script = tmp_path / "run"
    script.write_text(f"set -euo pipefail\nrasa_log=/dev/null\n{launch}\necho $! > server\n"
                      "sleep 60\n")
    run = subprocess.Popen(["bash", str(script)], cwd=tmp_path)
    try:
        for _ in range(100):
            if (tmp_path / "server").exists() and (tmp_path / "server").read_text().strip():
                break
            time.sleep(0.05)
        server = int((tmp_path / "server").read_text())
        for _ in range(100):  # until the stand-in runs (setsid, setpriv, then it, one process)
            if Path(f"/proc/{server}/cmdline").read_bytes().startswith(b"sleep"):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the stand-in server never started")
    finally:
        run.kill()
        run.wait()
    stat = Path(f"/proc/{server}/stat")
    for _ in range(100):  # gone, or a zombie its new parent has not reaped yet
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.05)
    else:
        os.kill(server, signal.SIGKILL)
        raise AssertionError("the stand-in server outlived the killed run")


def _stop_rasa() -> str:
    return re.search(r"^stop_rasa\(\) \{$.*?^\}$", (ROOT / ".ci/run").read_text(),
                     re.M | re.S).group(0)
