"""`sathi nlu …`: train the Rasa model, evaluate a backend on a Rasa-format file."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group()
def nlu():
    """Understanding free text: Rasa and the embedded classifier."""


@nlu.command()
@click.option("--force", is_flag=True, help="Train even if a model of these inputs exists.")
def train(force: bool):
    """Train the Rasa model from bot/nlu/ (skipped when config and data are unchanged)."""
    import subprocess

    from ..config import Settings
    from . import rasa

    settings = Settings.from_env()
    try:
        model, seconds = rasa.train(settings.cache_dir, force=force, epochs=settings.rasa_epochs)
    except rasa.RasaMissing as e:
        raise click.ClickException(str(e)) from None
    except subprocess.CalledProcessError as e:
        raise click.ClickException(f"rasa train failed (exit {e.returncode}); see above") from None
    if seconds is None:
        click.echo(f"up to date: {model}")
    else:
        click.echo(f"trained in {seconds:.0f} s: {model}")


@nlu.command("model-path")
def model_path():
    """Print the path of the Rasa model for the current inputs (exit 1 if not trained)."""
    from ..config import Settings
    from . import rasa

    settings = Settings.from_env()
    path = rasa.model_path(settings.cache_dir, settings.rasa_epochs)
    click.echo(str(path))
    sys.exit(0 if path.exists() else 1)


@nlu.command("eval")
@click.option("--data", "data_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A Rasa-format NLU YAML file, e.g. bot/nlu/tests/heldout.yml.")
@click.option("--backend", type=click.Choice(["embedded", "rasa"]), default="embedded",
              show_default=True)
@click.option("--rasa-url", envvar="RASA_URL", help="For --backend rasa (default: RASA_URL).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate(data_file: Path, backend: str, rasa_url: str | None, as_json: bool):
    """Accuracy, macro F1, per-intent precision/recall/F1 and confusions on FILE."""
    from . import data
    from .client import Client
    from .evaluation import evaluate as score
    from .evaluation import format_report

    examples = data.load(data_file)
    if backend == "rasa":
        if not rasa_url:
            raise click.UsageError("--backend rasa needs --rasa-url or RASA_URL")
        client = Client(rasa_url, None, timeout=10.0)  # Rasa itself, no fallback
        predict = lambda text: client.parse_rasa(text).intent  # noqa: E731
    else:
        predict = lambda text: Client.parse_embedded(text).intent  # noqa: E731
    report = score(examples, predict, backend)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        click.echo(format_report(report))
