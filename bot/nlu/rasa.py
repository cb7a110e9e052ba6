"""The Rasa side: where its venv and models live, training only when the inputs changed.

Rasa 3.6 needs Python 3.10 and its own dependencies (TensorFlow), so it runs from a venv of its
own under SATHI_CACHE (made by scripts/nlu-install) as a separate server (scripts/nlu-serve).
A model is named by a hash of everything it is trained from (config, domain, data, Rasa's
version), so an unchanged model is found, not retrained.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import yaml

from . import defaults


def venv(cache_dir: Path) -> Path:
    return Path(cache_dir) / "rasa-venv"


def executable(cache_dir: Path) -> Path:
    return venv(cache_dir) / "bin" / "rasa"


def config_text(epochs: int | None = None) -> str:
    """Rasa's pipeline: config.yml as it is, or with DIET trained for `epochs` instead (the
    test suite's quicker model, SATHI_RASA_EPOCHS; the production model keeps config.yml's)."""
    text = defaults.CONFIG.read_text(encoding="utf-8")
    if epochs is None:
        return text
    config = yaml.safe_load(text)
    diet = [c for c in config["pipeline"] if c["name"] == "DIETClassifier"]
    if not diet:
        raise ValueError(f"{defaults.CONFIG} has no DIETClassifier whose epochs could be set")
    for component in diet:
        component["epochs"] = int(epochs)
    return (f"# {defaults.CONFIG.name} with DIET trained for {epochs} epochs "
            f"(SATHI_RASA_EPOCHS)\n" + yaml.safe_dump(config, sort_keys=False))


def inputs_hash(epochs: int | None = None) -> str:
    h = hashlib.sha256(defaults.RASA_VERSION.encode())
    h.update(b"config.yml\0" + config_text(epochs).encode() + b"\0")
    for path in (defaults.DOMAIN, defaults.DATA):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def model_path(cache_dir: Path, epochs: int | None = None) -> Path:
    return Path(cache_dir) / "rasa-models" / f"nlu-{inputs_hash(epochs)}.tar.gz"


class RasaMissing(RuntimeError):
    """The Rasa venv is not installed (run scripts/nlu-install)."""


def train(cache_dir: Path, force: bool = False,
          epochs: int | None = None) -> tuple[Path, float | None]:
    """Train unless a model of these inputs exists. Returns (model, seconds, None if reused)."""
    model = model_path(cache_dir, epochs)
    if model.exists() and not force:
        return model, None
    rasa = executable(cache_dir)
    if not rasa.exists():
        raise RasaMissing(f"{rasa} not found: run scripts/nlu-install")
    work = Path(cache_dir) / "rasa-work"  # Rasa writes a .rasa/ cache into its working directory
    work.mkdir(parents=True, exist_ok=True)
    model.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.monotonic()
    config = defaults.CONFIG
    if epochs is not None:  # the derived pipeline lives beside the models it trains
        config = Path(cache_dir) / "rasa-configs" / f"config-e{int(epochs)}.yml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(config_text(epochs), encoding="utf-8")
    command = [str(rasa), "train", "nlu", "--config", str(config),
               "--domain", str(defaults.DOMAIN), "--nlu", str(defaults.DATA),
               "--out", str(model.parent), "--fixed-model-name", model.name[:-len(".tar.gz")]]
    if force:  # Rasa also caches trained components in work/.rasa/cache: train all afresh
        env["RASA_MAX_CACHE_SIZE"] = "0"
    subprocess.run(command, cwd=work, env=env, check=True)
    if not model.exists():
        raise RuntimeError(f"Rasa finished but {model} is missing")
    return model, time.monotonic() - started
