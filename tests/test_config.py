"""The one config layer: precedence, typing, and an error report that names every problem."""

from __future__ import annotations

import pytest
import yaml

from medr1_cli.config import Medr1Config
from medr1_cli.errors import ConfigError
from medr1_cli.layout import RESOLVED_CONFIG_NAME
from medr1_cli.resolution import explain_fields, find_config_file, resolve_config, shipped_configs_dir


def problems_of(*args, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        resolve_config(*args, **kwargs)
    return caught.value.message


# ------------------------------------------------------------------------------ precedence
def test_defaults_are_the_reference_setup():
    config = resolve_config()
    assert config.data.mixes == {
        "usmle": {"medqa": 1090},
        "mix": {"medqa": 600, "medxpertqa": 490},
        "xpert": {"medxpertqa": 490},
        "demo": {"demo-medqa": 48, "demo-medxpertqa": 16},
        "omnimedvqa": {"omnimedvqa": "all"},  # Med-R1: split per group by data.vqa
    }
    assert (config.data.vqa.split_by, config.data.vqa.test_share) == ("modality", 0.2)
    assert config.data.holdout["medxpertqa"] == "question_type"  # MedXpertQA is carved, stratified
    assert config.train.rewards == {"accuracy": 1.0, "format": 1.0}
    assert config.eval.benchmarks == ["medmcqa", "medqa", "pubmedqa", "mmlu_pro_med", "gpqa_med", "medxpertqa"]


def test_precedence_defaults_yaml_set_flags(write_yaml):
    path = write_yaml(
        "train:\n  topology: colocate\n  num_processes: 3\n  grpo:\n    learning_rate: 2.0e-5\n    beta: 0.04\n"
        "data:\n  seed: 7\n"
    )
    config = resolve_config(
        path,
        ["train.num_processes=5", "train.grpo.learning_rate=1e-6", "data.seed=9"],
        {"data.seed": ("--seed", 11), "train.resume": ("--resume", None)},
    )
    assert config.train.topology == "colocate"  # YAML over default
    assert config.train.num_processes == 5  # --set over YAML
    assert config.train.grpo == {"learning_rate": 1e-6, "beta": 0.04}  # --set merges into the free mapping
    assert config.data.seed == 11  # flag over --set
    assert config.train.resume == "auto"  # a flag that was not given changes nothing
    assert config.model.name_or_path == "builtin:smollm2-135m-instruct"  # untouched default


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e-6", 1e-6),
        ("2.0e-05", 2e-5),
        ("5E+3", 5000.0),
        ("16", 16),
        ("true", True),
        ("False", False),
        ("no", "no"),  # YAML 1.1 would make these booleans; TRL wants save_strategy: no as a string
        ("on", "on"),
        ("null", None),
        ("[a, b]", ["a", "b"]),
        ("cosine", "cosine"),
        ("'16'", "16"),
    ],
)
def test_set_values_are_typed_like_yaml(text, expected):
    config = resolve_config(overrides=[f"train.grpo.x={text}"])
    assert config.train.grpo["x"] == expected
    assert type(config.train.grpo["x"]) is type(expected)


def test_exponent_floats_without_a_dot_are_floats_in_files_too(write_yaml):
    # Plain PyYAML reads `1e-6` as a string, which TRL would reject far into a run.
    config = resolve_config(write_yaml("train:\n  grpo:\n    learning_rate: 1e-6\n"))
    assert config.train.grpo["learning_rate"] == pytest.approx(1e-6)


def test_empty_file_means_defaults(write_yaml):
    assert resolve_config(write_yaml("# nothing yet\n")) == Medr1Config()


# ---------------------------------------------------------------------------------- errors
def test_unknown_key_names_file_line_and_suggestion(write_yaml):
    path = write_yaml("model:\n  name_or_path: builtin:tiny\ntrain:\n  grpo_x: 1\n")
    message = problems_of(path)
    assert f"train.grpo_x  ({path}:4): unknown key (did you mean 'grpo'?)" in message
    assert "allowed here: output_dir, topology" in message


def test_unknown_section_is_reported_with_the_sections_allowed(write_yaml):
    message = problems_of(write_yaml("evaluation:\n  limit: 3\n"))
    assert "evaluation" in message and "(did you mean 'eval'?)" in message
    assert "allowed here: model, data, train, eval, export" in message


def test_every_problem_is_reported_at_once(write_yaml):
    path = write_yaml(
        "model:\n  name_or_pth: x\n"
        "train:\n  topology: clocate\n  num_processes: many\n"
        "eval:\n  benchmarks: [medqa, pubmed]\n"
        "data:\n  dataset: mixx\n"
    )
    message = problems_of(path, ["model.lora.r=0", "nonsense"])
    assert message.startswith(f"7 problems in the configuration (from {path}):")
    assert "--set 'nonsense': expected section.key=value" in message
    assert "model.lora.r = 0  (--set model.lora.r=0): Input should be greater than or equal to 1" in message
    assert f"model.name_or_pth  ({path}:2): unknown key (did you mean 'name_or_path'?)" in message
    assert f"train.topology = 'clocate'  ({path}:4): Input should be 'single', 'multi', 'colocate' or 'server'" in message
    assert "(did you mean 'colocate'?)" in message
    assert f"train.num_processes = 'many'  ({path}:5): Input should be a valid integer" in message
    assert f"eval.benchmarks.1 = 'pubmed'  ({path}:7): unknown benchmark (did you mean 'pubmedqa'?)" in message
    assert f"data.dataset = 'mixx'  ({path}:9): not a mix in data.mixes (did you mean 'mix'?)" in message


def test_flag_values_are_attributed_to_the_flag():
    message = problems_of(flags={"train.topology": ("--topology", "servre")})
    assert "train.topology = 'servre'  (flag --topology)" in message
    assert "(did you mean 'server'?)" in message


def test_unknown_builtin_model():
    message = problems_of(overrides=["model.name_or_path=builtin:tinyy"])
    assert "model.name_or_path = 'builtin:tinyy'" in message
    assert "unknown built-in model (did you mean 'builtin:tiny'?)" in message


def test_a_mix_of_your_own_is_a_valid_dataset():
    config = resolve_config(overrides=[
        "data.sources.mymed=my/file.jsonl", "data.mixes.custom={medqa: 10, mymed: 0.5}", "data.dataset=custom",
    ])
    assert config.data.mixes["custom"] == {"medqa": 10, "mymed": 0.5}


def test_set_below_a_value_is_an_error(write_yaml):
    message = problems_of(write_yaml("model:\n  name_or_path: builtin:tiny\n"), ["model.name_or_path.x=1"])
    assert "--set 'model.name_or_path.x=1': 'model.name_or_path' holds a value ('builtin:tiny')" in message
    message = problems_of(overrides=["model.name_or_path.x=1"])
    assert "model.name_or_path = {'x': 1}  (--set model.name_or_path.x=1): Input should be a valid string" in message


def test_missing_file():
    assert "config file not found: /no/such/file.yaml" in problems_of("/no/such/file.yaml")


def test_malformed_yaml_names_line_and_column(write_yaml):
    path = write_yaml("model:\n  name_or_path: builtin:tiny\ntrain:\n  grpo: {a: 1\n  topology: single\n")
    message = problems_of(path)
    assert message.startswith(f"{path}:5:")
    assert "malformed YAML" in message


def test_bad_indentation_names_its_line(write_yaml):
    path = write_yaml("model:\n  name_or_path: x\n   dtype: float32\n")
    assert problems_of(path).startswith(f"{path}:3:")


def test_duplicate_keys_are_errors_not_silently_dropped(write_yaml):
    path = write_yaml("train:\n  grpo: {a: 1}\n  topology: single\n  grpo: {b: 2}\n")
    message = problems_of(path)
    assert f"{path}:4: duplicate key 'train.grpo' (first defined on line 2)" in message


def test_top_level_must_be_a_mapping(write_yaml):
    path = write_yaml("- model\n- data\n")
    assert f"{path}:1: the top level must be a mapping of sections" in problems_of(path)


def test_section_of_the_wrong_shape(write_yaml):
    path = write_yaml("train: [1, 2]\n")
    message = problems_of(path)
    assert f"train = [1, 2]  ({path}:1): Input should be a valid dictionary" in message


# ------------------------------------------------------------------------ shipped configs
def test_config_by_recipe_name():
    assert find_config_file("demo-cpu") == shipped_configs_dir() / "demo-cpu.yaml"
    assert resolve_config("demo-cpu").model.name_or_path == "builtin:smollm2-135m-instruct"


def test_unknown_recipe_name_suggests_the_closest():
    with pytest.raises(ConfigError) as caught:
        resolve_config("demo-cup")
    assert "(did you mean 'demo-cpu'?)" in caught.value.message
    assert "demo-cpu" in caught.value.hint and "tiny" in caught.value.hint


@pytest.mark.parametrize("path", sorted(shipped_configs_dir().glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_is_valid(path):
    resolve_config(path, trl_names=True)  # train.grpo's names included, as `config validate` checks them


# ------------------------------------------------------------------- output and documentation
def test_resolved_yaml_round_trips(write_yaml):
    config = resolve_config("demo-cpu", ["train.grpo.learning_rate=3e-6", "eval.limit=5"])
    again = resolve_config(write_yaml(config.to_yaml()))
    assert again == config
    assert yaml.safe_load(config.to_yaml())["train"]["grpo"]["learning_rate"] == 3e-6


def test_write_beside_leaves_only_the_config(tmp_path):
    config = resolve_config("tiny")
    written = config.write_beside(tmp_path / "run")
    assert written == tmp_path / "run" / RESOLVED_CONFIG_NAME
    assert [p.name for p in (tmp_path / "run").iterdir()] == [RESOLVED_CONFIG_NAME]
    assert resolve_config(written) == config


def test_every_key_is_documented():
    rows = list(explain_fields())
    keys = [key for key, _, _ in rows]
    assert "model.lora.r" in keys and "train.grpo" in keys and "eval.max_new_tokens" in keys
    undocumented = [key for key, _, description in rows if not description]
    assert undocumented == []


def test_registry_mappings_extend_the_builtin_entries(write_yaml):
    config = resolve_config(write_yaml("data:\n  sources:\n    mymed: my.jsonl\n  mixes:\n    custom: {mymed: all, medqa: 5}\n"),
                            ["data.sources.demo-medqa=other.jsonl", "data.sources.medxpertqa=null",
                             "data.dataset=usmle"])
    assert config.data.sources["mymed"] == "my.jsonl" and config.data.sources["demo-medqa"] == "other.jsonl"
    assert config.data.sources["medqa"] == "GBaker/MedQA-USMLE-4-options"  # built-in entry kept
    assert "medxpertqa" not in config.data.sources  # null removed it
    assert set(config.data.mixes) == {"usmle", "mix", "xpert", "demo", "omnimedvqa", "custom"}
    # ... while a selection such as the rewards is replaced as a whole
    assert resolve_config(overrides=["train.rewards={accuracy: 1.0}"]).train.rewards == {"accuracy": 1.0}
    with pytest.raises(ConfigError, match="uses source\\(s\\) \\['medxpertqa'\\] that data.sources does not define"):
        resolve_config(overrides=["data.sources.medxpertqa=null", "data.dataset=mix"])


def test_a_file_replaces_a_builtin_mix_whole_while_set_changes_one_amount(write_yaml):
    path = write_yaml("data:\n  mixes:\n    mix: {medqa: 100}\n")
    assert resolve_config(path).data.mixes["mix"] == {"medqa": 100}
    assert resolve_config(overrides=["data.mixes.mix.medqa=100"]).data.mixes["mix"] == {"medqa": 100, "medxpertqa": 490}


def test_a_resolved_config_keeps_removed_entries_removed(write_yaml):
    resolved = resolve_config(overrides=["data.holdout.demo-medqa=null"])
    again = resolve_config(write_yaml(resolved.to_yaml()), builtin_entries=False)
    assert "demo-medqa" not in again.data.holdout and again == resolved


# ---------------------------------------------------------------------------- train.grpo's names
def test_grpo_option_names_read_from_trls_sources_are_the_classes_own():
    """config validate reads GRPOConfig's field names from TRL's files (importing it costs seconds):
    the reading must give exactly what dataclasses.fields gives the imported class."""
    from medr1_cli.trl_options import _read_dataclass_fields, imported_option_names

    read = _read_dataclass_fields("trl", "GRPOConfig")
    assert read is not None and len(read) > 150
    assert set(read) == set(imported_option_names())


def test_grpo_option_names_fall_back_to_the_import_when_the_sources_cannot_be_read(monkeypatch):
    import sys

    import medr1_cli.trl_options as trl_options

    monkeypatch.delitem(sys.modules, "trl.trainer.grpo_config", raising=False)  # as in a fresh `config validate`
    monkeypatch.setattr(trl_options, "_module_file", lambda module: None)  # a TRL laid out otherwise
    monkeypatch.setattr(trl_options, "imported_option_names", lambda: ["learning_rate", "imported"])
    trl_options.grpo_option_names.cache_clear()
    try:
        assert trl_options.grpo_option_names() == {"learning_rate", "imported"}
    finally:
        trl_options.grpo_option_names.cache_clear()


def test_train_grpo_names_are_checked_only_when_asked_and_with_where_they_came_from(write_yaml):
    path = write_yaml("train:\n  grpo:\n    learnin_rate: 1.0e-6\n    max_prompt_length: 512\n")
    resolve_config(path)  # commands that do not train read such a config as before
    with pytest.raises(ConfigError) as caught:
        resolve_config(path, ["train.grpo.reward_weights=[1]"], trl_names=True)
    message = caught.value.message
    assert message.startswith("3 problems in the configuration")
    assert f"train.grpo.learnin_rate  ({path}:3): not an option of TRL's GRPOConfig (did you mean 'learning_rate'?)" \
        in message
    assert f"train.grpo.max_prompt_length  ({path}:4): removed in TRL 0.28" in message
    assert "train.grpo.reward_weights  (--set train.grpo.reward_weights=[1]): set train.rewards instead" in message
    assert "help(trl.GRPOConfig)" in caught.value.hint
    assert resolve_config("tiny", trl_names=True).train.grpo["max_steps"] == 2  # real names pass
