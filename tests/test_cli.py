"""The command line, in-process (typer's CliRunner) and as the installed `medr1` program."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from medr1_cli import cli
from medr1_cli.resolution import shipped_configs_dir
from tests.conftest import REPO, heavy_modules_imported_by, run_medr1

runner = CliRunner()
COMMANDS = [
    ["prepare-data"], ["train"], ["evaluate"], ["export"], ["benchmarks"], ["analyze"], ["demo"],
    ["config"], ["config", "show"], ["config", "validate"],
]


def invoke(*args: str, cwd=None):
    if cwd is None:
        return runner.invoke(cli.app, list(args), env={"COLUMNS": "200"})
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(cli.app, list(args), env={"COLUMNS": "200"})
    finally:
        os.chdir(previous)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: medr1 " + " ".join(command) in result.output


def test_top_level_help_lists_every_command():
    result = invoke("--help")
    # the names in the Commands section itself (several also appear in the help's prose)
    listed = result.output.split("Commands:", 1)[1].splitlines()
    names = {line.split()[0] for line in listed if line.startswith("  ") and line.split()}
    assert names == {"prepare-data", "train", "evaluate", "export", "benchmarks", "analyze", "demo", "config", "report",
                     "grade"}


def test_export_of_a_missing_run_says_what_to_give_and_writes_nothing(tmp_path):
    result = invoke("export", "runs/x/checkpoint-5", cwd=tmp_path)
    assert result.exit_code == 2
    assert "runs/x/checkpoint-5 is not a folder" in result.output and "give a run folder" in result.output
    assert list(tmp_path.iterdir()) == []


def test_prepare_data_flags_reach_the_config(tmp_path):
    result = invoke("prepare-data", "-c", "tiny", "--template", "no-thinkk", "--curriculum", "hard-first", cwd=tmp_path)
    assert result.exit_code == 2
    assert "data.template = 'no-thinkk'  (flag --template): unknown template (did you mean 'no-think'?)" in result.output
    assert "data.curriculum = 'hard-first'  (flag --curriculum)" in result.output
    assert list(tmp_path.iterdir()) == []


def test_export_validates_its_flags_before_looking_for_the_run(tmp_path):
    result = invoke("export", "--dtype", "bf16", "--max-shard-size", "lots", cwd=tmp_path)
    assert result.exit_code == 2
    assert "export.dtype = 'bf16'  (flag --dtype)" in result.output
    assert "export.max_shard_size = 'lots'  (flag --max-shard-size)" in result.output


def test_evaluate_flags_reach_the_config(tmp_path):
    result = invoke("evaluate", "--engine", "lmeval", "--limit", "0", cwd=tmp_path)
    assert result.exit_code == 2
    assert "eval.engine = 'lmeval'  (flag --engine)" in result.output
    assert "eval.limit = 0  (flag --limit)" in result.output


def test_train_flags_reach_the_config(tmp_path):
    result = invoke("train", "--topology", "clocate", "--num-processes", "2", cwd=tmp_path)
    assert result.exit_code == 2
    assert "train.topology = 'clocate'  (flag --topology)" in result.output
    assert "(did you mean 'colocate'?)" in result.output


def test_unknown_flag_is_a_usage_error():
    result = invoke("train", "--topolgy", "single")
    assert result.exit_code == 2
    assert "No such option: --topolgy" in result.output


def test_config_show_applies_set_override():
    result = invoke("config", "show", "-c", "demo-cpu", "--set", "train.grpo.learning_rate=1e-6")
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.output)
    assert shown["train"]["grpo"]["learning_rate"] == 1e-6
    assert shown["model"]["name_or_path"] == "builtin:smollm2-135m-instruct"
    assert set(shown) == {"model", "data", "train", "eval", "export"}


def test_config_show_unknown_key_did_you_mean():
    result = invoke("config", "show", "-c", "demo-cpu", "--set", "train.grpo_x=1")
    assert result.exit_code == 2
    assert "train.grpo_x  (--set train.grpo_x=1): unknown key (did you mean 'grpo'?)" in result.output
    assert "Traceback" not in result.output


def test_config_show_explain_documents_keys():
    result = invoke("config", "show", "--explain")
    assert result.exit_code == 0
    assert "model.lora.load_in_4bit" in result.output and "Q-LoRA" in result.output


def test_config_validate_defaults_to_shipped_configs(tmp_path):
    result = invoke("config", "validate", cwd=REPO)
    assert result.exit_code == 0, result.output
    shipped = sorted(shipped_configs_dir().glob("*.yaml"))
    assert f"{len(shipped)} valid, 0 invalid" in result.output


def test_config_validate_reports_every_bad_file(tmp_path):
    (tmp_path / "good.yaml").write_text("model:\n  name_or_path: builtin:tiny\n")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "bad.yml").write_text("train:\n  topology: clocate\n")
    (tmp_path / "broken.yaml").write_text("train: [1,\n")
    (tmp_path / "notes.txt").write_text("not a config")
    result = invoke("config", "validate", str(tmp_path))
    assert result.exit_code == 2
    assert "1 valid, 2 invalid" in result.output
    assert "(did you mean 'colocate'?)" in result.output
    assert "malformed YAML" in result.output
    assert "notes.txt" not in result.output


def test_config_validate_missing_path():
    result = invoke("config", "validate", "/no/such.yaml")
    assert result.exit_code == 2
    assert "config file not found: /no/such.yaml" in result.output


def test_unexpected_errors_keep_their_traceback(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug, not a user error")

    monkeypatch.setattr("medr1_cli.resolution.resolve_config", broken)
    result = invoke("config", "show")
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)


# ------------------------------------------------------------------- the installed program
def test_installed_program_and_module_entry_point():
    result = run_medr1("--help")
    assert result.returncode == 0 and "prepare-data" in result.stdout
    module = subprocess.run(
        [sys.executable, "-m", "medr1_cli", "config", "show", "-c", "tiny"], capture_output=True, text=True
    )
    assert module.returncode == 0, module.stderr
    assert yaml.safe_load(module.stdout)["model"]["name_or_path"] == "builtin:tiny"


def test_user_error_in_a_subprocess_exits_2_without_traceback():
    result = run_medr1("config", "show", "--set", "train.grpo_x=1")
    assert result.returncode == 2
    assert "did you mean 'grpo'?" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_unexpected_error_in_a_subprocess_shows_traceback_without_locals(tmp_path):
    not_a_folder = tmp_path / "home-is-a-file"
    not_a_folder.write_text("")
    result = run_medr1("demo", "--model", "builtin:tiny", "-o", str(tmp_path / "out"),
                       env={"MEDR1_HOME": str(not_a_folder)})
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "locals" not in result.stderr  # typer would print every frame's variables by default


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_does_not_import_heavy_libraries(command):
    assert heavy_modules_imported_by(*command, "--help") == []


def test_config_commands_do_not_import_heavy_libraries():
    assert heavy_modules_imported_by("config", "show", "-c", "demo-cpu") == []
    assert heavy_modules_imported_by("config", "validate") == []


def test_the_import_probe_does_see_heavy_imports(tmp_path):
    # Guards the two tests above: a command that loads a tokenizer must show up as importing torch.
    imported = heavy_modules_imported_by("prepare-data", "-c", "tiny", "-o", str(tmp_path / "out"))
    assert "torch" in imported and "transformers" in imported
