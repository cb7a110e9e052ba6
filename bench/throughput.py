"""Throughput of the production processes, end to end, on this machine and on loopback.

One command runs three measurements, each beside a baseline taken in the same run:

  (a) webhook   gunicorn with the shipped gunicorn.conf.py serving the production app plus
                three endpoints of the bench's (bench/throughput_app.py): a trivial one, and
                two floors, the least the webhook's guarantees cost here (its signature check,
                its INSERT sent through psycopg alone, one RPUSH), into the `message` table
                and into a narrow table; `wrk` (16 connections) alternates between the four,
                each request a new MessageSid from one of the seeded teachers. Prints
                requests/s, p50/p99, the webhook's and the floors' shares of the trivial
                endpoint's rate, and checks every accepted message was stored once (spooled
                ones counted).
  (b) drain     1,000 teachers each text "hi" (a load generator in a process of its own, 16
                connections) while 2 `sathi worker` processes handle them and send the replies
                to the Twilio double (tests/twilio_double.py, rate limit off). Prints inbound
                messages/s (first webhook to last reply at the double), the p50/p99 from a
                teacher's webhook to their last reply at the double, and checks that nothing
                was handled or sent twice, and that each teacher's replies left in order.
  (c) campaign  bench/campaign.py's plan + enqueue for 100,000 and 1,000,000 teachers beside
                its set-based baseline (one server-side INSERT .. SELECT), with peak memory.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/throughput.py

For (a) and (b) it also prints where the CPU went while they were measured (bench/cpuuse.py):
milliseconds per request or per message for gunicorn, the workers, PostgreSQL, Redis and the
rest (the bench, the double, wrk, the load generator), and how much of the machine stayed idle.

It makes and drops its own database (sathi_bench_<random>) on that server and uses Redis db 3
(--redis-db), which it flushes. Needs `wrk` (apt-get install wrk) and the test extras
(`scripts/install test`: the Twilio double is served by waitress).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from cpuuse import Meter  # noqa: E402
from redisdb import redis_db  # noqa: E402
from scratchdb import ScratchDatabase  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

TOKEN = "bench-token"
BASE = "https://sathi.example.org"  # what Twilio signs; the app's PUBLIC_BASE_URL
FROM = "+15005550006"
WEBHOOK = "/twilio/messaging"
TRIVIAL = "/bench/trivial"
FLOOR = "/bench/floor"
NARROW = "/bench/floor-narrow"


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def phones(n: int) -> list[str]:
    return [f"+8801712{i:06d}" for i in range(1, n + 1)]


def seed_teachers(engine, n: int) -> None:
    """n teachers (not yet onboarded: "hi" starts their onboarding), made by the database."""
    with engine.begin() as c:
        c.execute(text("TRUNCATE delivery_attempt, understood, answer, flow_run, message, "
                       "campaign_run, person RESTART IDENTITY CASCADE"))
        c.execute(text("""
            INSERT INTO person (phone, name, role, language, channel, created_at)
            SELECT '+8801712' || lpad(g::text, 6, '0'), 'শিক্ষক ' || g, 'teacher', 'bn', 'sms',
                   now()
            FROM generate_series(1, :n) g"""), {"n": n})
        c.execute(text("ANALYZE person"))


def signed(sid: str, phone: str, body: str, path: str = WEBHOOK) -> tuple[str, str]:
    from bot.channels.signature import sign

    form = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": phone, "To": FROM,
            "Body": body, "NumMedia": "0"}
    return urlencode(form), sign(TOKEN, BASE + path, form)


# --- (a) the webhook beside a trivial endpoint, under wrk ---------------------------------

WRK_SCRIPT = """
local bodies = {%(bodies)s}
local sigs = {%(sigs)s}
local path = "%(path)s"
local threads = {}
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
function init(args) counter = tid end
function request()
  local i = (counter %% #bodies) + 1
  counter = counter + %(threads)d
  return wrk.format("POST", path, {["Content-Type"] = "application/x-www-form-urlencoded",
                                   ["X-Twilio-Signature"] = sigs[i]}, bodies[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, ' ..
    '"p99_us": %%d, "non2xx": %%d, "socket_errors": %%d}\\n', summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


def wrk(port: int, path: str, seconds: float, connections: int, threads: int, prefix: str,
        people: list[str], tmp: Path, n: int) -> dict:
    """One wrk run of `seconds` on `path`, with `n` distinct signed requests prepared."""
    bodies, sigs = [], []
    for i in range(n):
        body, sig = signed(f"SM{prefix}{i:08d}", people[i % len(people)], "hi", path)
        bodies.append(body)
        sigs.append(sig)
    script = tmp / f"wrk-{prefix}.lua"
    script.write_text(WRK_SCRIPT % {
        "bodies": ",".join(f'"{b}"' for b in bodies), "sigs": ",".join(f'"{s}"' for s in sigs),
        "path": path, "threads": threads})
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d",
                          f"{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script),
                          f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk said:\n{out.stdout}\n{out.stderr}")
    r = json.loads(line.removeprefix("RESULT "))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["wrapped"] = r["requests"] > n  # more requests than distinct sids: some were duplicates
    return r


ENDPOINTS = (  # (a)'s, in the order each round takes them: (name, path, sid prefix)
    ("trivial", TRIVIAL, "t"), ("floor", FLOOR, "f"), ("narrow", NARROW, "n"),
    ("webhook", WEBHOOK, "w"))


def measure_webhook(args, port: int, people: list[str], engine, instance: Path,
                    tmp: Path) -> dict:
    conns, threads = args.connections, 2
    limit = int(args.seconds * 5000)  # more distinct sids than a round can send
    for name, path, prefix in ENDPOINTS:  # warm every worker and its connections
        wrk(port, path, 3, conns, threads, f"warm{prefix}", people, tmp,
            2000 if path == TRIVIAL else 20000)
    rounds = {name: [] for name, _, _ in ENDPOINTS}
    cpu = {name: [] for name, _, _ in ENDPOINTS}
    for k in range(args.rounds):  # alternated, so each sees the same machine
        for name, path, prefix in ENDPOINTS:
            with Meter() as m:
                rounds[name].append(wrk(port, path, args.seconds, conns, threads, f"{prefix}{k}",
                                        people, tmp, 2000 if path == TRIVIAL else limit))
            cpu[name].append(m.use)
    time.sleep(1)
    with engine.begin() as c:
        stored, distinct = c.execute(text(
            "SELECT count(*), count(DISTINCT provider_sid) FROM message WHERE direction = 'in' "
            "AND provider_sid LIKE 'SMw%' AND provider_sid NOT LIKE 'SMwarm%'")).one()
    spooled = len(list((instance / "spool" / "in").glob("*.json"))) if (
        instance / "spool" / "in").exists() else 0
    out = {}
    for name, rs in rounds.items():
        total = sum(r["requests"] for r in rs)
        secs = sum(r["duration_us"] for r in rs) / 1e6
        out[name] = {"requests": total, "rps": total / secs,
                     "p50_ms": statistics.mean(r["p50_us"] for r in rs) / 1e3,
                     "p99_ms": max(r["p99_us"] for r in rs) / 1e3,
                     "non2xx": sum(r["non2xx"] for r in rs),
                     "socket_errors": sum(r["socket_errors"] for r in rs),
                     "rounds_rps": [round(r["rps"]) for r in rs],
                     # more requests than distinct sids: the rest were retries, which insert
                     # nothing (the trivial endpoint records nothing: its sids may repeat)
                     "wrapped": name != "trivial" and any(r["wrapped"] for r in rs),
                     "cpu": sum(cpu[name][1:], cpu[name][0]).line(total, "request")}
    hook = out["webhook"]
    accepted = hook["requests"] - hook["non2xx"]
    hook.update(stored=stored, distinct=distinct, spooled=spooled, accepted=accepted,
                stored_once=(stored == distinct and stored + spooled >= accepted
                             and not any(r["wrapped"] for r in rounds["webhook"])))
    return out


# --- (b) 1,000 teachers writing in, drained by 2 workers ----------------------------------

def _load(port: int, requests_: list[tuple[str, str, str]], connections: int, out) -> None:
    """The load generator (a process of its own): POST every prepared request, `connections`
    at a time; puts [(phone, time sent, status)] on `out`."""
    import queue as queue_mod

    import requests

    todo: queue_mod.Queue = queue_mod.Queue()
    for r in requests_:
        todo.put(r)
    results, lock = [], threading.Lock()

    def go():
        s = requests.Session()
        s.trust_env = False
        while True:
            try:
                phone, body, sig = todo.get_nowait()
            except queue_mod.Empty:
                return
            sent = time.time()
            resp = s.post(f"http://127.0.0.1:{port}{WEBHOOK}", data=body, timeout=30,
                          headers={"X-Twilio-Signature": sig,
                                   "Content-Type": "application/x-www-form-urlencoded"})
            with lock:
                results.append((phone, sent, resp.status_code))

    ts = [threading.Thread(target=go) for _ in range(connections)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put(results)


def measure_drain(args, port: int, rt, settings, conn, double, arrivals: list,
                  people: list[str]) -> dict:
    from processes import Process, service_env
    from rq import Worker

    from bot.store.models import DeliveryAttempt, Message

    env = service_env(settings, conn, SATHI_SMS_RATE="0", SATHI_WHATSAPP_RATE="0")
    helped = subprocess.run([str(Path(sys.executable).parent / "sathi"), "worker", "--help"],
                            capture_output=True, text=True, env=env, cwd=ROOT).stdout
    sathi = str(Path(sys.executable).parent / "sathi")
    if "--processes" in helped:
        workers = [Process("bench-worker", [sathi, "worker", "--processes",
                                            str(args.workers)], env)]
    else:  # before issue 16: one RQ worker (forking a work horse per job) per process
        workers = [Process(f"bench-worker-{i}", [sathi, "worker"], env)
                   for i in range(args.workers)]
    try:
        deadline = time.monotonic() + 60
        while len(Worker.all(connection=conn)) < args.workers:
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start: " + workers[0].output()[-2000:])
            time.sleep(0.2)
        time.sleep(1)
        reqs = []
        for i, phone in enumerate(people[:args.teachers]):
            body, sig = signed(f"SMd{i:08d}", phone, "hi")
            reqs.append((phone, body, sig))
        arrivals.clear()
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        gen = ctx.Process(target=_load, args=(port, reqs, args.connections, out))
        meter = Meter().start()  # from the first webhook to the last reply
        gen.start()
        sent = out.get(timeout=600)
        gen.join()
        # done when every message is handled and no reply is waiting to go
        deadline = time.monotonic() + args.drain_timeout
        while True:
            with rt.db.session() as db:
                waiting = db.execute(select(func.count()).select_from(Message).where(
                    ((Message.direction == "in") & (Message.status == "received"))
                    | ((Message.direction == "out")
                       & Message.status.in_(("queued", "sending"))))).scalar()
            if waiting == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{waiting} messages still waiting after "
                                   f"{args.drain_timeout} s")
            time.sleep(0.2)
        meter.stop()
        with rt.db.session() as db:
            inbound = db.execute(select(Message.id, Message.address, Message.status,
                                        Message.updated_at).where(
                Message.direction == "in").order_by(Message.id)).all()
            outbound = db.execute(select(Message.id, Message.address, Message.status,
                                         Message.provider_sid).where(
                Message.direction == "out").order_by(Message.id)).all()
            sends = db.execute(select(DeliveryAttempt.message_id, func.count()).where(
                DeliveryAttempt.outcome == "sent").group_by(DeliveryAttempt.message_id)).all()
    finally:
        for w in workers:
            w.stop(timeout=30)
    got = list(arrivals)
    first_sent = min(t for _, t, _ in sent)
    last_reply = max(t for _, _, t in got)
    last_by_phone: dict[str, float] = {}
    for sid, to, t in got:
        last_by_phone[to] = max(t, last_by_phone.get(to, 0))
    latencies = [last_by_phone[p] - t for p, t, code in sent if p in last_by_phone]
    # checks: each reply created once at the double; each teacher's in id order; all handled
    id_of_sid = {sid: mid for mid, _, _, sid in outbound}
    order: dict[str, list[int]] = {}
    for sid, to, _ in got:
        order.setdefault(to, []).append(id_of_sid.get(sid, -1))
    in_order = all(ids == sorted(ids) for ids in order.values())
    handled_order = {}
    for mid, addr, status, at in inbound:
        handled_order.setdefault(addr, []).append(at)
    return {
        "teachers": args.teachers, "accepted": sum(1 for *_, c in sent if c == 200),
        "inbound": len(inbound), "replies_at_double": len(got),
        "seconds": last_reply - first_sent,
        "inbound_per_s": len(inbound) / (last_reply - first_sent),
        "replies_per_s": len(got) / (last_reply - first_sent),
        "p50_ms": percentile(latencies, .5) * 1e3, "p99_ms": percentile(latencies, .99) * 1e3,
        "all_handled": all(s == "handled" for _, _, s, _ in inbound),
        "every_teacher_answered": len(last_by_phone) == args.teachers,
        "sent_once": (len(got) == len({s for s, _, _ in got}) == len(outbound)
                      and all(n == 1 for _, n in sends) and len(sends) == len(outbound)),
        "in_order": in_order and all(a == sorted(a) for a in handled_order.values()),
        "cpu": meter.use.line(len(inbound), "inbound message"),
    }


# --- (c) campaign plan + enqueue ------------------------------------------------------------

def measure_campaign(args, db_url: str, conn, tmp: Path) -> list[dict]:
    import campaign as campaign_bench

    from bot import runtime
    from bot.config import Settings

    settings = Settings.from_env(database_url=db_url, redis_url=None, twilio_account_sid=None,
                                 instance_dir=tmp / "campaign")
    rt = runtime.Runtime(settings, redis_conn=conn, clock=lambda: campaign_bench.SUNDAY)
    runtime.install(rt)
    try:
        return [campaign_bench.run(rt, n) for n in args.campaign_sizes]
    finally:
        runtime.install(None)
        rt.db.dispose()


# --- the run --------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10, help="each wrk round (a)")
    ap.add_argument("--rounds", type=int, default=2, help="wrk rounds of each endpoint (a)")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--teachers", type=int, default=1000, help="(b)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (b)")
    ap.add_argument("--drain-timeout", type=float, default=600)
    ap.add_argument("--campaign-sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--only", default="abc", help="which parts: any of a, b, c")
    ap.add_argument("--redis-db", type=int, default=int(os.environ.get("SATHI_TEST_REDIS_DB", 3)))
    ap.add_argument("--gunicorn-config", default=str(ROOT / "gunicorn.conf.py"))
    ap.add_argument("--gunicorn-args", default="", help="more gunicorn options, e.g. "
                    "'--threads 8' (they override the config file's)")
    args = ap.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgresql") or not os.environ.get("REDIS_URL"):
        sys.exit("set DATABASE_URL to PostgreSQL and REDIS_URL to a Redis server")
    if "a" in args.only and not shutil.which("wrk"):
        sys.exit("wrk is needed for (a): apt-get install -y wrk")

    from processes import Process, free_port, service_env, wait_for_http
    from twilio_double import TwilioDouble

    from bot import runtime
    from bot.config import Settings
    from bot.store.db import Database

    scratch = ScratchDatabase(base_url, "sathi_bench")
    db_url = scratch.url
    tmp = Path(tempfile.mkdtemp(prefix="sathi-throughput-"))
    conn = redis_db(os.environ["REDIS_URL"], args.redis_db)
    conn.flushdb()
    arrivals: list[tuple[str, str, float]] = []
    double = TwilioDouble(auth_token=TOKEN).start()
    double.before_answer = lambda sid, form: arrivals.append((sid, form.get("To"), time.time()))
    instance = tmp / "instance"
    settings = Settings.from_env(database_url=db_url, redis_url=None,
                                 twilio_account_sid=double.account_sid, twilio_auth_token=TOKEN,
                                 twilio_api_base=double.url, twilio_sms_from=FROM,
                                 twilio_whatsapp_from=None, public_base_url=BASE,
                                 instance_dir=instance, sms_rate=0.0, whatsapp_rate=0.0)
    results: dict = {}
    web = None
    try:
        Database(db_url).upgrade()
        rt = runtime.Runtime(settings, redis_conn=conn)
        runtime.install(rt)
        people = phones(args.teachers)
        seed_teachers(rt.db.engine, args.teachers)
        if "a" in args.only:
            from throughput_app import NARROW_TABLE

            with rt.db.engine.begin() as c:  # the narrow floor's table (bench_inbox)
                c.execute(text(NARROW_TABLE))
        if "a" in args.only or "b" in args.only:
            port = free_port()
            env = service_env(settings, conn, SATHI_SMS_RATE="0", SATHI_WHATSAPP_RATE="0")
            conf = Path(args.gunicorn_config)
            argv = [str(Path(sys.executable).parent / "gunicorn")]
            argv += (["-c", str(conf)] if conf.exists() else ["--workers", "4", "--timeout", "30"])
            argv += args.gunicorn_args.split()
            argv += ["--bind", f"127.0.0.1:{port}", "--pythonpath", str(ROOT / "bench"),
                     "throughput_app:create_app()"]
            web = Process("bench-gunicorn", argv, env)
            wait_for_http(f"http://127.0.0.1:{port}/healthz", 60)
            results["gunicorn"] = " ".join(argv[1:-5])
            if "a" in args.only:
                results["webhook"] = measure_webhook(args, port, people, rt.db.engine, instance,
                                                     tmp)
                report(results, args, "webhook")
                conn.flushdb()  # the jobs (a) queued: nobody handles them
                seed_teachers(rt.db.engine, args.teachers)
            if "b" in args.only:
                results["drain"] = measure_drain(args, port, rt, settings, conn, double,
                                                 arrivals, people)
                report(results, args, "drain")
            web.stop()
            web = None
        runtime.install(None)
        rt.close()
        if "c" in args.only and args.campaign_sizes:
            results["campaign"] = measure_campaign(args, db_url, conn, tmp)
            report(results, args, "campaign")
    finally:
        if web is not None:
            web.stop()
        double.stop()
        conn.flushdb()
        scratch.drop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=2, default=str))


def report(results: dict, args, part: str) -> None:
    """Print one part's figures as soon as they are measured."""
    if part == "webhook":
        res = results["webhook"]
        t, w = res["trivial"], res["webhook"]
        print(f"(a) gunicorn {results['gunicorn']}, wrk {args.connections} connections, "
              f"{args.rounds} × {args.seconds:g} s each, alternated")
        for name, label in (("trivial", "trivial endpoint"), ("floor", "floor"),
                            ("narrow", "floor, narrow"), ("webhook", "signed webhook")):
            r = res[name]
            print(f"    {label:<17} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  "
                  f"p99 {r['p99_ms']:7.2f} ms  non-2xx {r['non2xx']}")
        print(f"    webhook ÷ trivial {w['rps'] / t['rps']:8.1%}   (goal ≥ 40 %, p99 < 100 ms)"
              f"   stored {w['stored']:,} of {w['accepted']:,} accepted, spooled "
              f"{w['spooled']}, each once: {w['stored_once']}")
        print(f"    floor ÷ trivial   {res['floor']['rps'] / t['rps']:8.1%}   the least the "
              f"webhook's guarantees cost: its signature check, its INSERT through psycopg "
              f"alone, one RPUSH")
        print(f"    narrow ÷ trivial  {res['narrow']['rps'] / t['rps']:8.1%}   the same into "
              f"a table of a primary key and the unique sid only")
        print(f"    webhook ÷ floor   {w['rps'] / res['floor']['rps']:8.1%}")
        for name in ("floor", "narrow", "webhook"):
            if res[name]["wrapped"]:
                print(f"    warning: {name} sent more requests than it had distinct sids; the "
                      f"retries inserted nothing, so its rate is flattered (raise the limit)")
        for name in ("trivial", "floor", "narrow", "webhook"):
            print(f"    {name}: {res[name]['cpu']}")
    if part == "drain":
        d = results["drain"]
        print(f"(b) {d['teachers']:,} teachers text \"hi\", {args.workers} worker processes: "
              f"{d['inbound_per_s']:.1f} inbound messages/s ({d['replies_per_s']:.1f} replies/s, "
              f"{d['replies_at_double']:,} replies in {d['seconds']:.1f} s)  (goal ≥ 100/s)")
        print(f"    webhook → last reply at the double: p50 {d['p50_ms']:.0f} ms, "
              f"p99 {d['p99_ms']:.0f} ms; all handled {d['all_handled']}, sent once "
              f"{d['sent_once']}, in order {d['in_order']}, every teacher answered "
              f"{d['every_teacher_answered']}")
        print(f"    {d['cpu']}")
    if part == "campaign":
        import campaign as campaign_bench

        print("(c) campaign plan + enqueue (bench/campaign.py's)")
        for r in results["campaign"]:
            total = r["plan"] + r["enqueue"]
            print(f"    {r['n']:>9,} teachers: baseline {r['baseline']:.2f} s, plan "
                  f"{r['plan']:.2f} s, enqueue {r['enqueue']:.2f} s, (plan + enqueue) ÷ "
                  f"baseline {total / r['baseline']:.1f}× (goal ≤ 3×), peak "
                  f"{r['peak_mib']:.1f} MiB")
            print(f"    {campaign_bench.wal_line(r).strip()}")
            print(f"    baseline without campaign_run's foreign key {r['no_fk']:.2f} s: "
                  f"(plan + enqueue) ÷ it {total / r['no_fk']:.1f}×")
        cs = results["campaign"]
        if len(cs) > 1:
            print(f"    memory: {cs[-1]['n'] // cs[0]['n']}× the teachers, "
                  f"{cs[-1]['peak_mib'] / cs[0]['peak_mib']:.2f}× the peak")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
