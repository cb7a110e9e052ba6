"""The campaign rows waiting for their time, and the claims on them: fanout.py's queue.

A `campaign_run` row is the record of one message for one person. While it waits, a narrow
`campaign_due` row (its id, campaign, period and time) stands for it, and dispatch claims rows
by deleting their due rows. Deleting writes a few bytes of WAL a row and adds no index entry,
where setting the wide record's status wrote the row whole again and added an entry to each of
its four indexes: claiming 1,000,000 rows took 13.0 s and wrote 712 MiB of WAL that way, and
takes 2.6 s and 167 MiB this way (PostgreSQL 15, 5,000 rows a claim: bench/claim_sql.py).
Each batch handed to a `deliver` job leaves one `campaign_claim` row (its ids, when), removed
when the job has run; a claim older than fanout.LOST_AFTER lost its job, and those of its rows
not yet sent are due again.

A row's state, then:
    planned, with a due row       waiting for its time
    planned, without one          claimed: a deliver job has it ("queued" in fanout.status)
    queued                        claimed by an older release: migration 0017 made these due,
                                  and a job of that release finds them due and leaves them
    sent, skipped, calling, ...   done (fanout.py)
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import bindparam, delete, insert, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..store.models import CampaignClaim, CampaignDue, CampaignRun, UTCDateTime

CLAIMED = ("planned", "queued")  # statuses a deliver job acts on, once the row is not due
IDS_PER_STATEMENT = 5_000  # ids bound in one IN (..): well under SQLite's 32,766 parameters


def put(db: Session, rows: Iterable[tuple[int, str, str, datetime]]) -> None:
    """Make these (run id, campaign, period, time) rows due, or due at their new time."""
    values = [dict(run_id=r, campaign=c, week=w, planned_at=at) for r, c, w, at in rows]
    if not values:
        return
    dialect = postgresql if db.bind.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(CampaignDue)
    db.execute(stmt.on_conflict_do_update(index_elements=["run_id"], set_={
        "planned_at": stmt.excluded.planned_at}), values)


def put_row(db: Session, row: CampaignRun) -> None:
    """Make a planned campaign_run row due at its `planned_at` (flushed first if new)."""
    if row.id is None:
        db.flush()
    put(db, [(row.id, row.campaign, row.week, row.planned_at)])


def waiting(db: Session, run_id: int) -> bool:
    """True while the row is due: not claimed, or claimed and made due again since."""
    return db.get(CampaignDue, run_id) is not None


def claim(db: Session, now: datetime, only: list[str] | None,
          after: tuple[datetime, int] | None,
          n: int) -> tuple[list[tuple[int, str, str]], tuple | None]:
    """Claim up to n due rows, the first in (planned_at, id) order past `after`; returns their
    (id, campaign, period) in id order and the (planned_at, id) of the last one claimed."""
    if db.bind.dialect.name == "postgresql":
        return _claim_in_database(db, now, only, after, n)
    due = select(CampaignDue.run_id).where(CampaignDue.planned_at <= now)
    if only is not None:
        due = due.where(CampaignDue.campaign.in_(only))
    if after is not None:
        due = due.where(tuple_(CampaignDue.planned_at, CampaignDue.run_id)
                        > tuple_(bindparam("after_at", after[0], type_=UTCDateTime()),
                                 bindparam("after_id", after[1])))
    due = due.order_by(CampaignDue.planned_at, CampaignDue.run_id).limit(n)
    rows = db.execute(delete(CampaignDue).where(CampaignDue.run_id.in_(due.scalar_subquery()))
                      .returning(CampaignDue.run_id, CampaignDue.campaign, CampaignDue.week,
                                 CampaignDue.planned_at)
                      .execution_options(synchronize_session=False)).all()
    if not rows:
        return [], None
    return sorted((i, c, w) for i, c, w, _ in rows), max((at, i) for i, _, _, at in rows)


def _claim_in_database(db: Session, now: datetime, only: list[str] | None,
                       after: tuple[datetime, int] | None,
                       n: int) -> tuple[list[tuple[int, str, str]], tuple | None]:
    """PostgreSQL: one statement that deletes the due rows and answers a row for each
    (campaign, period) among them: their ids as one array, and their last (planned_at, id)
    (ids come back as integer arrays, which the driver reads fast, where a campaign and a
    period for each row cost seconds a million rows). The due rows are locked (FOR UPDATE
    SKIP LOCKED: two dispatchers never wait on, or get, each other's rows) by a subquery
    evaluated first, read in the order of ix_campaign_due_order and stopped at n; the DELETE
    then finds them by primary key (`= ANY(ARRAY(..))`: an `IN (..)` may be planned as a hash
    join over the whole table)."""
    where = ["planned_at <= :now"]
    params: dict = {"now": now, "n": n}
    if only is not None:
        where.append("campaign = ANY(:only)")
        params["only"] = list(only)
    if after is not None:
        where.append("(planned_at, run_id) > (:after_at, :after_id)")
        params["after_at"], params["after_id"] = after
    groups = db.execute(text(f"""
        WITH claimed AS (
            DELETE FROM campaign_due
            WHERE run_id = ANY(ARRAY(
                SELECT run_id FROM campaign_due WHERE {' AND '.join(where)}
                ORDER BY planned_at, run_id LIMIT :n FOR UPDATE SKIP LOCKED))
            RETURNING run_id, campaign, week, planned_at)
        SELECT campaign, week, array_agg(run_id ORDER BY run_id), max(planned_at),
               (array_agg(run_id ORDER BY planned_at DESC, run_id DESC))[1]
        FROM claimed GROUP BY campaign, week""").bindparams(
        bindparam("now", type_=UTCDateTime()),
        *([bindparam("after_at", type_=UTCDateTime())] if after is not None else [])),
        params).all()
    if not groups:
        return [], None
    rows = sorted((i, name, period) for name, period, ids, _, _ in groups for i in ids)
    return rows, max((last_at, last_id) for _, _, _, last_at, last_id in groups)


def hold(db: Session, batches: list[list[int]], now: datetime) -> list[int]:
    """One claim for each batch (a deliver job's rows), in the claiming transaction; their ids
    in the batches' order (one INSERT .. RETURNING for them all)."""
    if not batches:
        return []
    return db.execute(insert(CampaignClaim).returning(CampaignClaim.id,
                                                      sort_by_parameter_order=True),
                      [dict(claimed_at=now, run_ids=list(batch)) for batch in batches]
                      ).scalars().all()


def release(db: Session, claim_id: int) -> None:
    """The job of this claim has run: nothing of it is lost any more."""
    db.execute(delete(CampaignClaim).where(CampaignClaim.id == claim_id))


def give_back(db: Session, claim_ids: list[int]) -> int:
    """These claims' jobs were never enqueued: their rows not done (nor due) are due again at
    their planned time, and the claims go. Returns how many rows are due again."""
    return _undo(db, db.execute(select(CampaignClaim.id, CampaignClaim.run_ids)
                                .where(CampaignClaim.id.in_(claim_ids))).all())


def reclaim(db: Session, now: datetime, lost_after: timedelta) -> int:
    """Rows of claims older than `lost_after` (their job never ran, or never finished) that
    are not sent, skipped or due are due again, at their planned time; the claims go (an
    older release's claimed rows, "queued", were made due by migration 0017). If a
    lost job does run after all, it finds its rows due (or done) and leaves them: each row is
    sent once. Returns how many rows are due again."""
    cutoff = now - lost_after
    again = 0
    while True:
        # locked, skipping those another dispatcher's reclaim holds: each lost claim is made
        # due by one of them (two at once deadlocked, each waiting on rows the other had put)
        claims = db.execute(select(CampaignClaim.id, CampaignClaim.run_ids)
                            .where(CampaignClaim.claimed_at < cutoff)
                            .order_by(CampaignClaim.id).limit(100)
                            .with_for_update(skip_locked=True)).all()
        if not claims:
            return again
        again += _undo(db, claims)


def _undo(db: Session, claims: list) -> int:
    """The (id, run_ids) claims go, and their rows not done (nor due) are due again."""
    ids = sorted({i for _, run_ids in claims for i in run_ids if isinstance(i, int)})
    again = sum(_due_again(db, CampaignRun.id.in_(ids[k:k + IDS_PER_STATEMENT]))
                for k in range(0, len(ids), IDS_PER_STATEMENT))
    db.execute(delete(CampaignClaim).where(CampaignClaim.id.in_([c for c, _ in claims])))
    return again


def _due_again(db: Session, which) -> int:
    rows = db.execute(select(CampaignRun.id, CampaignRun.campaign, CampaignRun.week,
                             CampaignRun.planned_at)
                      .where(which, CampaignRun.status.in_(CLAIMED),
                             ~select(CampaignDue.run_id).where(
                                 CampaignDue.run_id == CampaignRun.id).exists())).all()
    if not rows:
        return 0
    ids = [r.id for r in rows]
    db.execute(update(CampaignRun).where(CampaignRun.id.in_(ids), CampaignRun.status == "queued")
               .values(status="planned").execution_options(synchronize_session=False))
    put(db, [tuple(r) for r in rows])
    return len(rows)


