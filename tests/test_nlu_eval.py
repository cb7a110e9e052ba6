"""`sathi nlu eval`: scores a backend on any Rasa-format file, as text or one JSON object."""
import json

from click.testing import CliRunner

from bot.cli import main
from bot.nlu.data import Example
from bot.nlu.evaluation import evaluate

SMALL = """version: "3.1"
nlu:
- intent: thanks
  examples: |
    - onek dhonnobad apa
    - thank you so much sir
- intent: snooze
  examples: |
    - kal korbo
    - xqzv bnmw
"""


def test_scores_with_thresholds_and_names_the_confusions():
    truth = [Example("a", "thanks"), Example("b", "thanks"), Example("c", "snooze"),
             Example("d", "snooze")]
    said = {"a": "thanks", "b": "snooze", "c": "snooze", "d": None}
    report = evaluate(truth, said.get, "test")
    assert report["accuracy"] == 0.5
    assert report["per_intent"]["thanks"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667,
                                              "support": 2}
    assert report["per_intent"]["snooze"]["precision"] == 0.5
    assert report["macro_f1"] == round((2 / 3 + 0.5) / 2, 4)
    assert report["abstained"] == 1
    assert report["confusions"] == [{"true": "snooze", "predicted": "(none)", "count": 1},
                                    {"true": "thanks", "predicted": "snooze", "count": 1}]


def test_eval_json(tmp_path):
    path = tmp_path / "small.yml"
    path.write_text(SMALL, encoding="utf-8")
    result = CliRunner().invoke(main, ["nlu", "eval", "--data", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"accuracy", "macro_f1", "per_intent", "backend"} <= set(report)
    assert report["backend"] == "embedded" and report["examples"] == 4
    assert report["accuracy"] == 0.75  # the gibberish line gets no intent
    assert report["confusions"] == [{"true": "snooze", "predicted": "(none)", "count": 1}]


def test_eval_text_report(tmp_path):
    path = tmp_path / "small.yml"
    path.write_text(SMALL, encoding="utf-8")
    out = CliRunner().invoke(main, ["nlu", "eval", "--data", str(path)]).output
    assert "accuracy: 0.750" in out and "macro F1:" in out
    assert "snooze -> (none): 1" in out
    assert [l.split()[0] for l in out.splitlines() if l.startswith(("thanks ", "snooze "))] == \
        ["snooze", "thanks"]


def test_eval_rasa_needs_a_url(tmp_path, monkeypatch):
    monkeypatch.delenv("RASA_URL", raising=False)
    path = tmp_path / "small.yml"
    path.write_text(SMALL, encoding="utf-8")
    result = CliRunner().invoke(main, ["nlu", "eval", "--data", str(path), "--backend", "rasa"])
    assert result.exit_code == 2 and "RASA_URL" in result.output


def test_eval_refuses_a_file_without_examples(tmp_path):
    path = tmp_path / "empty.yml"
    path.write_text('version: "3.1"\nnlu: []\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["nlu", "eval", "--data", str(path)])
    assert result.exit_code != 0
