"""`sathi prompts`: the recording script for a voice artist, and the prompts still unrecorded."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from bot import runtime

from .prompts import missing, prompts_of, script


@click.group("prompts")
def prompts():
    """Recorded voice prompts (ivr/prompts/bn/<key>.mp3)."""


@prompts.command("script")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the CSV here instead of to standard output.")
def prompts_script(output: Path | None):
    """Write the recording script as CSV: key, Bangla text, estimated seconds, recorded."""
    rt = runtime.current()
    text = script(prompts_of(rt), rt.flows)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


@prompts.command("check")
@click.option("--strict", is_flag=True, help="Exit 1 when any recordable prompt has no audio.")
def prompts_check(strict: bool):
    """List the voice prompts that have no recording (they are spoken by text-to-speech)."""
    rt = runtime.current()
    unrecorded, dynamic = missing(prompts_of(rt), rt.flows)
    for key in unrecorded:
        click.echo(key)
    click.echo(f"{len(unrecorded)} recordable prompts without audio (spoken by text-to-speech); "
               f"{len(dynamic)} more name a value and are always spoken.", err=True)
    if strict and unrecorded:
        sys.exit(1)
