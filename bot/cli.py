"""The `sathi` command: serve, worker, cron, simulate, channels check, roster import, db upgrade."""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup
from sqlalchemy import func, select

from . import logs, runtime
from .config import Settings
from .contacts.phones import InvalidPhone, e164
from .i18n import N_
from .store.models import Person

TEST_MESSAGE = N_("channels.test_message")  # what `sathi channels check --to` sends


def _create_app():
    from app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             help="Shikkhok Sathi: Bangla SMS, WhatsApp and voice support for AGS teachers.")
def main():
    pass


def _bootstrap(rt: runtime.Runtime, demo: bool) -> None:
    """Migrate the database; on an empty embedded database, load the demo roster."""
    rt.db.upgrade()
    if not demo:
        return
    from .contacts.roster import DEMO_NAME, import_csv

    with rt.db.session() as db:
        if db.execute(select(func.count(Person.id))).scalar():
            return
        report = import_csv(db, rt.settings.flows_dir / DEMO_NAME, rt.now())
    click.echo(f"demo roster loaded: {report.summary()}")


CHILD_STOP_WAIT = 10  # seconds `serve` gives its worker and cron to stop before killing them


def _embedded(settings: Settings) -> bool:
    return settings.database_url.startswith("sqlite:///") and \
        settings.database_url.endswith(str(settings.instance_dir / "sathi.db"))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int):
    """All in one: web server, an RQ worker and the cron scheduler (development and demos).

    Production runs `gunicorn 'app:create_app()'`, `sathi worker` and `sathi cron` instead.
    """
    logs.setup()
    rt = runtime.current()
    _bootstrap(rt, demo=_embedded(rt.settings))
    env = dict(os.environ)
    if not rt.settings.redis_url:  # let the children share this process's embedded Redis
        env["REDIS_URL"] = f"unix://{rt.redis.socket_file}"
    # in their own session: a Ctrl-C in the terminal reaches this process only, which then
    # stops them once (a second signal would make RQ's worker shut down cold)
    children = [subprocess.Popen([sys.executable, "-m", "bot.cli", cmd], env=env,
                                 start_new_session=True) for cmd in ("worker", "cron")]
    # stop cleanly on SIGTERM too, so the worker and cron children are never orphaned
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    click.echo(f"Shikkhok Sathi on http://{host}:{port}  (healthz: /healthz; "
               f"outbound: {'Twilio' if rt.settings.twilio_enabled else 'local outbox'}"
               + "".join(f", gateway {name}" for name in rt.gateways) + ")")
    try:
        from werkzeug.serving import run_simple

        from app import create_app

        # the console's cookie over plain http only on this machine's own address
        plain = host in ("127.0.0.1", "localhost", "::1")
        run_simple(host, port, create_app({"CONSOLE_PLAIN_HTTP": plain}), threaded=True)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=CHILD_STOP_WAIT)
            except subprocess.TimeoutExpired:  # never leave one behind
                child.kill()
                child.wait()
        rt.close()


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--processes", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (RQ's worker pool), each running jobs without a fork.")
def worker(burst: bool, processes: int):
    """Run RQ workers (with RQ's scheduler) on the inbound, outbound and default queues.
    No fork per job: flows, catalogues and NLU models are loaded once per process."""
    import worker as worker_module

    worker_module.run(burst=burst, processes=processes)


@main.command()
def cron():
    """Run RQ's cron scheduler with the project's periodic jobs."""
    from rq.cron import CronScheduler

    from .schedule import register

    logs.setup()
    register(CronScheduler(connection=runtime.current().redis)).start()


@main.command()
@click.option("--phone", required=True, help="A rostered number, e.g. +8801711000001")
@click.option("--text", "texts", multiple=True, help="Send this and print the replies "
              "(repeatable); without it, chat interactively.")
@click.option("--channel", default="sms", show_default=True,
              help="sms or whatsapp (through Twilio), or a gateway of the channels file.")
def simulate(phone: str, texts: tuple[str, ...], channel: str):
    """Chat as a person, through the same path as Twilio or a gateway (record, worker, outbox)."""
    from .simulate import format_reply, say

    try:
        phone = e164(phone)
    except InvalidPhone as e:
        raise click.BadParameter(str(e), param_hint="--phone") from None
    logs.setup()
    logging.getLogger().setLevel(logging.WARNING)  # the chat, not the log, on this terminal
    # replies stay in the local outbox, and the simulator works its own queues: it never texts a
    # real phone and never takes another person's jobs, even beside a running service
    settings = dataclasses.replace(Settings.from_env(), twilio_account_sid=None)
    rt = runtime.Runtime(settings, queue_prefix=f"simulate-{os.getpid()}-", offline=True)
    gateways = [n for n, gw in rt.gateways.items() if gw.receive is not None]
    if channel not in ("sms", "whatsapp", *gateways):
        rt.close()
        raise click.BadParameter(f"{channel!r} is not sms, whatsapp or a channel that receives "
                                 f"({', '.join(gateways) or 'none in SATHI_CHANNELS'})",
                                 param_hint="--channel")
    runtime.install(rt)
    _bootstrap(rt, demo=_embedded(settings))

    def turn(text: str) -> None:
        for reply in say(rt, phone, text, channel):
            click.echo(format_reply(reply, rt.gateways))

    try:
        if texts:
            for text in texts:
                click.echo(f"> {text}")
                turn(text)
            return
        click.echo("Type a message and press Enter; Ctrl-D to quit.")
        while True:
            try:
                text = click.prompt(">", prompt_suffix=" ")
            except (EOFError, click.Abort):
                click.echo()
                return
            turn(text)
    finally:
        rt.close()


@main.group("channels")
def channels_group():
    """The SMS channels: Twilio and the local gateways of the channels file (SATHI_CHANNELS)."""


@channels_group.command("check")
@click.option("--to", "to", help="Send a test SMS to this number, on the channel that serves it.")
@click.option("--channel", "via", help="Send the test on this channel instead (a name, or twilio).")
def channels_check(to: str | None, via: str | None):
    """List and check the channels; with --to, send a test SMS and print the gateway's answer."""
    from .channels.gateway_config import ChannelsFileError
    from .msgs import routing

    settings = Settings.from_env()
    try:
        rt = runtime.Runtime(settings)
    except ChannelsFileError as e:
        click.echo(str(e), err=True)
        sys.exit(1)
    base = settings.public_base_url
    click.echo("twilio: " + ("sms and whatsapp" if settings.twilio_enabled else
                             "not configured (replies stay in the local outbox)"))
    for gw in rt.gateways.values():
        click.echo("\n".join(gw.describe(base)))
    for warning in (w for gw in rt.gateways.values() for w in gw.warnings(base)):
        click.echo(f"warning: {warning}", err=True)
    if settings.channels_file:
        click.echo(f"{settings.channels_file}: {len(rt.gateways)} channel(s), valid")
    if to is None:
        rt.close()
        return
    try:
        number = e164(to)
    except InvalidPhone as e:
        raise click.BadParameter(str(e), param_hint="--to") from None
    provider = via or routing.serving(rt, number) or rt.default_provider
    if not routing.sends(rt, provider):
        raise click.BadParameter(f"no channel {provider!r} can send", param_hint="--channel")
    from .channels.base import Outgoing, Sent
    from .channels.segments import count

    body = rt.catalogues.text(TEST_MESSAGE, "bn")
    result = rt.adapter("sms", provider).send(Outgoing(to=number, channel="sms", body=body))
    rt.close()
    click.echo(f"test SMS to {number} via {provider} ({count(body).segments} segment, "
               f"{count(body).encoding}): {result}")
    sys.exit(0 if isinstance(result, Sent) else 1)


@main.group()
def roster():
    """Who the service talks to."""


@roster.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def roster_import(path: Path):
    """Import or update people from a CSV (phone,name,role,school_emis,school_name,upazila,
    district,language,channel). Invalid rows are reported with their line number."""
    from .contacts.roster import import_csv
    from .digests import rollup

    rt = runtime.current()
    rt.db.upgrade()
    with rt.db.session() as db:
        report = import_csv(db, path, rt.now())
        if report.moved:  # the upazilas' past weeks follow the schools that moved
            rollup.schools_moved(db)
    for line, reason in report.errors:
        click.echo(f"{path}:{line}: {reason}", err=True)
    click.echo(report.summary())
    if report.errors:
        sys.exit(1)


@main.group()
def campaign():
    """Campaigns (flows/campaigns.yaml): the weekly cycle and any other schedule."""


def _local(rt: runtime.Runtime, moment) -> str:
    return rt.calendar.local(moment).strftime("%a %Y-%m-%d %H:%M") if moment else "-"


@campaign.command("list")
@click.option("--week", help="School week, e.g. 2026-W48 (default: this week).")
def campaign_list(week: str | None):
    """What runs when, this week's progress, and each campaign's next run."""
    from .campaigns.campaign import next_runs
    from .campaigns.fanout import status, when

    rt = runtime.current()
    rt.db.upgrade()
    now = rt.now()
    week = _week(rt, week, now)
    upcoming, progress = next_runs(rt.calendar, rt.campaigns, now), status(rt, week)
    s = rt.settings
    click.echo(f"week {week} · window {s.send_window} {s.tz} · school days "
               + (", ".join(d.strftime("%a %d %b") for d in rt.calendar.week_days(week)) or "none"))
    width = max(10, *(len(name) for name in rt.campaigns))
    for name, c in rt.campaigns.items():
        span = when(rt.calendar, c, week)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(progress[name].items())) or "not planned"
        click.echo(f"{name:<{width}} {c.what}\n{'':<{width}} this week: "
                   f"{_local(rt, span[0]) if span else 'no day this week'} · {counts} · "
                   f"next run: {_local(rt, upcoming[name])}")


def _week(rt: runtime.Runtime, week: str | None, now) -> str:
    from .campaigns.calendar import CalendarError, parse_week

    if week is None:
        return rt.calendar.week_of(now)
    try:
        parse_week(week)
    except CalendarError as e:
        raise click.BadParameter(str(e), param_hint="--week") from None
    return week


def _campaign_name(ctx, param, name: str) -> str:
    known = runtime.current().campaigns
    if name not in known:
        raise click.BadParameter(f"no campaign '{name}' in flows/campaigns.yaml (one of: "
                                 f"{', '.join(known)})")
    return name


@campaign.command("run")
@click.argument("name", metavar="ID", callback=_campaign_name)
@click.option("--week", help="School week, e.g. 2026-W48 (default: this week).")
@click.option("--now", "now_flag", is_flag=True,
              help="Send now, outside the sending window too (opted-out teachers never get it).")
def campaign_run(name: str, week: str | None, now_flag: bool):
    """Run one campaign by hand: plan what is missing, send what is due, and summarise."""
    from .campaigns import fanout as campaigns

    rt = runtime.current()
    rt.db.upgrade()
    now = rt.now()
    week = _week(rt, week, now)
    report = campaigns.plan(rt, name, week, now, immediately=now_flag)
    batches: list[list[int]] = []
    claimed = campaigns.dispatch(rt, now, force=now_flag, hand_over=batches.append,
                                 campaigns=[name])
    outcomes: dict[str, int] = {}
    # the claimed rows are delivered here, in this process, so the operator sees them go;
    # their messages go to the outbox queue, which the workers send at the senders' rates
    with click.progressbar(length=claimed, label=f"{name} {week}") as bar:
        for ids in batches:
            for outcome, n in campaigns.deliver(ids).items():
                outcomes[outcome] = outcomes.get(outcome, 0) + n
            bar.update(len(ids))
    progress = campaigns.status(rt, week)[name]
    click.echo(f"{name} {week}: {report.planned} planned now ({report.already} already were); "
               f"{claimed} due: " + (", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
                                     or "none") + "; this week so far: "
               + ", ".join(f"{k} {v}" for k, v in sorted(progress.items())))
    deferred = outcomes.get("deferred", 0)
    if deferred:  # mid-conversation (or their turn was busy): theirs wait a little
        soon = now + campaigns.BUSY_DELAY
        later = soon
        if rt.campaigns[name].window and not rt.calendar.in_window(soon):
            later = rt.calendar.next_open(soon)  # the cron keeps to the window; --now did not
        again = f"run this again with --now after {_local(rt, soon)}"
        if rt.campaigns[name].is_over(rt.calendar, week, later):  # skipped then, never late
            when = f"{week} is over before the window opens again, so theirs go only if you {again}"
        else:
            when = f"theirs go out from {_local(rt, later)}" + (
                f" (or {again})" if later != soon else "")
        click.echo(f"{deferred} deferred: they were writing to us just now, so as not to "
                   f"interrupt; {when}")
    if report.start and not now_flag and report.start > now:
        click.echo(f"the rest go out from {_local(rt, report.start)} to {_local(rt, report.end)}")
    elif report.start is None and not now_flag:
        click.echo("nothing to plan: this campaign has no day left in that week "
                   "(use --now to send anyway)")
    elif report.start is None:
        click.echo("nothing to plan: that period is over, or the campaign skips that week")


@main.group("db")
def db_group():
    """The database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str):
    """Apply Alembic migrations."""
    runtime.current().db.upgrade(revision)
    click.echo("database is at " + revision)


@main.group("spool")
def spool_group():
    """What this host's web process kept on disk while the database was down."""


@spool_group.command("status")
def spool_status():
    """How many items wait in this host's spool, and how many were set aside (JSON)."""
    from .msgs import spool

    click.echo(json.dumps(spool.size()))


@spool_group.command("replay")
def spool_replay():
    """Record what this host's spool holds now (the web process does it by itself every few
    seconds; use this before retiring a web host). Exit 1 if anything is left."""
    from .msgs import spool

    logs.setup()
    n = spool.replay()
    left = spool.size()
    click.echo(f"{n} replayed; {left['pending']} waiting, {left['dead']} set aside")
    if left["pending"]:
        sys.exit(1)


@spool_group.command("retry-dead")
def spool_retry_dead():
    """Put what was set aside (spool/dead/) back in the queue, after fixing what stopped it;
    the web process replays it again, checks included."""
    from .msgs import spool

    click.echo(f"{spool.retry_dead()} put back in the queue")


@main.group("export")
def export_group():
    """Data for programme staff, without phone numbers or people's names."""


@export_group.command("assessments")
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True)
@click.option("--upazila", default=None, help="Only assessments taken in this upazila.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only assessments from this local date on (YYYY-MM-DD).")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-",
              show_default=True, help="Write to this file instead of standard output.")
def export_assessments(fmt: str, upazila: str | None, since, output):
    """One CSV row per learner result: school (EMIS, name), upazila, district, grade, date,
    slot and level. No phone numbers, no names of people."""
    from .assessment.records import export_rows, local_midnight, write_csv

    rt = runtime.current()
    tz = rt.settings.tz
    with rt.db.session() as db:
        start = local_midnight(since.date(), tz) if since else None
        n = write_csv(output, export_rows(db, tz, upazila=upazila, since=start))
    click.echo(f"{n} results exported", err=True)


@export_group.command("weekly")
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True)
@click.option("--upazila", default=None,
              help="Only this upazila's schools (with --district: upazila names repeat).")
@click.option("--district", default=None, help="Only this district's schools.")
@click.option("--week", "weeks", multiple=True,
              help="School week, e.g. 2026-W49 (repeatable; default: every week with figures, "
                   "and this one).")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-",
              show_default=True, help="Write to this file instead of standard output.")
def export_weekly(fmt: str, upazila: str | None, district: str | None, weeks, output):
    """The figures behind the digests: one CSV row per school and week (teachers, reflections,
    obstacles, assessments, levels, the headteacher's check-in). No phone numbers, no names
    of people."""
    from .contacts.jurisdiction import Area
    from .digests import export, figures, rollup
    from .store.models import FigureRefresh

    if upazila and not district:  # "সদর" is in most districts: one file would mix them
        raise click.UsageError("--upazila needs --district: upazila names repeat across "
                               "districts")
    rt = runtime.current()
    rt.db.upgrade()
    now = rt.now()
    chosen = [_week(rt, w, now) for w in weeks]
    levels = sorted(rt.levels.numbers_allowed)
    with rt.db.session() as db:
        if not chosen:
            chosen = sorted(set(db.execute(select(FigureRefresh.week)).scalars())
                            | {rt.calendar.week_of(now)})
        rollup.ensure_fresh(db, rt.calendar, chosen, now,
                            figures.reflection_campaigns(rt.campaigns))
    with rt.db.session() as db:
        n = export.write_csv(output, export.rows(db, Area(district=district, upazila=upazila),
                                                 chosen, levels), levels)
    click.echo(f"{n} school weeks exported", err=True)


@main.group("digest")
def digest_group():
    """Officers' digests and headteachers' summaries."""


@digest_group.command("preview")
@click.option("--officer", "phone", required=True,
              help="The phone of an officer, an ambassador or a headteacher.")
@click.option("--week", help="School week, e.g. 2026-W49 (default: this week).")
def digest_preview(phone: str, week: str | None):
    """Print exactly what would be sent now: the SMS text, a blank line, the WhatsApp text.
    Nothing is sent or changed."""
    from .digests import digest as digests
    from .digests.figures import reflection_campaigns
    from .digests.preview import NothingToPreview, preview

    try:
        phone = e164(phone)
    except InvalidPhone as e:
        raise click.BadParameter(str(e), param_hint="--officer") from None
    rt = runtime.current()
    rt.db.upgrade()
    now = rt.now()
    week = _week(rt, week, now)
    tools = digests.Tools(catalogues=rt.catalogues, calendar=rt.calendar, levels=rt.levels,
                          reflections=reflection_campaigns(rt.campaigns))
    with rt.db.sessions() as db:
        person = db.execute(select(Person).where(Person.phone == phone)).scalar_one_or_none()
        if person is None:
            raise click.BadParameter(f"no one on the roster has the number {phone}",
                                     param_hint="--officer")
        try:
            shown = preview(db, tools, rt.flows, person, week, now)
        except NothingToPreview as e:
            raise click.ClickException(str(e)) from None
        finally:
            db.rollback()  # a preview forwards no question and keeps no figure
    click.echo("\n".join(shown["sms"]))
    click.echo()
    click.echo("\n".join(shown["whatsapp"]))


@main.command("config")
def show_config():
    """Print every setting: its environment variable, the value in effect here (secrets shown
    as "(set)", a URL's password as ***) and what it does (JSON)."""
    from dataclasses import fields

    from sqlalchemy.engine import make_url

    settings = Settings.from_env()
    out = []
    for f in fields(Settings):
        env, value = f.metadata["env"], getattr(settings, f.name)
        if f.metadata.get("secret"):  # shown as "(set)", never the value
            value = None if value is None else "(set)"
        elif isinstance(value, str) and "://" in value and "@" in value:
            try:  # a password in a database or Redis URL
                value = make_url(value).render_as_string(hide_password=True)
            except Exception:
                value = "(set)"
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            value = str(value)
        out.append({"env": env, "value": value, "doc": f.metadata["doc"]})
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))


@main.group("content")
def content_group():
    """The modules, activities and leadership tips (flows/content/)."""


def _content_checks(settings: Settings):
    """The catalogues and the assessment levels the content is checked against."""
    from .assessment.levels import LevelsError, scale
    from .i18n import Catalogues

    try:
        levels = scale(str(settings.flows_dir))
    except LevelsError as e:
        click.echo(str(e), err=True)
        sys.exit(1)
    return Catalogues(settings.locales_dir), levels


@content_group.command("lint")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="The content directory  [default: SATHI_FLOWS/content]")
@click.option("--figures", is_flag=True, help="Also print the SMS cost of each weekly message "
              "(JSON).")
@click.option("--edits", is_flag=True, help="Lint the content as it is sent: the files with the "
              "edits made in the console (DATABASE_URL) laid over them.")
def content_lint(directory: Path | None, figures: bool, edits: bool):
    """Check the content: schema, every text in bn, en and bn-Latn, romanised Bangla in GSM-7,
    every assessment level suited by at least 3 activities, and that each weekly message fits 2
    SMS segments and a teacher's week 6."""
    from .campaigns.content import (
        MAX_SEGMENTS,
        MAX_WEEK_SEGMENTS,
        ContentError,
        budget,
        lint,
        load_content,
    )

    settings = Settings.from_env()
    directory = directory or settings.flows_dir / "content"
    try:
        content = load_content(directory)
    except ContentError as e:
        click.echo(str(e), err=True)
        sys.exit(1)
    catalogues, levels = _content_checks(settings)
    if edits:
        from .campaigns.content import laid_over
        from .store.db import Database

        database = Database(settings.database_url)
        with database.session() as db:
            content, catalogues = laid_over(db, content, catalogues)
        database.dispose()
    problems = lint(content, catalogues, levels)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {directory}"
                   + (" with the console's edits" if edits else ""), err=True)
        sys.exit(1)
    figures_ = budget(content, catalogues)[0]
    weeks = ", ".join(f"{lang} {s}" for lang, (s, _) in figures_.week.items())
    click.echo(f"OK: {len(content.modules)} modules, {len(content.activities)} activities, "
               f"{len(content.tips())} tips; every weekly message fits {MAX_SEGMENTS} SMS "
               f"segments, the longest week {weeks} (at most {MAX_WEEK_SEGMENTS})")
    if content.draft:
        click.echo(f"DRAFT: {content.draft}")
    if figures:
        click.echo(json.dumps(figures_.as_dict(), ensure_ascii=False, indent=2))


@content_group.command("export")
@click.argument("output", type=click.File("w", encoding="utf-8"), default="-")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="The content directory  [default: SATHI_FLOWS/content]")
def content_export(output, directory: Path | None):
    """Write the modules and activities as a spreadsheet (CSV) to fill in and import."""
    from .campaigns.content import ContentError, load_content
    from .campaigns.spreadsheet import export

    settings = Settings.from_env()
    try:
        content = load_content(directory or settings.flows_dir / "content")
    except ContentError as e:
        click.echo(str(e), err=True)
        sys.exit(1)
    rows = export(list(content.modules.values()), output)
    click.echo(f"{rows} rows: {len(content.modules)} modules, {len(content.activities)} "
               f"activities", err=True)


@content_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="The content directory whose modules.yaml it replaces  "
                   "[default: SATHI_FLOWS/content]")
@click.option("--draft", default=None, help="Mark the imported modules as a draft of our own, "
              "with this reason (the official list is imported without it).")
def content_import(path: Path, directory: Path | None, draft: str | None):
    """Replace modules.yaml with the modules and activities of a spreadsheet (CSV: id, module,
    grade, levels, video, field, bn, en, bn-Latn). Every row is checked, then the whole content
    goes through the lint; problems are reported as FILE:LINE: reason, and nothing changes
    unless there are none."""
    import os
    import shutil
    import tempfile

    from .campaigns.content import Content, ContentError, lint, load_content
    from .campaigns.spreadsheet import read, write_yaml

    settings = Settings.from_env()
    directory = directory or settings.flows_dir / "content"
    target = directory / "modules.yaml"
    sheet = read(path)
    problems = list(sheet.problems)
    if not problems:
        try:
            others = Content([], [])
            with tempfile.TemporaryDirectory() as tmp:  # the content as it will be
                for other in directory.glob("*.yaml"):
                    if other.name != target.name:
                        shutil.copy(other, tmp)
                others = load_content(tmp)
        except ContentError as e:
            problems.append(str(e))
        catalogues, levels = _content_checks(settings)
        if not problems:
            clash = {m.id for m in sheet.modules} & set(others.modules)
            problems += [f"{directory}: module {mid} is also defined in another file"
                         for mid in sorted(clash)]
            problems += lint(Content(sheet.modules, others.tips(), draft), catalogues, levels)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s): nothing imported, {target} is unchanged",
                   err=True)
        sys.exit(1)
    text = write_yaml(sheet.modules, str(path), draft)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="_import-", suffix=".yaml.tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, target)
    content = load_content(directory)
    click.echo(f"imported {len(content.modules)} modules, {len(content.activities)} activities "
               f"from {path} into {target}" + (" (draft)" if draft else ""))


@content_group.command("edit")
@click.argument("kind", type=click.Choice(["module", "activity", "tip", "message"]))
@click.argument("item")
@click.argument("language", type=click.Choice(["bn", "en", "bn-Latn"]))
@click.argument("text")
@click.option("--field", default=None, help="title, description, materials or try_it (an "
              "activity's); a module's title and a tip's text need none")
def content_edit(kind: str, item: str, language: str, text: str, field: str | None):
    """Change one text as the console does: linted first (nothing changes on a problem), then
    laid over the files for the next sends and audited as made by "cli"."""
    from .campaigns.content import EDIT_KINDS, Edit, save_edit

    name = field if field is not None else EDIT_KINDS[kind][0]
    rt = runtime.current()
    try:
        with rt.db.session() as db:
            problems = save_edit(db, rt.content, rt.catalogues, rt.levels,
                                 Edit(kind, item, name, language, text.strip()), "cli", rt.now())
    except KeyError:
        raise click.BadParameter(f"no {kind} {item} with a {name or 'text'}") from None
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s): nothing changed", err=True)
        sys.exit(1)
    click.echo(f"{kind} {item} {name} ({language}) saved: used from the next send")


@main.group("sms")
def sms_group():
    """SMS cost."""


@sms_group.command("count")
@click.argument("text")
def sms_count(text: str):
    """Print {"encoding", "segments", "units"} for TEXT, counted as Twilio counts segments."""
    from .channels.segments import count

    click.echo(json.dumps(count(text).as_dict(), ensure_ascii=False))


from .nlu.cli import nlu  # noqa: E402  (the `sathi nlu` group lives with the NLU code)

main.add_command(nlu)

REVIEW_COLUMNS = ("id", "at", "backend", "said", "guess", "confidence", "runner_up",
                  "runner_up_confidence", "text", "label")
"""`sathi nlu review --csv`: one row per message; staff fill in `label` and hand the file back."""


@nlu.command("review")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only messages from this local date on (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(1, 10000), default=None,
              help="At most this many messages, newest first (default 50).")
@click.option("--csv", "csv_out", type=click.File("w", encoding="utf-8"), default=None,
              help="Write the list as CSV with an empty `label` column, to fill in.")
@click.option("--label", "label_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Add the labelled rows of this CSV (text, label) to the training data.")
def nlu_review(since, limit: int | None, csv_out, label_file: Path | None):
    """Messages the NLU abstained on or was unsure of, phone numbers masked, with its two best
    guesses; or, with --label FILE, add labelled lines to the training data (checked as the data
    tests check it) and tune the bars again."""
    from .msgs import understood
    from .nlu import defaults, labels

    rt = runtime.current()
    if label_file is not None:
        try:
            rows = labels.read(label_file)
            added = labels.add(rows)
        except labels.LabelError as e:
            for problem in e.problems:
                click.echo(f"{label_file}: {problem}", err=True)
            raise click.ClickException("nothing added: fix the lines above and run again")
        with rt.db.session() as db:
            marked = understood.mark_reviewed(
                db, [r.review_id for r in rows if r.review_id is not None], rt.now())
        if not added:
            click.echo("no labelled rows")
            return
        click.echo(", ".join(f"{n} line(s) added to {name}" for name, n in added.items())
                   + f"; {marked} message(s) marked reviewed; bars tuned again "
                   "(run `sathi nlu train` for Rasa)")
        return
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(rt.settings.tz)
    start = since.replace(tzinfo=tz) if since else None
    with rt.db.session() as db:
        found = understood.unsure(db, start, limit or defaults.REVIEW_LIMIT)
    rows = [{"id": u.id, "at": u.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
             "backend": u.backend, "said": u.intent or "", "guess": u.guess or "",
             "confidence": f"{u.confidence:.2f}", "runner_up": u.runner_up or "",
             "runner_up_confidence": "" if u.runner_up_confidence is None
             else f"{u.runner_up_confidence:.2f}", "text": u.text, "label": ""} for u in found]
    if csv_out is not None:
        import csv

        writer = csv.DictWriter(csv_out, fieldnames=REVIEW_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        click.echo(f"{len(rows)} message(s) to label", err=True)
        return
    if not rows:
        click.echo("nothing to review")
        return
    click.echo(f"{'id':>6}  {'at':<16}  {'said':<12}  {'best guess':<20}  {'second':<20}  text")
    for r in rows:
        best = f"{r['guess']} {r['confidence']}"
        second = f"{r['runner_up']} {r['runner_up_confidence']}".strip()
        click.echo(f"{r['id']:>6}  {r['at']:<16}  {r['said'] or '—':<12}  {best:<20}  "
                   f"{second:<20}  {r['text']}")


from console.cli import staff  # noqa: E402  (`sathi staff`: the console's accounts)
from ivr.cli import prompts  # noqa: E402  (the `sathi prompts` group lives with the voice code)

main.add_command(prompts)
main.add_command(staff)


def run() -> None:
    """The `sathi` command. A data file or setting that cannot be used (a flow, campaigns,
    content, levels, holidays, the sending window) is named with its reason, not a traceback."""
    from .assessment.levels import LevelsError
    from .campaigns.calendar import CalendarError
    from .schemas import DataFileError

    try:
        main()
    except (DataFileError, CalendarError, LevelsError) as e:
        click.echo(f"sathi: {e}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    run()
