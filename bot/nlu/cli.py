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
@click.option("--data", "data_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A Rasa-format NLU YAML file, e.g. bot/nlu/tests/blind.yml.")
@click.option("--model", type=click.Choice(["intents", "obstacles"]), default="intents",
              show_default=True, help="obstacles: what stopped a teacher (embedded only).")
@click.option("--backend", type=click.Choice(["embedded", "rasa"]), default="embedded",
              show_default=True)
@click.option("--rasa-url", envvar="RASA_URL", help="For --backend rasa (default: RASA_URL).")
@click.option("--cv", "folds", type=click.IntRange(2, 20),
              help="Also K-fold cross-validation of the embedded classifier over its training "
                   "file, as written and with spaces or vowels left out.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate(data_file: Path | None, model: str, backend: str, rasa_url: str | None,
             folds: int | None, as_json: bool):
    """Accuracy, macro F1, per-class precision/recall/F1 and confusions on FILE, as the
    service would act (bars applied, an abstention counted as a miss)."""
    from . import data, defaults
    from .client import Client, accept
    from .evaluation import cross_validate, format_report
    from .evaluation import evaluate as score

    if data_file is None and folds is None:
        raise click.UsageError("give --data FILE, --cv K, or both")
    if model == "obstacles" and backend == "rasa":
        raise click.UsageError("obstacles are coded by the embedded classifier only")
    out = {}
    if data_file is not None:
        examples = data.load(data_file)
        if model == "obstacles":
            from .obstacles import code

            predict = lambda text: (code(text) or (None,))[0]  # noqa: E731
        elif backend == "rasa":
            if not rasa_url:
                raise click.UsageError("--backend rasa needs --rasa-url or RASA_URL")
            client = Client(rasa_url, None, timeout=10.0)  # Rasa itself, no fallback
            predict = lambda text: client.parse_rasa(text).intent  # noqa: E731
        else:
            predict = lambda text: Client.parse_embedded(text).intent  # noqa: E731
        out["data"] = score(examples, predict, backend)
    if folds is not None:
        from . import obstacles

        training = defaults.OBSTACLE_DATA if model == "obstacles" else defaults.DATA
        if model == "obstacles":  # not coded, for whatever reason, is right for a "none" line
            act = lambda g: obstacles.act(g) or defaults.NOT_AN_OBSTACLE  # noqa: E731
        else:
            act = lambda g: accept(g.intent, g.confidence, "embedded", g.known)  # noqa: E731
        out["cv"] = cross_validate(data.load(training), folds, defaults.CV_SEED, act)
    if as_json:
        click.echo(json.dumps(out["data"] if folds is None else out, ensure_ascii=False))
        return
    if "data" in out:
        click.echo(format_report(out["data"]))
    for name, report in (out.get("cv") or {}).items():
        if name == "as written":
            click.echo(("\n" if "data" in out else "") + format_report(report))
        else:
            click.echo(f"\n{report['backend']}: accuracy {report['accuracy']:.3f}   macro F1 "
                       f"{report['macro_f1']:.3f}   abstained {report['abstained']}")


@nlu.command()
def tune():
    """Tune each class's confidence bar by cross-validation over the training files, and write
    them to bot/nlu/data/thresholds.yml (run it after changing a training file)."""
    from . import thresholds

    for name, found in thresholds.retune().items():
        click.echo(f"{name}: least known {found['min_known']:.2f}; bars "
                   + ", ".join(f"{k} {v:.2f}" for k, v in found["bars"].items()))
