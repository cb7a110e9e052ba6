"""`sathi staff add EMAIL --role admin|programme|officer [--upazila U] [--district D]`: a
console account. The password is asked twice at the terminal (never an argument: it would stay
in the shell's history), or read from the first line of standard input with --password-stdin."""
from __future__ import annotations

import sys

import click

from bot import runtime
from bot.store.models import STAFF_ROLES

from . import text


@click.group("staff")
def staff():
    """Console accounts for the programme team and the officers."""


@staff.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(STAFF_ROLES), required=True,
              help="admin and programme see every area; an officer only theirs.")
@click.option("--upazila", help="An upazila officer's upazila (its district is found from the "
              "roster; give --district too when the name is in several districts).")
@click.option("--district", help="A district officer's district, or the upazila's.")
@click.option("--language", type=click.Choice(text.LANGUAGES), default=text.DEFAULT,
              show_default=True, help="The console's language for this account.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
def add(email: str, role: str, district: str | None, upazila: str | None, language: str,
        password_stdin: bool):
    """Add a console account."""
    from .auth import add as add_staff

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    rt = runtime.current()
    try:
        with rt.db.session() as db:
            account = add_staff(db, email, role, password, rt.now(), district=district,
                                upazila=upazila, language=language)
            where = ", ".join(x for x in (account.upazila, account.district) if x) or "every area"
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"added {account.email} ({role}, {where})")
