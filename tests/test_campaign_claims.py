"""Dispatch claims due campaign rows with FOR UPDATE SKIP LOCKED on PostgreSQL: however many
claim at once, no row is handed to two of them, and a claimer never waits behind rows another
transaction holds. SQLite, which has no row locks, serialises the claims instead."""
import os
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from bot.campaigns import due, fanout
from bot.store.models import CampaignRun, Person

SUNDAY_9 = datetime(2026, 11, 29, 9, 0, tzinfo=timezone(timedelta(hours=6)))  # 2026-W49
POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgresql")


def planned(rt, clock, n):
    clock.current = SUNDAY_9
    with rt.db.session() as db:
        db.add_all([Person(phone=f"+88018120{i:05d}", name=f"শিক্ষক {i}", role="teacher",
                           language="bn", channel="sms", onboarded_at=clock(),
                           created_at=clock()) for i in range(n)])
    assert fanout.plan(rt, "nudge", "2026-W49", clock(), immediately=True).planned == n


def test_four_claimers_at_once_never_get_the_same_row(rt, clock, monkeypatch):
    planned(rt, clock, 120)
    monkeypatch.setattr(fanout, "CLAIM", 7)  # many small claims, so they interleave
    got: dict[int, list[int]] = {k: [] for k in range(4)}
    barrier, errors = threading.Barrier(4), []

    def claimer(k):
        try:
            barrier.wait()
            fanout.dispatch(rt, clock(), force=True, hand_over=got[k].extend)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=claimer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    claimed = [i for ids in got.values() for i in ids]
    assert len(claimed) == len(set(claimed)) == 120  # each row once, none left
    assert fanout.status(rt, "2026-W49")["nudge"] == {"queued": 120}  # all claimed, none due


@pytest.mark.skipif(not POSTGRES, reason="row locks are PostgreSQL's")
def test_a_claimer_skips_rows_another_transaction_holds_instead_of_waiting(rt, clock):
    planned(rt, clock, 30)
    with rt.db.engine.connect() as other:
        held = other.execute(text(
            "SELECT run_id FROM campaign_due ORDER BY planned_at, run_id LIMIT 10 FOR UPDATE")
        ).scalars().all()
        got: list[int] = []
        started = time.monotonic()
        assert fanout.dispatch(rt, clock(), force=True, hand_over=got.extend) == 20
        assert time.monotonic() - started < 10  # it did not wait for the lock
        assert not set(got) & set(held)
        other.rollback()
    assert fanout.dispatch(rt, clock(), force=True, hand_over=got.extend) == 10
    assert sorted(got) == sorted(set(got)) and len(got) == 30


@pytest.mark.skipif(not POSTGRES, reason="counts PostgreSQL's scans of the table")
def test_dispatch_never_reads_the_whole_campaign_run_table(rt, clock):
    """campaign_run holds every week's rows (millions, over a year); dispatch runs every 30 s
    (its claims, its look for lost ones) and must not read them all."""
    planned(rt, clock, 3000)
    with rt.db.session() as db:  # a past week's rows, all sent
        db.execute(text("UPDATE campaign_run SET status = 'sent', done_at = planned_at"))
        db.execute(text("DELETE FROM campaign_due"))
        db.execute(text("ANALYZE campaign_run"))

    def scans():
        rt.db.dispose()  # its sessions' server processes end, and report what they read
        with rt.db.engine.connect() as c:
            for _ in range(50):
                c.execute(text("SELECT pg_stat_clear_snapshot()"))
                n = c.execute(text("SELECT seq_scan FROM pg_stat_user_tables "
                                   "WHERE relname = 'campaign_run'")).scalar()
                if n == scans.last:
                    break
                scans.last = n
                time.sleep(0.1)
        rt.db.dispose()
        return n
    scans.last = None
    before = scans()
    for minute in range(15):  # past psycopg's prepare threshold, and generic plans
        assert fanout.dispatch(rt, clock() + timedelta(minutes=minute), force=True) == 0
    assert scans() == before


def test_a_job_that_runs_after_its_claim_was_reclaimed_never_releases_another_batch(rt, clock):
    """A deliver job held up past LOST_AFTER (its rows went out with a later job) that runs
    at last releases its own claim only. Were a released claim's id given to a new batch, the
    late job would release that batch's claim, and if that batch's job was lost too, its rows
    would never go."""
    planned(rt, clock, 2)
    queue = rt.queue("default")

    def jobs():
        found = [(job.args, job.kwargs) for job in queue.jobs]
        queue.empty()
        return found

    assert fanout.dispatch(rt, clock(), force=True, limit=1) == 1
    (late,) = jobs()  # held up
    later = clock() + fanout.LOST_AFTER + timedelta(minutes=1)
    assert fanout.dispatch(rt, later, force=True, limit=1) == 1  # the same row, again
    for args, kwargs in jobs():
        assert fanout.deliver(*args, **kwargs) == {"sent": 1}
    assert fanout.dispatch(rt, later, force=True) == 1  # the other row: its job is lost
    jobs()
    assert fanout.deliver(*late[0], **late[1]) == {"duplicate": 1}  # the held-up job, at last
    assert fanout.dispatch(rt, later + fanout.LOST_AFTER * 2, force=True,
                           hand_over=fanout.deliver) == 1
    assert fanout.status(rt, "2026-W49")["nudge"] == {"sent": 2}


@pytest.mark.skipif(not POSTGRES, reason="row locks are PostgreSQL's")
def test_two_dispatchers_making_lost_rows_due_at_once_never_wait_on_each_other(rt, clock):
    """Each dispatch first makes the rows of lost claims due again. Two at once (cron's and an
    operator's `campaign run`) take a lost claim each, never both the same one: both putting
    the same rows, each waited on rows the other had put, and PostgreSQL ended one of them as
    a deadlock (or, as here, one waited for the other's whole transaction)."""
    planned(rt, clock, 30)
    assert fanout.dispatch(rt, clock(), force=True) == 30
    rt.queue("default").empty()  # the jobs are lost
    later = clock() + fanout.LOST_AFTER + timedelta(minutes=1)
    got: list[int] = []
    done: list[int] = []
    other = threading.Thread(target=lambda: done.append(
        fanout.dispatch(rt, later, force=True, hand_over=got.extend)))
    with rt.db.session() as db:  # one dispatcher, midway through making them due
        assert due.reclaim(db, later, fanout.LOST_AFTER) == 30
        other.start()
        other.join(timeout=10)
        waited = other.is_alive()
    other.join(timeout=60)
    assert not waited and done == [0]  # nothing of it to take yet
    assert fanout.dispatch(rt, later, force=True, hand_over=got.extend) == 30
    assert sorted(got) == sorted(set(got)) and len(got) == 30
