"""`sathi nlu train` trains only when the model for the current inputs is missing."""
from click.testing import CliRunner

from bot.cli import main
from bot.nlu import defaults, rasa


def test_model_name_follows_config_domain_and_data(tmp_path, monkeypatch):
    first = rasa.model_path(tmp_path)
    assert first.parent == tmp_path / "rasa-models" and first.name.endswith(".tar.gz")
    copy = tmp_path / "nlu.yml"
    copy.write_text(defaults.DATA.read_text(encoding="utf-8") + "    - one more hello\n",
                    encoding="utf-8")
    monkeypatch.setattr(defaults, "DATA", copy)
    assert rasa.model_path(tmp_path) != first


def test_an_existing_model_is_not_retrained(tmp_path, monkeypatch):
    monkeypatch.setenv("SATHI_CACHE", str(tmp_path))
    monkeypatch.delenv("SATHI_RASA_EPOCHS", raising=False)  # scripts/test sets it: the model
    # of config.yml as it is is the one this test lays down
    model = rasa.model_path(tmp_path)
    model.parent.mkdir(parents=True)
    model.write_bytes(b"a model trained earlier")
    result = CliRunner().invoke(main, ["nlu", "train"])  # no Rasa venv here: it must not need one
    assert result.exit_code == 0 and f"up to date: {model}" in result.output
    result = CliRunner().invoke(main, ["nlu", "model-path"])
    assert (result.exit_code, result.output.strip()) == (0, str(model))


def test_training_without_the_rasa_venv_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SATHI_CACHE", str(tmp_path))
    result = CliRunner().invoke(main, ["nlu", "train"])
    assert result.exit_code == 1 and "scripts/nlu-install" in result.output
    assert CliRunner().invoke(main, ["nlu", "model-path"]).exit_code == 1


def test_the_suites_quicker_model_is_a_model_of_its_own(tmp_path):
    import yaml

    production, quick = rasa.model_path(tmp_path), rasa.model_path(tmp_path, epochs=20)
    assert production != quick  # never served in place of the production model
    diet = [c for c in yaml.safe_load(rasa.config_text(20))["pipeline"]
            if c["name"] == "DIETClassifier"]
    assert [c["epochs"] for c in diet] == [20]
    assert rasa.config_text(None) == defaults.CONFIG.read_text(encoding="utf-8")
    assert yaml.safe_load(rasa.config_text(20))["pipeline"][:-2] == \
        yaml.safe_load(rasa.config_text(None))["pipeline"][:-2]  # the rest of it unchanged
