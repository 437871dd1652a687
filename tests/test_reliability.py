"""What a run writes and reuses can be trusted: the completion store never serves a completion made
with another model revision or setting, JSONL files survive a write cut by a kill, and the vLLM
server medr1 starts parses with TRL's own parser and listens only where it must."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from medr1_cli.analyze.inputs import read_completions
from medr1_cli.evaluate.generate import CompletionStore, model_fingerprint, settings_fingerprint
from medr1_cli.fsutil import append_jsonl
from medr1_cli.resolution import resolve_config
from medr1_cli.train import preflight
from medr1_cli.train.launch import build_plan, server_argv
from medr1_cli.train.recorder import CompletionRecorder

REPO = Path(__file__).resolve().parents[1]
HUATUO_MIX = REPO / "configs" / "huatuo-o1-7b-mix.yaml"


def fake_hub_cache(root: Path, repo: str, commits: dict[str, str]) -> None:
    """A Hugging Face cache holding `repo` at several commits; `commits` maps ref name -> commit."""
    folder = root / f"models--{repo.replace('/', '--')}"
    for ref, commit in commits.items():
        (folder / "snapshots" / commit).mkdir(parents=True, exist_ok=True)
        (folder / "snapshots" / commit / "config.json").write_text(json.dumps({"model_type": "qwen2", "c": commit}))
        (folder / "refs").mkdir(exist_ok=True)
        (folder / "refs" / ref).write_text(commit)


def test_a_hub_model_is_fingerprinted_by_the_commit_its_revision_resolves_to(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    first, second = "a" * 40, "b" * 40
    fake_hub_cache(tmp_path, "org/model", {"main": first, "v2": second})
    main = model_fingerprint("org/model")
    assert main == model_fingerprint("org/model", "main") == model_fingerprint("org/model", first)
    assert model_fingerprint("org/model", "v2") == model_fingerprint("org/model", second) != main
    (tmp_path / "models--org--model" / "refs" / "main").write_text(second)  # main moved on upstream
    assert model_fingerprint("org/model") != main
    from medr1_cli.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot resolve the Hub model org/absent"):
        model_fingerprint("org/absent")  # offline and not cached: no silent name-only key


@pytest.mark.parametrize("change", [
    "model.dtype=bfloat16", "model.min_pixels=3136", "model.max_pixels=200704", "eval.temperature=0.7",
    "eval.max_new_tokens=5", "eval.template=no-think", "eval.system_prompt=Be brief.",
])
def test_every_setting_that_changes_a_completion_changes_its_key(change):
    base = resolve_config("tiny")
    assert settings_fingerprint(resolve_config("tiny", [change]), "hf") != settings_fingerprint(base, "hf")


def test_the_backend_and_the_chat_templates_text_are_part_of_the_key(tmp_path):
    config = resolve_config("tiny")
    assert settings_fingerprint(config, "hf") != settings_fingerprint(config, "vllm")
    template = tmp_path / "template.jinja"
    template.write_text("{{ messages[0]['content'] }}")
    with_template = resolve_config("tiny", [f"model.chat_template={template}"])
    before = settings_fingerprint(with_template, "hf")
    template.write_text("{{ messages[-1]['content'] }}")  # same path, other text
    assert settings_fingerprint(with_template, "hf") != before


def test_limit_and_batch_size_do_not_change_a_completions_key():
    base = resolve_config("tiny")
    for change in ("eval.limit=3", "eval.batch_size=2", "eval.output_dir=elsewhere"):
        assert settings_fingerprint(resolve_config("tiny", [change]), "hf") == settings_fingerprint(base, "hf")


def _evaluate_copy(model, tmp_path, *overrides):
    """Evaluate three demo items with a model folder into one output folder; what the run printed and returned."""
    from io import StringIO

    from rich.console import Console

    from medr1_cli.evaluate.run import run_evaluation

    config = resolve_config("tiny", [f"model.name_or_path={model}", f"eval.output_dir={tmp_path / 'eval'}",
                                     f"data.output_dir={tmp_path / 'data'}", "eval.limit=3", "eval.max_new_tokens=2",
                                     *overrides])
    printed = StringIO()
    results = run_evaluation(config, Console(file=printed, width=250))
    return results, " ".join(printed.getvalue().split())


@pytest.mark.parametrize("edit", ["chat_template.jinja", "tokenizer_config.json"])
def test_a_changed_chat_template_in_the_model_folder_regenerates_its_completions(tiny_model, tmp_path, edit):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    assert _evaluate_copy(model, tmp_path)[0]["generated"] == 3
    results, printed = _evaluate_copy(model, tmp_path)
    assert results["generated"] == 0 and "no longer match" not in printed  # unchanged: reused
    if edit == "chat_template.jinja":
        template = model / "chat_template.jinja"
        template.write_text("{{ 'Answer briefly.' }}" + template.read_text())
    else:  # a template kept in tokenizer_config.json (older saves) is read when there is no .jinja file
        template = (model / "chat_template.jinja").read_text()
        (model / "chat_template.jinja").unlink()
        settings = json.loads((model / "tokenizer_config.json").read_text())
        (model / "tokenizer_config.json").write_text(json.dumps({**settings, "chat_template": "{# v2 #}" + template}))
    results, printed = _evaluate_copy(model, tmp_path)
    assert results["generated"] == 3  # what the model is given changed: nothing stale is reused
    assert "3 completions stored for these items no longer match" in printed
    assert _evaluate_copy(model, tmp_path)[0]["generated"] == 0  # and the new ones are reused


def test_a_changed_template_text_regenerates_and_an_unchanged_one_reuses(tiny_model, tmp_path, monkeypatch):
    import dataclasses

    from medr1_cli.data.prompts import TEMPLATES

    assert _evaluate_copy(tiny_model, tmp_path)[0]["generated"] == 3
    assert _evaluate_copy(tiny_model, tmp_path)[0]["generated"] == 0
    # the r1 template's wording edited (a new medr1 version, or a local edit), under the same name
    edited = dataclasses.replace(TEMPLATES["r1"], system=TEMPLATES["r1"].system + " Be brief.")
    monkeypatch.setitem(TEMPLATES, "r1", edited)
    assert _evaluate_copy(tiny_model, tmp_path)[0]["generated"] == 3
    monkeypatch.setitem(TEMPLATES, "r1", dataclasses.replace(TEMPLATES["r1"], user_prefix="Question:"))
    assert _evaluate_copy(tiny_model, tmp_path)[0]["generated"] == 3
    assert _evaluate_copy(tiny_model, tmp_path, "eval.system_prompt=Answer.")[0]["generated"] == 3
    assert _evaluate_copy(tiny_model, tmp_path, "eval.system_prompt=Answer.")[0]["generated"] == 0


def test_a_store_written_before_prompts_were_keyed_is_not_reused_and_says_so(tiny_model, tmp_path):
    results, _ = _evaluate_copy(tiny_model, tmp_path)
    store = tmp_path / "eval" / "completions.jsonl"
    rows = [json.loads(line) for line in store.read_text().splitlines()]
    # the previous version's key: model|benchmark|item|sample|settings, with no prompt digest
    old = [{**row, "key": "|".join(row["key"].split("|")[:5])} for row in rows]
    store.write_text("".join(json.dumps(row) + "\n" for row in old))
    results, printed = _evaluate_copy(tiny_model, tmp_path)
    assert results["generated"] == 3 and "3 completions stored for these items no longer match" in printed


def test_jsonl_appends_after_a_cut_write_leave_every_line_valid(tmp_path):
    path = tmp_path / "rows.jsonl"
    append_jsonl(path, [{"n": 1}, {"n": 2}])
    with path.open("a") as handle:
        handle.write('{"n": 3, "cut sh')  # a kill mid-write
    append_jsonl(path, [{"n": 4}])
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [1, 2, 4]
    path.write_text('{"only a cut row')
    append_jsonl(path, [{"n": 5}])
    assert path.read_text() == '{"n": 5}\n'


def test_the_training_rollout_log_resumes_cleanly_after_a_cut_row(tmp_path):
    from medr1_cli.rewards import REGISTRY

    path = tmp_path / "rollouts.jsonl"
    recorder = CompletionRecorder(path)
    [accuracy] = recorder.wrap([REGISTRY["accuracy"]()])
    completions = [[{"role": "assistant", "content": "<think>x</think><answer>A</answer>"}]] * 2
    columns = {"solution": ["A", "B"], "options": [{"A": "a", "B": "b"}] * 2, "id": ["q1", "q2"],
               "trainer_state": SimpleNamespace(global_step=1)}
    accuracy(prompts=[[]] * 2, completions=completions, completion_ids=[[1, 2], [3]], **columns)
    with path.open("a") as handle:
        handle.write('{"step": 0, "id": "q3", "compl')  # killed mid-write
    accuracy(prompts=[[]] * 2, completions=completions, completion_ids=[[1], [2]], **columns)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["q1", "q2", "q1", "q2"]
    assert [row["rewards"]["accuracy"] for row in rows] == [1.0, 0.0, 1.0, 0.0]
    with path.open("a") as handle:
        handle.write('{"step": 0, "id": "q4", "compl')  # killed again, and analyzed before any resume
    rows, _ = read_completions(path)
    assert [row.id for row in rows] == ["q1", "q2", "q1", "q2"]


def test_the_evaluation_store_reads_back_after_a_cut_row(tmp_path):
    store = CompletionStore(tmp_path / "completions.jsonl")
    store.add([{"key": "k1", "completion": "A"}])
    with store.path.open("a") as handle:
        handle.write('{"key": "k2", "compl')
    store.add([{"key": "k3", "completion": "C"}])
    assert set(CompletionStore(store.path).done) == {"k1", "k3"}


# ------------------------------------------------------------------------------ vLLM server
def parsed_by_trl(argv: list[str]):
    from trl.scripts.vllm_serve import make_parser

    assert argv[1] == "vllm-serve"
    arguments, unknown = make_parser().parse_args_and_config(args=argv[2:], return_remaining_strings=True)
    assert unknown == [], f"TRL does not know {unknown}"
    return arguments


def test_server_arguments_parse_with_trls_own_parser():
    config = resolve_config(HUATUO_MIX, ["model.revision=abc123", "train.grpo.vllm_max_model_length=4096",
                                         "model.trust_remote_code=true", "train.grpo.vllm_gpu_memory_utilization=0.8"])
    arguments = parsed_by_trl(server_argv(config, model_path="FreedomIntelligence/HuatuoGPT-o1-7B", tensor_parallel=2))
    assert (arguments.model, arguments.tensor_parallel_size, arguments.port) == \
           ("FreedomIntelligence/HuatuoGPT-o1-7B", 2, 8000)
    assert (arguments.revision, arguments.max_model_len, arguments.trust_remote_code) == ("abc123", 4096, True)
    assert arguments.gpu_memory_utilization == 0.8


def test_the_server_listens_on_loopback_on_one_machine_and_where_trainers_reach_it_otherwise():
    single = resolve_config(HUATUO_MIX)
    plan = build_plan(single, preflight.plan_layout(single, 4), extra_args=[], model_path="m")
    assert parsed_by_trl(plan.server.argv).host == "127.0.0.1"  # not 0.0.0.0: no authentication on it
    assert plan.health_url == "http://127.0.0.1:8000/health"
    multi = resolve_config(HUATUO_MIX, ["train.num_machines=2", "train.main_process_ip=10.0.0.1",
                                        "train.vllm_server_host=10.0.0.1"])
    plan = build_plan(multi, preflight.plan_layout(multi, 4), extra_args=[], model_path="m")
    assert parsed_by_trl(plan.server.argv).host == "10.0.0.1"


def test_the_slurm_server_listens_on_its_nodes_name():
    from medr1_cli.train.slurm import sbatch_script

    config = resolve_config(HUATUO_MIX, ["train.num_machines=2", "train.main_process_ip=placeholder"])
    script = sbatch_script(config, preflight.plan_layout(config, 4, server_node_of_its_own=True), model_path="m")
    serve = next(line for line in script.splitlines() if "vllm-serve" in line)
    assert '--host "$VLLM_NODE"' in serve and "0.0.0.0" not in script


# ------------------------------------------------------------------------- vLLM contract script
def fake_vllm_wheel(path: Path, *, sampling_fields: str) -> Path:
    """A wheel-shaped zip holding just the five vLLM source files the contract script reads."""
    import zipfile

    files = {
        "vllm/entrypoints/llm.py": "class LLM:\n    def __init__(self, model, revision=None, **kwargs): ...\n"
                                   "    def chat(self, messages, sampling_params=None, use_tqdm=True, chat_template=None,"
                                   " lora_request=None): ...\n",
        "vllm/engine/arg_utils.py": "class EngineArgs:\n    tensor_parallel_size: int = 1\n    seed: int = 0\n"
                                    "    dtype: str = 'auto'\n    trust_remote_code: bool = False\n"
                                    "    max_model_len: int = 0\n    tokenizer: str = ''\n    enable_lora: bool = False\n"
                                    "    max_lora_rank: int = 16\n",
        "vllm/lora/request.py": "class LoRARequest:\n    lora_name: str\n    lora_int_id: int\n    lora_path: str = ''\n",
        "vllm/sampling_params.py": f"class SamplingParams:\n{sampling_fields}",
        "vllm/outputs.py": "class CompletionOutput:\n    text: str\n    token_ids: list\n    finish_reason: str\n"
                           "class RequestOutput:\n    def __init__(self, outputs):\n        self.outputs = outputs\n",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_the_vllm_contract_script_finds_a_keyword_the_release_does_not_take(tmp_path, monkeypatch):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("check_vllm_contract", REPO / "scripts" / "check_vllm_contract.py")
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, script)  # its dataclass looks its module up there
    spec.loader.exec_module(script)
    full = "    temperature: float\n    top_p: float\n    max_tokens: int\n    seed: int\n"
    checks = script.check(fake_vllm_wheel(tmp_path / "ok.whl", sampling_fields=full))
    failing = {(c.what, c.name) for c in checks if not c.ok}
    assert ("SamplingParams(...) keyword", "seed") not in failing
    assert {c.name for c in checks if c.what == "field read from the outputs"} == {"text", "token_ids", "finish_reason"}
    renamed = full.replace("max_tokens", "max_new_tokens")  # a release that renamed a field medr1 passes
    checks = script.check(fake_vllm_wheel(tmp_path / "renamed.whl", sampling_fields=renamed))
    assert ("SamplingParams(...) keyword", "max_tokens") in {(c.what, c.name) for c in checks if not c.ok}
    assert script.main(["--wheel", str(tmp_path / "renamed.whl")]) == 1


# ------------------------------------------------------------------------------- preflight, config
def test_every_missing_extra_is_named_at_once_with_its_install_command():
    import importlib.util

    from medr1_cli.errors import Medr1Error

    config = resolve_config(HUATUO_MIX, ["train.topology=colocate", "model.attn_implementation=flash_attention_2",
                                         "train.grpo.num_generations=4", "train.grpo.vllm_gpu_memory_utilization=0.3"])
    missing = [m for m in ("vllm", "flash_attn") if importlib.util.find_spec(m) is None]
    if len(missing) < 2:
        pytest.skip("vllm or flash-attn is installed here")
    with pytest.raises(Medr1Error) as caught:
        preflight.check(config, preflight.plan_layout(config, 4), extra_args=[], dry_run=False)
    assert caught.value.title == "2 missing optional dependencies"
    assert "`vllm` extra" in caught.value.message and "`flash-attn` extra" in caught.value.message
    assert '".[vllm]"' in caught.value.hint and "pip install flash-attn" in caught.value.hint


def test_medmcqa_cop_takes_the_number_its_own_hint_suggests():
    assert resolve_config("tiny", ["data.medmcqa_cop=1"]).data.medmcqa_cop == "1"
    assert resolve_config("tiny", ["data.medmcqa_cop=0"]).data.medmcqa_cop == "0"


@pytest.mark.slow
def test_ctrl_c_during_evaluate_says_what_was_kept_and_a_rerun_continues(tmp_path):
    import os
    import signal
    import subprocess
    import time

    from tests.conftest import medr1_executable, run_medr1

    args = ["evaluate", "-c", "tiny", "-b", "demo", "-o", str(tmp_path / "eval"), "--set", "eval.batch_size=1",
            "--set", "eval.max_new_tokens=24", "--set", f"data.output_dir={tmp_path / 'data'}"]
    process = subprocess.Popen([medr1_executable(), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "COLUMNS": "200"})
    store = tmp_path / "eval" / "completions.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not store.is_file() or len(store.read_text().splitlines()) < 3):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    kept = len(CompletionStore(store).done)
    assert f"interrupted: {kept} completions are kept in {store}" in " ".join(output.split())
    again = run_medr1(*args)
    assert again.returncode == 0, again.stderr
    assert f"{kept} reused from" in again.stdout  # only the missing ones were generated


def test_the_store_reads_back_completions_holding_unicode_line_separators(tmp_path):
    store = CompletionStore(tmp_path / "completions.jsonl")
    store.add([{"key": "k1", "completion": "a\u2028b"}, {"key": "k2", "completion": "c\x85d"},
               {"key": "k3", "completion": "ok"}])
    assert CompletionStore(store.path).done.keys() == {"k1", "k2", "k3"}


def test_fractional_epochs_pass_preflight():
    config = resolve_config("tiny", ["train.grpo.num_train_epochs=0.5"])
    preflight.check(config, preflight.plan_layout(config, 0), extra_args=[], dry_run=True)


def test_a_reward_module_that_fails_to_import_is_a_configuration_error(tmp_path, monkeypatch):
    from medr1_cli.errors import ConfigError

    (tmp_path / "broken_reward.py").write_text("def f(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = resolve_config("tiny", ["train.rewards={'broken_reward:f': 1.0}"])  # the config itself only checks the shape
    with pytest.raises(ConfigError, match=r"importing broken_reward failed \(SyntaxError"):
        preflight.check(config, preflight.plan_layout(config, 0), extra_args=[], dry_run=True)
