"""A table of bad inputs across every command: each must exit with code 2, name the file / line / key
and what is wrong, print no traceback, and leave nothing written. The commands run in-process (the
checks come before any model loads, which is itself the point), in a scratch folder that is compared
before and after."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medr1_cli.cli import app

MEDQA = {"question": "Which vitamin is fat soluble?", "options": {"A": "C", "B": "K"}, "answer_idx": "B", "answer": "K"}


def jsonl(*rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def write_inputs(folder: Path) -> None:
    """Every bad (and a few good) input file the table refers to, under folder/in."""
    folder.mkdir()
    files = {
        "latin1.jsonl": jsonl(MEDQA).encode() + b'{"question": "caf\xe9", "options": {"A": "a"}, "answer_idx": "A"}\n',
        "broken.jsonl": jsonl(MEDQA) + '{"question": "cut\n',
        "no_answer.jsonl": jsonl(MEDQA, {"question": "q?", "options": {"A": "a"}}),
        "not_an_option.jsonl": jsonl(MEDQA, {**MEDQA, "question": "other?", "answer_idx": "Z"}),
        "two_answers.jsonl": jsonl({"id": "Text-1", "question": "q?", "options": {"A": "a", "B": "b"}, "label": ["A", "B"]}),
        "options_text.jsonl": jsonl({**MEDQA, "options": "A) C B) K"}),
        "empty.jsonl": "",
        "scalar.json": "42",
        "row_not_object.jsonl": "[1, 2]\n",
        "ambiguous_cop.jsonl": jsonl(*({"id": f"i{i}", "question": f"q{i}?", "opa": "1", "opb": "2", "opc": "3",
                                        "opd": "4", "cop": 2} for i in range(3))),
        "medmcqa.jsonl": jsonl({"id": "i1", "question": "q?", "opa": "1", "opb": "2", "opc": "3", "opd": "4", "cop": 4}),
        "bundle.json": json.dumps({"MedQA_USMLE_tset": [MEDQA]}),
        "good.jsonl": jsonl(MEDQA),
        "grading_bad.jsonl": '{"pass_rate": 0.5}\n',
        "grading_range.jsonl": '{"id": "x", "pass_rate": 1.5}\n',
        "manifest.jsonl": '{"a": 1}\n{"b": 2}\n',
        "manifest_empty.json": "{}",
        "results_list.json": "[]",
        "results_five.json": '{"benchmarks": 5}',
        "results_broken.json": '{"model": "m",\n "benchmarks": {\n',
        "unknown_key.yaml": "data:\n  datset: mix\n",
        "bad_value.yaml": "eval:\n  temperature: -1\n",
        "grpo_names.yaml": "train:\n  grpo:\n    learnin_rate: 1.0e-6\n    max_prompt_length: 512\n"
                           "eval:\n  temperature: -1\n",
    }
    for name, content in files.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    with (folder / "wide.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["Question", "Correct Answer"], ["q?", "a", "extra"]])
    (folder / "grading_dir").mkdir()
    (folder / "results_dir" / "results.json").mkdir(parents=True)
    (folder / "no_config_model").mkdir()
    (folder / "baseline-builtin-tiny" / "checkpoint-1").mkdir(parents=True)
    (folder / "baseline-builtin-tiny" / "checkpoint-1" / "trainer_state.json").write_text("{}")
    # a model medr1 trained, whose lineage was cut off mid-write by hand
    (folder / "lineage_model").mkdir()
    (folder / "lineage_model" / "config.json").write_text('{"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}')
    (folder / "lineage_model" / "training_manifest.json").write_text('{"training_ids": [\n')
    (folder / "ids_model").mkdir()
    (folder / "ids_model" / "config.json").write_text('{"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}')
    (folder / "ids_model" / "training_manifest.json").write_text('{"training_ids": "all"}')
    (folder / "run" / "checkpoint-3").mkdir(parents=True)
    (folder / "run" / "checkpoint-3" / "trainer_state.json").write_text("{}")
    (folder / "a_file").write_text("not a folder")
    (folder / "exported").mkdir()
    (folder / "exported" / "config.json").write_text('{"model_type": "qwen2"}')


PREPARE = ("prepare-data", "-c", "tiny", "-o", "out")
DRY_EVAL = ("evaluate", "-c", "tiny", "--dry-run", "-o", "out", "-b", "medqa")
DRY_TRAIN = ("train", "-c", "tiny", "--dry-run", "-o", "out/run")


def source(name: str, file: str) -> tuple[str, ...]:
    return ("--set", f"data.sources.{name}=in/{file}", "--set", f"data.mixes.demo={{{name}: 1}}")


CASES = [
    # ------------------------------------------------------------------------------ prepare-data
    ("prepare latin-1 file", (*PREPARE, *source("medqa", "latin1.jsonl")), ["in/latin1.jsonl:2: not UTF-8 text"]),
    ("prepare output is a file", ("prepare-data", "-c", "tiny", "-o", "in/a_file"), ["in/a_file is a file"]),
    ("prepare into a training run", ("prepare-data", "-c", "tiny", "-o", "in", "-d", "run", "--set",
                                     "data.mixes.run={medqa: 1}", "--set", "data.sources.medqa=in/good.jsonl"),
     ["data.output_dir: in/run is a training run folder (it holds checkpoint-3)", "replaces that folder whole"]),
    ("prepare output in /proc", ("prepare-data", "-c", "tiny", "-o", "/proc/medr1-x"), ["cannot write in /proc"]),
    ("prepare malformed JSONL", (*PREPARE, *source("medqa", "broken.jsonl")), ["in/broken.jsonl:2: invalid JSON"]),
    ("prepare missing field", (*PREPARE, *source("medqa", "no_answer.jsonl")),
     ["in/no_answer.jsonl:2: missing field 'answer_idx'"]),
    ("prepare answer not an option", (*PREPARE, *source("medqa", "not_an_option.jsonl")),
     ["in/not_an_option.jsonl:2: answer_idx 'Z' is not one of the options"]),
    ("prepare several answers", (*PREPARE, *source("medxpertqa", "two_answers.jsonl")),
     ["in/two_answers.jsonl:1: label ['A', 'B'] names 2 answers"]),
    ("prepare options as text", (*PREPARE, *source("medqa", "options_text.jsonl")),
     ["in/options_text.jsonl:1: 'options' is a str"]),
    ("prepare empty file", (*PREPARE, *source("medqa", "empty.jsonl")), ["in/empty.jsonl: no rows"]),
    ("prepare JSON scalar", (*PREPARE, *source("medqa", "scalar.json")), ["expected a JSON list or object, got int"]),
    ("prepare JSONL row not an object", (*PREPARE, *source("medqa", "row_not_object.jsonl")),
     ["row_not_object.jsonl:1: expected a JSON object per line"]),
    ("prepare CSV wider than header", (*PREPARE, *source("gpqa", "wide.csv")), ["wide.csv:2: more values than"]),
    ("prepare ambiguous MedMCQA cop", (*PREPARE, *source("medmcqa", "ambiguous_cop.jsonl")),
     ["cannot tell whether it counts from 0", "data.medmcqa_cop"]),
    ("prepare missing source file", (*PREPARE, *source("medqa", "nowhere.jsonl")), ["is not a file or folder"]),
    ("prepare native release for another benchmark", (*PREPARE, *source("medqa", "medmcqa.jsonl")),
     ["holds medmcqa questions, but it is given as the data of medqa"]),
    ("prepare unknown bundle group", (*PREPARE, *source("medqa", "bundle.json")),
     ["unknown benchmark 'MedQA_USMLE_tset'", "did you mean 'MedQA_USMLE_test'"]),
    ("prepare more than available", (*PREPARE, "--set", "data.sources.medqa=in/good.jsonl", "--set",
                                     "data.mixes.demo={medqa: 5}"), ["asked for 5 questions but only 1"]),
    ("prepare forced format that does not fit", (*PREPARE, *source("mine", "good.jsonl"), "--format", "mine=medmcqa"),
     ["format 'medmcqa' was asked for, but this row lacks", "look like the 'generic' format"]),
    ("prepare format for no source", (*PREPARE, "--format", "ghost=medqa"),
     ["data.formats", "'ghost' is not a source in data.sources"]),
    ("prepare unknown format", (*PREPARE, "--format", "medqa=medqa_hf"),
     ["unknown format 'medqa_hf'", "did you mean 'medqa-hf'"]),
    ("prepare format flag syntax", (*PREPARE, "--format", "medqa"), ["expected SOURCE=FORMAT"]),
    ("prepare unknown mix", (*PREPARE, "--dataset", "mixx"), ["data.dataset = 'mixx'", "did you mean 'mix'"]),
    ("prepare mix with undefined source", (*PREPARE, "--set", "data.mixes.demo={medqaa: 3}"),
     ["does not define", "did you mean 'medqa'"]),
    ("prepare unknown data key", (*PREPARE, "--set", "data.datset=mix"), ["data.datset", "did you mean 'dataset'"]),
    ("prepare grading file is a folder", (*PREPARE, "--set", "data.grading_file=in/grading_dir"),
     ["data.grading_file: in/grading_dir is a folder"]),
    ("prepare grading row", (*PREPARE, "--set", "data.grading_file=in/grading_bad.jsonl"),
     ["in/grading_bad.jsonl:1: expected"]),
    ("prepare grading range", (*PREPARE, "--set", "data.grading_file=in/grading_range.jsonl"),
     ["in/grading_range.jsonl:1: pass_rate 1.5 is outside 0..1"]),
    ("prepare medmcqa_cop value", (*PREPARE, "--set", "data.medmcqa_cop=2"), ["data.medmcqa_cop"]),
    ("prepare on_bad_item value", (*PREPARE, "--set", "data.on_bad_item=ignore"), ["data.on_bad_item = 'ignore'"]),
    ("prepare eval.data unknown benchmark", (*PREPARE, "--set", "eval.data.medqaa=in/good.jsonl"),
     ["eval.data", "unknown benchmark", "did you mean 'medqa'"]),
    # ---------------------------------------------------------------------------------- evaluate
    ("evaluate latin-1 data", (*DRY_EVAL, "--set", "eval.data.medqa=in/latin1.jsonl"),
     ["in/latin1.jsonl:2: not UTF-8 text", "iconv"]),
    ("evaluate malformed data", (*DRY_EVAL, "--set", "eval.data.medqa=in/broken.jsonl"),
     ["benchmark 'medqa': in/broken.jsonl:2: invalid JSON", "fix the file"]),
    ("evaluate output is a file", ("evaluate", "-c", "tiny", "-o", "in/a_file", "-b", "demo"),
     ["eval.output_dir: in/a_file is an existing file"]),
    ("evaluate output in /sys", ("evaluate", "-c", "tiny", "-o", "/sys/medr1-x", "-b", "demo"),
     ["eval.output_dir: cannot write in /sys"]),
    # an evaluation writes its medr1_config.yaml beside its results: in a run folder it would replace the run's own
    ("evaluate into a training run", ("evaluate", "-c", "tiny", "-o", "in/run", "-b", "medqa", "--set",
                                      "eval.data.medqa=in/good.jsonl"),
     ["eval.output_dir: in/run is a training run folder (it holds checkpoint-3)", "medr1_config.yaml",
      "-o in/run/eval"]),
    # the baseline's folder goes beside the evaluation's: in/baseline-builtin-tiny, here a training run
    ("evaluate baseline into a training run", ("evaluate", "-c", "tiny", "-o", "in/eval", "-b", "medqa", "--set",
                                               "eval.data.medqa=in/good.jsonl", "--baseline", "builtin:tiny"),
     ["the baseline's output folder: in/baseline-builtin-tiny is a training run folder",
      "give the evaluation another output folder"]),
    ("evaluate into a checkpoint", ("evaluate", "-c", "tiny", "-o", "in/run/checkpoint-3", "-b", "medqa", "--set",
                                    "eval.data.medqa=in/good.jsonl"),
     ["eval.output_dir: in/run/checkpoint-3 is a checkpoint of the training run in/run", "-o in/run/eval-checkpoint-3"]),
    ("evaluate into a model folder", ("evaluate", "-c", "tiny", "-o", "in/exported", "-b", "medqa", "--set",
                                      "eval.data.medqa=in/good.jsonl"),
     ["eval.output_dir: in/exported holds a model (config.json)", "-o in/exported-eval"]),
    ("evaluate dry run into a training run", ("evaluate", "-c", "tiny", "--dry-run", "-o", "in/run", "-b", "medqa",
                                              "--set", "eval.data.medqa=in/good.jsonl"),
     ["eval.output_dir: in/run is a training run folder"]),
    ("evaluate where the config trains", ("evaluate", "-c", "tiny", "-o", "out/x", "-b", "medqa", "--set",
                                          "eval.data.medqa=in/good.jsonl", "--set", "train.output_dir=out/x"),
     ["eval.output_dir: out/x is train.output_dir, this config's training run folder"]),
    ("demo into a training run", ("demo", "-c", "tiny", "-o", "in/run"),
     ["--output-dir: in/run is a training run folder", "-o in/run/demo"]),
    ("grade store in a training run", ("grade", "-c", "tiny", "--output", "in/run.jsonl", "--k", "2", "--limit", "1"),
     ["--output in/run.jsonl: its completion store would go in in/run, which is a training run folder"]),
    ("evaluate no such model folder", ("evaluate", "-c", "tiny", "-o", "out", "-b", "demo", "-m", "./nosuchmodel"),
     ["./nosuchmodel is not a model folder (no such folder)"]),
    ("evaluate Hub id offline", ("evaluate", "-c", "tiny", "-o", "out", "-b", "demo", "-m", "org/nosuchmodel"),
     ["org/nosuchmodel is not a local folder, and HF_HUB_OFFLINE is set"]),
    ("evaluate model path with a space", ("evaluate", "-c", "tiny", "-o", "out", "-b", "demo", "-m", "runs/my run"),
     ["runs/my run is neither a model folder (no such folder) nor a Hub id"]),
    ("evaluate folder without config", ("evaluate", "-c", "tiny", "-o", "out", "-b", "demo", "-m", "in/no_config_model"),
     ["holds neither config.json nor adapter_config.json"]),
    ("evaluate manifest is JSONL", (*DRY_EVAL, "--set", "eval.exclude_manifest=in/manifest.jsonl"),
     ["eval.exclude_manifest: in/manifest.jsonl:2 is not a JSON manifest"]),
    ("evaluate manifest without ids", (*DRY_EVAL, "--set", "eval.exclude_manifest=in/manifest_empty.json"),
     ["eval.exclude_manifest: in/manifest_empty.json has no list of training_ids"]),
    ("evaluate model lineage not JSON", (*DRY_EVAL, "-m", "in/lineage_model"),
     ["the model's lineage: in/lineage_model/training_manifest.json:2 is not a JSON manifest"]),
    ("evaluate model lineage without ids", (*DRY_EVAL, "-m", "in/ids_model"),
     ["the model's lineage: in/ids_model/training_manifest.json has no list of training_ids"]),
    ("evaluate manifest missing", (*DRY_EVAL, "--set", "eval.exclude_manifest=in/nowhere.json"),
     ["eval.exclude_manifest: in/nowhere.json does not exist"]),
    ("evaluate unknown benchmark", ("evaluate", "-c", "tiny", "--dry-run", "-b", "medqaa"),
     ["eval.benchmarks", "did you mean 'medqa'"]),
    ("evaluate limit zero", (*DRY_EVAL, "--limit", "0"), ["eval.limit = 0"]),
    ("evaluate negative temperature", (*DRY_EVAL, "--set", "eval.temperature=-1"), ["eval.temperature = -1"]),
    ("evaluate test protocol without labels", ("evaluate", "-c", "tiny", "--dry-run", "-o", "out", "-b", "pubmedqa",
                                               "--set", "eval.data.pubmedqa=builtin:pubmedqa", "--set",
                                               "eval.pubmedqa_protocol=test"), ["needs the official test labels"]),
    ("evaluate dedup unknown benchmark", (*DRY_EVAL, "--set", "eval.dedup=[gpqa]"),
     ["eval.dedup", "did you mean 'gpqa_med'"]),
    ("evaluate old dedup key", (*DRY_EVAL, "--set", "eval.gpqa_dedup=false"), ["eval.gpqa_dedup", "unknown key"]),
    ("evaluate native release for another benchmark", (*DRY_EVAL, "--set", "eval.data.medqa=in/medmcqa.jsonl"),
     ["holds medmcqa questions"]),
    ("compare results that are a list", ("evaluate", "compare", "in/results_list.json", "in/results_list.json"),
     ["in/results_list.json: not a medr1 evaluation result"]),
    ("compare benchmarks not a mapping", ("evaluate", "compare", "in/results_five.json", "in/results_five.json"),
     ["in/results_five.json: not a medr1 evaluation result"]),
    ("compare results.json is a folder", ("evaluate", "compare", "in/results_dir", "in/results_dir"),
     ["in/results_dir/results.json is a folder"]),
    ("compare no results", ("evaluate", "compare", "in", "in"), ["in: no results.json here"]),
    ("compare broken JSON", ("evaluate", "compare", "in/results_broken.json", "in/results_broken.json"),
     ["in/results_broken.json:3: invalid JSON"]),
    # ----------------------------------------------------------------------------------- analyze
    ("analyze output in /proc", ("analyze", "--results", "in/results_list.json", "-o", "/proc/medr1-x"),
     ["--output-dir: cannot write in /proc"]),
    ("analyze not results", ("analyze", "--results", "in/results_five.json", "-o", "out"),
     ["in/results_five.json: not a medr1 evaluation result"]),
    ("analyze nothing", ("analyze", "-o", "out"), ["nothing to analyze"]),
    # ------------------------------------------------------------------------------------- train
    ("train batch size as a word", (*DRY_TRAIN, "--set", "train.grpo.per_device_train_batch_size=zero"),
     ["train.grpo.per_device_train_batch_size = 'zero': must be a whole number"]),
    ("train batch size zero", (*DRY_TRAIN, "--set", "train.grpo.per_device_train_batch_size=0"),
     ["train.grpo.per_device_train_batch_size = 0: must be a whole number of at least 1"]),
    ("train no rewards", (*DRY_TRAIN, "--set", "train.rewards={}"), ["train.rewards", "at least one reward"]),
    ("train only zero weights", (*DRY_TRAIN, "--set", "train.rewards={accuracy: 0}"), ["at least one reward"]),
    ("train resume never with checkpoints", ("train", "-c", "tiny", "--dry-run", "-o", "in/run", "--set",
                                             "train.resume=never"), ["already holds checkpoint-3", "'never'"]),
    ("train resume nonexistent", (*DRY_TRAIN, "--set", "train.resume=/nonexistent/checkpoint-3"),
     ["train.resume: /nonexistent/checkpoint-3 is not a checkpoint folder"]),
    ("train output is a file", ("train", "-c", "tiny", "--dry-run", "-o", "in/a_file"),
     ["train.output_dir: in/a_file is an existing file"]),
    ("train unknown reward", (*DRY_TRAIN, "--set", "train.rewards={acuracy: 1}"), ["did you mean 'accuracy'"]),
    ("train colocate on CPU", (*DRY_TRAIN, "--set", "train.topology=colocate"), ["needs CUDA GPUs"]),
    ("train one generation", (*DRY_TRAIN, "--set", "train.grpo.num_generations=1"), ["at least 2 completions"]),
    ("train batch not divisible", (*DRY_TRAIN, "--set", "train.grpo.num_generations=3", "--set",
                                   "train.grpo.per_device_train_batch_size=4", "--set",
                                   "train.grpo.gradient_accumulation_steps=1"), ["not divisible by num_generations 3"]),
    ("train multi-node server on loopback", (*DRY_TRAIN, "--set", "train.topology=server", "--set", "train.gpus=4",
                                             "--set", "train.num_machines=2", "--set", "train.main_process_ip=10.0.0.1"),
     ["train.vllm_server_host 127.0.0.1 is this machine's loopback address"]),
    ("train zero epochs", (*DRY_TRAIN, "--set", "train.grpo.num_train_epochs=0"),
     ["train.grpo.num_train_epochs = 0: must be a number above 0"]),
    ("train reward module missing", (*DRY_TRAIN, "--set", "train.rewards={'nosuch.module:f': 1}"),
     ["reward 'nosuch.module:f': cannot import nosuch.module"]),
    ("train reward function missing", (*DRY_TRAIN, "--set", "train.rewards={'json:nosuch': 1}"),
     ["reward 'json:nosuch': json has no 'nosuch'"]),
    ("train reward not callable", (*DRY_TRAIN, "--set", "train.rewards={'json:__doc__': 1}"), ["is not callable"]),
    ("train options for an own reward", (*DRY_TRAIN, "--set", "train.rewards={'json:dumps': 1}", "--set",
                                         "train.reward_options={'json:dumps': {x: 1}}"), ["take no options"]),
    ("train unknown TRL option", (*DRY_TRAIN, "--set", "train.grpo.max_prompt_length=512"), ["train.grpo"]),
    # ------------------------------------------------------------------------------ export, config
    ("export shard size zero", ("export", "-c", "tiny", "--max-shard-size", "0GB"),
     ["export.max_shard_size = '0GB'", "above zero"]),
    ("export no run", ("export", "in/nowhere-run"), ["in/nowhere-run"]),
    ("config unknown key names its line", ("config", "show", "-c", "in/unknown_key.yaml"),
     ["in/unknown_key.yaml:2", "did you mean 'dataset'"]),
    ("config bad value names its line", ("config", "show", "-c", "in/bad_value.yaml"),
     ["eval.temperature = -1", "in/bad_value.yaml:2"]),
    # train.grpo's names are checked where the config is checked, not only when train builds GRPOConfig
    ("config validate TRL option names", ("config", "validate", "in/grpo_names.yaml"),
     ["FAIL in/grpo_names.yaml", "3 problems", "eval.temperature = -1",
      "train.grpo.learnin_rate (in/grpo_names.yaml:3): not an option of TRL's GRPOConfig (did you mean 'learning_rate'?)",
      "train.grpo.max_prompt_length (in/grpo_names.yaml:4): removed in TRL 0.28", "data.max_prompt_tokens"]),
    ("config show TRL option names", ("config", "show", "-c", "in/grpo_names.yaml"),
     ["train.grpo.learnin_rate (in/grpo_names.yaml:3)", "did you mean 'learning_rate'", "help(trl.GRPOConfig)"]),
    ("config show TRL option set", ("config", "show", "--set", "train.grpo.output_dir=x"),
     ["train.grpo.output_dir (--set train.grpo.output_dir=x): set train.output_dir instead"]),
    ("config set syntax", ("config", "show", "--set", "temperature"), ["expected section.key=value"]),
]


def test_the_table_is_large_enough():
    assert len(CASES) >= 60 and len({name for name, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("name, args, expected", CASES, ids=[case[0] for case in CASES])
def test_bad_input_exits_2_with_a_clear_message_and_writes_nothing(tmp_path, monkeypatch, name, args, expected):
    write_inputs(tmp_path / "in")
    monkeypatch.chdir(tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    output = result.stderr + result.stdout
    assert result.exit_code == 2, f"{name}: exit {result.exit_code}\n{output}\n{result.exception!r}"
    assert "Traceback" not in output
    for text in expected:
        assert text in " ".join(output.split()), f"{name}: {text!r} not in\n{output}"
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before, f"{name} left files behind"
