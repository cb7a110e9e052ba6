"""The `sathi` command: serve, worker, cron, simulate, roster import, db upgrade."""
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
from .models import Person
from .phones import InvalidPhone, e164


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
    from .roster import DEMO_NAME, import_csv

    with rt.db.session() as db:
        if db.execute(select(func.count(Person.id))).scalar():
            return
        report = import_csv(db, rt.settings.flows_dir / DEMO_NAME, rt.now())
    click.echo(f"demo roster loaded: {report.summary()}")


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
    children = [subprocess.Popen([sys.executable, "-m", "bot.cli", cmd], env=env)
                for cmd in ("worker", "cron")]
    # stop cleanly on SIGTERM too, so the worker and cron children are never orphaned
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    click.echo(f"Shikkhok Sathi on http://{host}:{port}  (healthz: /healthz; "
               f"outbound: {'Twilio' if rt.settings.twilio_enabled else 'local outbox'})")
    try:
        from werkzeug.serving import run_simple

        from app import create_app

        run_simple(host, port, create_app(), threaded=True)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=30)
        rt.close()


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(burst: bool):
    """Run an RQ worker (with RQ's scheduler) on the inbound, outbound and default queues."""
    import worker as worker_module

    worker_module.run(burst=burst)


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
@click.option("--channel", type=click.Choice(["sms", "whatsapp"]), default="sms",
              show_default=True)
def simulate(phone: str, texts: tuple[str, ...], channel: str):
    """Chat as a person, through the same path as Twilio (record, worker, outbox)."""
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
    rt = runtime.Runtime(settings, queue_prefix=f"simulate-{os.getpid()}-")
    runtime.install(rt)
    _bootstrap(rt, demo=_embedded(settings))

    def turn(text: str) -> None:
        for reply in say(rt, phone, text, channel):
            click.echo(format_reply(reply))

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


@main.group()
def roster():
    """Who the service talks to."""


@roster.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def roster_import(path: Path):
    """Import or update people from a CSV (phone,name,role,school_emis,school_name,upazila,
    district,language,channel). Invalid rows are reported with their line number."""
    from .roster import import_csv

    rt = runtime.current()
    rt.db.upgrade()
    with rt.db.session() as db:
        report = import_csv(db, path, rt.now())
    for line, reason in report.errors:
        click.echo(f"{path}:{line}: {reason}", err=True)
    click.echo(report.summary())
    if report.errors:
        sys.exit(1)


@main.group("db")
def db_group():
    """The database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str):
    """Apply Alembic migrations."""
    runtime.current().db.upgrade(revision)
    click.echo("database is at " + revision)


@main.command("config")
def show_config():
    """Print every setting, its environment variable and what it does (JSON)."""
    from .config import documented

    click.echo(json.dumps([{"env": env, "doc": doc} for env, doc in documented()],
                          ensure_ascii=False, indent=2))


from .nlu.cli import nlu  # noqa: E402  (the `sathi nlu` group lives with the NLU code)

main.add_command(nlu)


if __name__ == "__main__":
    main()
