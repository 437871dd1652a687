"""Paths a user's first GPU run takes, exercised on CPU (issue #15): Hub ids as the recipes name them
(served from a local Hugging Face cache built here), processors saved by transformers 5, several GPUs
(faked device counts), vLLM's sharding and LoRA rules, and the arguments TRL and lm-eval receive."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from medr1_cli.errors import ConfigError
from medr1_cli.resolution import resolve_config
from tests.conftest import REPO


# ------------------------------------------------------------------------- a local Hugging Face cache
@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """Put model folders into a Hugging Face cache at tmp_path/hub, as `huggingface-cli download` leaves
    them (refs/<revision> naming a commit, snapshots/<commit>/ holding the files), and read Hub ids
    from it offline."""
    import huggingface_hub.constants

    from medr1_cli.models import reference

    root = tmp_path / "hub"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(root))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    reference._inspect_hub.cache_clear()

    def add(repo: str, folder: Path, revision: str = "main", commit: str | None = None) -> str:
        commit = commit or f"{abs(hash((repo, revision))):040x}"[:40]
        repo_root = root / f"models--{repo.replace('/', '--')}"
        shutil.copytree(folder, repo_root / "snapshots" / commit)
        (repo_root / "refs").mkdir(parents=True, exist_ok=True)
        (repo_root / "refs" / revision).write_text(commit)
        return commit

    yield add
    reference._inspect_hub.cache_clear()


@pytest.fixture(scope="module")
def tiny_vl(tmp_path_factory) -> Path:
    from medr1_cli.models.tiny_vl import build_tiny_vl_model

    return build_tiny_vl_model(tmp_path_factory.mktemp("tiny-vl") / "model")


QWEN2_VL = "Qwen/Qwen2-VL-2B-Instruct"  # the Med-R1 recipes' model


# ------------------------------------------------------------------ 1. a VLM named by its Hub id
def test_a_vlm_named_by_hub_id_loads_as_one_for_training_and_evaluation(hub_cache, tiny_vl, tmp_path):
    from medr1_cli.evaluate.generate import Request, hf_backend
    from medr1_cli.models.loading import load_processing_class
    from medr1_cli.models.reference import is_vision_model
    from medr1_cli.train.grpo import load_model

    hub_cache(QWEN2_VL, tiny_vl)
    assert is_vision_model(QWEN2_VL)
    config = resolve_config("med-r1-demo-cpu", [f"model.name_or_path={QWEN2_VL}", "model.lora.enabled=false"])
    model, processor, _ = load_model(config)
    assert type(model).__name__ == "Qwen2VLForConditionalGeneration"
    assert hasattr(processor, "image_processor")
    assert hasattr(load_processing_class(config.model, QWEN2_VL), "image_processor")
    # the base model's evaluation, with an image
    image = tmp_path / "scan.png"
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 30, 30)).save(image)
    greedy = config.model_copy(update={"eval": config.eval.model_copy(update={"temperature": 0.0,
                                                                              "max_new_tokens": 4})})
    [answer] = hf_backend(greedy, QWEN2_VL)([Request("k", "vqa", "1", 0, [{"role": "user", "content": "?"}],
                                                     (str(image),))])
    assert answer.tokens >= 1


def test_an_adapter_on_a_hub_vlm_is_a_vision_model(hub_cache, tiny_vl, tmp_path):
    from medr1_cli.models.reference import inspect_model

    hub_cache(QWEN2_VL, tiny_vl)
    adapter = tmp_path / "run"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": QWEN2_VL, "r": 8}))
    reference = inspect_model(str(adapter))
    assert reference.vision and reference.base == QWEN2_VL and reference.model_type == "qwen2_vl"


def test_a_hub_model_absent_from_an_offline_cache_is_a_configuration_error(hub_cache):
    from medr1_cli.models.reference import inspect_model

    with pytest.raises(ConfigError, match="not in the local Hugging Face cache"):
        inspect_model("nobody/absent-model")


# -------------------------------------------------------------- 2. model.max_pixels on its own
def test_max_pixels_alone_keeps_the_saved_minimum_and_processes_an_image(tiny_vl, tmp_path):
    from PIL import Image

    from medr1_cli.models.loading import load_processing_class

    saved = json.loads((tiny_vl / "processor_config.json").read_text())
    assert set(saved["image_processor"]["size"]) == {"shortest_edge", "longest_edge"}  # as transformers 5 saves it
    config = resolve_config("med-r1-demo-cpu", [f"model.name_or_path={tiny_vl}", "model.max_pixels=40000"])
    processor = load_processing_class(config.model, str(tiny_vl))
    size = processor.image_processor.size
    assert (size["longest_edge"], size["shortest_edge"]) == (40000, saved["image_processor"]["size"]["shortest_edge"])
    image = Image.new("RGB", (640, 480), (10, 120, 200))
    batch = processor(text=["<|vision_start|><|image_pad|><|vision_end|>x"], images=[image], return_tensors="pt")
    t, h, w = batch["image_grid_thw"][0].tolist()
    assert h * w * 14 * 14 <= 40000  # the image was scaled into the range


def test_max_pixels_wins_over_a_hub_format_preprocessor_config(tiny_vl, tmp_path):
    """Hub checkpoints (Qwen2-VL-2B-Instruct) store min_pixels / max_pixels as keys of their own."""
    from medr1_cli.models.loading import load_processing_class

    folder = tmp_path / "hub-format"
    shutil.copytree(tiny_vl, folder)
    (folder / "processor_config.json").unlink()
    image = {k: v for k, v in json.loads((tiny_vl / "processor_config.json").read_text())["image_processor"].items()
             if k != "size"}
    (folder / "preprocessor_config.json").write_text(json.dumps({**image, "min_pixels": 3136,
                                                                 "max_pixels": 12845056}))
    config = resolve_config("med-r1-demo-cpu", [f"model.name_or_path={folder}", "model.max_pixels=50176"])
    size = load_processing_class(config.model, str(folder)).image_processor.size
    assert (size["shortest_edge"], size["longest_edge"]) == (3136, 50176)


# ------------------------------------------------------ Gemma-3 style: a VLM trained on text only
def test_a_vlm_trained_on_text_keeps_its_vision_tower_frozen_and_without_adapters(tiny_vl):
    from peft import get_peft_model

    from medr1_cli.train.grpo import load_model

    config = resolve_config("med-r1-demo-cpu", [f"model.name_or_path={tiny_vl}", "model.lora.enabled=true",
                                                "model.lora.target_modules=[all-linear]"])
    model, _, peft_config = load_model(config, images=False)
    adapted = get_peft_model(model, peft_config)
    lora = [name for name, _ in adapted.named_parameters() if "lora_" in name]
    assert lora and not [name for name in lora if ".visual." in name]
    assert any(".language_model." in name for name in lora)
    model, _, peft_config = load_model(config, images=True)  # Med-R1 VQA: the vision tower is trained
    assert any(".visual." in name for name, _ in get_peft_model(model, peft_config).named_parameters()
               if "lora_" in name)
    model, _, _ = load_model(config.model_copy(update={"model": config.model.model_copy(
        update={"lora": config.model.lora.model_copy(update={"enabled": False})})}), images=False)
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert frozen and all(".visual." in name for name in frozen)


# ------------------------------------------------------------------------ 3. Q-LoRA and vLLM
@pytest.mark.parametrize("topology", ["colocate", "server"])
def test_qlora_with_vllm_generation_is_refused_with_the_reason(topology):
    from medr1_cli.train import preflight

    config = resolve_config("gemma3-12b-it-qlora", [f"train.topology={topology}", "train.vllm_server_gpus=1"])
    with pytest.raises(ConfigError) as caught:
        preflight.check(config, preflight.plan_layout(config, 2), extra_args=[], dry_run=True)
    assert "packed tensors" in caught.value.message and "topology multi" in caught.value.message


def test_the_shipped_qlora_recipe_passes_preflight():
    from medr1_cli.train import preflight

    config = resolve_config("gemma3-12b-it-qlora")
    assert config.train.topology == "multi"
    preflight.check(config, preflight.plan_layout(config, 2), extra_args=[], dry_run=True)


def test_qlora_under_zero3_stores_its_4bit_weights_in_the_model_dtype():
    import torch

    from medr1_cli.train.grpo import quantization_config

    zero3 = quantization_config(resolve_config("gemma3-12b-it-qlora", ["train.strategy=zero3"]))
    assert zero3.bnb_4bit_quant_storage == torch.bfloat16 and zero3.bnb_4bit_compute_dtype == torch.bfloat16
    ddp = quantization_config(resolve_config("gemma3-12b-it-qlora"))
    assert ddp.bnb_4bit_quant_storage == torch.uint8  # bitsandbytes' own packing where nothing shards it


# ---------------------------------------------------------- 4. topology single on several GPUs
def test_single_on_a_machine_with_several_gpus_trains_in_a_process_that_sees_one(monkeypatch, tmp_path):
    from medr1_cli.train import preflight
    from medr1_cli.train.launch import build_plan

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5,6,7")
    config = resolve_config("tiny", [f"train.output_dir={tmp_path / 'run'}"])
    plan = build_plan(config, preflight.plan_layout(config, 4), extra_args=[], model_path="m")
    assert plan.train.env == {"CUDA_VISIBLE_DEVICES": "3"}
    assert plan.train.argv[1:] == ["-m", "medr1_cli.train.grpo", "--config", str(tmp_path / "run" / "medr1_config.yaml")]
    assert build_plan(config, preflight.plan_layout(config, 1), extra_args=[], model_path="m").train is None


@pytest.mark.slow
def test_single_on_several_gpus_really_trains_in_that_process(tmp_path):
    """The whole launch on CPU: `train.gpus` stands in for the detected count; the run is a child process."""
    from tests.conftest import run_medr1

    out = tmp_path / "run"
    result = run_medr1("train", "-c", "tiny", "-o", str(out), "--set", "train.gpus=2",
                       "--set", f"data.output_dir={tmp_path / 'data'}", "--set", "train.grpo.max_steps=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "medr1_config.yaml").is_file() and (out / "trainer_state.json").is_file()


# ------------------------------------------------------------- 5. vLLM tensor parallel layouts
def sizes(heads, kv, mlp=None):
    from medr1_cli.models.reference import ShardedSizes

    return ShardedSizes(heads, kv, mlp)


QWEN25_7B = sizes(28, 4, 18944)  # HuatuoGPT-o1-7B is a Qwen2.5-7B
QWEN25_15B = sizes(12, 2, 8960)


def test_tensor_parallel_sizes_follow_vllms_sharding_rule():
    from medr1_cli.devices import tensor_parallel_sizes

    assert tensor_parallel_sizes(QWEN25_7B, 8) == [1, 2, 4]
    assert tensor_parallel_sizes(QWEN25_15B, 8) == [1, 2, 4]  # 6 divides the heads, not the MLP width
    assert tensor_parallel_sizes(sizes(32, 8, 14336), 8) == [1, 2, 4, 8]  # Llama-3-8B
    assert tensor_parallel_sizes(None, 3) == [1, 2, 3]


def test_one_tensor_parallel_check_names_the_setting_the_model_and_the_valid_counts():
    from medr1_cli.devices import tensor_parallel_problem

    assert tensor_parallel_problem("train.vllm_server_gpus", 4, QWEN25_7B) is None
    assert tensor_parallel_problem("eval.tensor_parallel_size", 3, None) is None  # sizes unknown: anything goes
    problem = tensor_parallel_problem("train.vllm_server_gpus", 3, QWEN25_7B)
    assert problem.startswith("train.vllm_server_gpus 3: ") and "28 attention heads" in problem
    assert problem.endswith("3 GPUs do not divide it; use one of 1, 2, 4")  # up to 8 by default
    assert tensor_parallel_problem("eval.tensor_parallel_size", 3, sizes(32, 8, 14336), limit=16).endswith(
        "use one of 1, 2, 4, 8, 16")


def test_the_largest_valid_layout_is_chosen_and_said(tmp_path):
    from medr1_cli.evaluate.gpus import describe_layout, gpus_per_worker

    config = resolve_config("tiny", [f"eval.output_dir={tmp_path}"])
    assert gpus_per_worker(config, 8, QWEN25_7B) == 4
    line = describe_layout(config, 8, 4, QWEN25_7B)
    assert "× 4 GPU(s) each = 4 of 8 GPU(s)" in line and "28 attention heads" in line
    assert "eval.data_parallel_size 2 would use 8" in line
    two = resolve_config("tiny", [f"eval.output_dir={tmp_path}", "eval.data_parallel_size=2"])
    assert gpus_per_worker(two, 8, QWEN25_7B) == 4
    explicit = resolve_config("tiny", [f"eval.output_dir={tmp_path}", "eval.tensor_parallel_size=8"])
    with pytest.raises(ConfigError) as caught:
        gpus_per_worker(explicit, 8, QWEN25_7B)
    assert "28 attention heads" in caught.value.message and "use one of 1, 2, 4" in caught.value.message
    assert "eval.tensor_parallel_size 8" in caught.value.message and "unset" in caught.value.hint


def test_evaluate_dry_run_shows_the_layout_for_a_planned_gpu_count(tmp_path):
    model = tmp_path / "qwen7b-config"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "qwen2", "num_attention_heads": 28,
                                                   "num_key_value_heads": 4, "intermediate_size": 18944}))
    from typer.testing import CliRunner

    from medr1_cli.cli import app

    result = CliRunner().invoke(app, ["evaluate", "-c", "tiny", "-b", "demo", "-m", str(model), "--dry-run",
                                      "-o", str(tmp_path / "eval"), "--set", "eval.gpus=8", "--set", "eval.backend=auto"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "layout: backend vllm (auto: where vLLM is installed): 1 replica(s) × 4 GPU(s) each = 4 of 8 GPU(s)" in output
    assert "eval.data_parallel_size 2 would use 8" in output


# -------------------------------------------------------------- 6. a LoRA run folder on vLLM
@pytest.fixture(scope="module")
def lora_folder(tmp_path_factory) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from medr1_cli.models import resolve_model_path

    base = resolve_model_path("builtin:tiny")
    run = tmp_path_factory.mktemp("lora") / "run"
    get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                   LoraConfig(r=12, lora_alpha=24, target_modules="all-linear", task_type="CAUSAL_LM")).save_pretrained(run)
    AutoTokenizer.from_pretrained(base).save_pretrained(run)
    return run


def test_a_lora_run_is_served_on_its_base_with_vllms_lora_support(lora_folder, tmp_path):
    from medr1_cli.evaluate.generate import vllm_engine
    from medr1_cli.evaluate.lmeval import model_arguments
    from medr1_cli.models import resolve_model_path

    config = resolve_config("tiny", [f"eval.output_dir={tmp_path}"])
    engine = vllm_engine(config, str(lora_folder))
    base = resolve_model_path("builtin:tiny")
    assert (engine.model, engine.tokenizer, engine.lora_rank) == (base, str(lora_folder), 16)  # r=12 -> 16
    assert engine.sizes.attention_heads == 4
    arguments = model_arguments(config, str(lora_folder), "vllm", tokenizer=None)
    assert (arguments["pretrained"], arguments["lora_local_path"], arguments["max_lora_rank"]) == \
        (base, str(lora_folder), 16)
    hf = model_arguments(config, str(lora_folder), "hf", tokenizer=None)
    assert (hf["pretrained"], hf["peft"]) == (base, str(lora_folder))
    plain = vllm_engine(config, base)
    assert (plain.model, plain.lora_rank) == (base, None)


def test_lm_eval_accepts_every_argument_medr1_builds_for_a_lora_run(lora_folder, tmp_path, monkeypatch):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("check_vllm_contract", REPO / "scripts" / "check_vllm_contract.py")
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, script)
    spec.loader.exec_module(script)
    accepted, _, _ = script.lm_eval_contract()  # lm-eval's VLLM.__init__, read from its installed source
    from medr1_cli.evaluate.lmeval import model_arguments

    arguments = model_arguments(resolve_config("tiny", [f"eval.output_dir={tmp_path}"]), str(lora_folder), "vllm",
                                tokenizer=None)
    assert set(arguments) <= accepted


def test_adapters_vllm_cannot_serve_are_refused_with_the_fix(lora_folder, tmp_path):
    from medr1_cli.evaluate.generate import vllm_engine

    config = resolve_config("tiny", [f"eval.output_dir={tmp_path}"])
    for change, words in (({"r": 1024}, "LoRA rank 1024"), ({"modules_to_save": ["lm_head"]}, "modules_to_save")):
        folder = tmp_path / next(iter(change))
        shutil.copytree(lora_folder, folder)
        adapter = json.loads((folder / "adapter_config.json").read_text())
        (folder / "adapter_config.json").write_text(json.dumps({**adapter, **change}))
        with pytest.raises(ConfigError, match=words) as caught:
            vllm_engine(config, str(folder))
        assert "medr1 export" in caught.value.hint


# --------------------------------------------------- 7. model.revision and trust_remote_code in TRL
def test_revision_and_remote_code_reach_trl(tmp_path):
    from medr1_cli.train.grpo import build_grpo_config, grpo_kwargs

    config = resolve_config("tiny", ["model.revision=v1", "model.trust_remote_code=true"])
    args = build_grpo_config(grpo_kwargs(config, cuda_available=False))
    assert args.model_init_kwargs == {"revision": "v1"} and args.trust_remote_code is True
    clash = resolve_config("tiny", ["model.revision=v1", "train.grpo.model_init_kwargs={revision: v2}"])
    with pytest.raises(ConfigError, match="differs from model.revision"):
        grpo_kwargs(clash, cuda_available=False)
    with pytest.raises(ConfigError, match="set model.trust_remote_code instead"):
        grpo_kwargs(resolve_config("tiny", ["train.grpo.trust_remote_code=true"]), cuda_available=False)


def test_the_reference_model_is_the_policys_revision_not_main(hub_cache, tmp_path):
    """beta > 0 without LoRA: TRL builds the reference model itself, from the Hub id medr1's policy came from."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import GRPOTrainer

    from medr1_cli.models import resolve_model_path
    from medr1_cli.train.grpo import build_grpo_config, grpo_kwargs, load_model

    tiny = Path(resolve_model_path("builtin:tiny"))
    changed = tmp_path / "v1"
    model = AutoModelForCausalLM.from_pretrained(tiny)
    with torch.no_grad():
        model.lm_head.weight.add_(1.0)
    model.save_pretrained(changed)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json"):
        if (tiny / name).is_file():
            shutil.copy(tiny / name, changed / name)
    hub_cache("medr1-test/tiny", tiny)  # main
    hub_cache("medr1-test/tiny", changed, revision="v1")
    config = resolve_config("tiny", ["model.name_or_path=medr1-test/tiny", "model.revision=v1", "model.lora.enabled=false",
                                     "train.grpo.beta=0.04", f"train.output_dir={tmp_path / 'run'}"])
    policy, tokenizer, _ = load_model(config)
    trainer = GRPOTrainer(model=policy, reward_funcs=[lambda completions, **_: [0.0] * len(completions)],
                          args=build_grpo_config(grpo_kwargs(config, cuda_available=False)),
                          train_dataset=Dataset.from_list([{"prompt": "hello"}] * 4), processing_class=tokenizer)
    assert torch.equal(trainer.ref_model.lm_head.weight, policy.lm_head.weight)  # v1's head, not main's
    # colocated vLLM loads the policy's name_or_path (TRL passes it no revision): the v1 snapshot folder
    assert Path(policy.name_or_path).parent.name == "snapshots" and (Path(policy.name_or_path) / "config.json").is_file()
    assert Path(policy.name_or_path).name == (tmp_path / "hub" / "models--medr1-test--tiny" / "refs" / "v1").read_text()


# ---------------------------------------------------------------------------- 8. vLLM chunks
def test_vllm_gets_large_chunks_and_hf_the_batch_size(tmp_path, monkeypatch):
    from medr1_cli.evaluate import run
    from medr1_cli.evaluate.generate import Generation, chunk_size

    config = resolve_config("tiny", [f"eval.output_dir={tmp_path / 'eval'}", "eval.batch_size=8"])
    assert (chunk_size(config, "hf"), chunk_size(config, "vllm")) == (8, 512)
    assert chunk_size(config, "vllm", pending=100, workers=4) == 25  # every replica gets a share
    seen = []

    def backend(requests):
        seen.append(len(requests))
        return [Generation("<answer>A</answer>", 3, False) for _ in requests]

    monkeypatch.setattr(run, "make_backend", lambda config, path: ("vllm", backend))
    monkeypatch.setattr(run, "backend_for", lambda config, path: "vllm")
    results = run.run_evaluation(resolve_config("tiny", [f"eval.output_dir={tmp_path / 'eval'}", "eval.benchmarks=[demo]"]))
    assert seen == [results["benchmarks"]["demo"]["n"]] and seen[0] > 8  # one chunk, not batches of 8


def test_a_vllm_server_gpu_count_that_cannot_shard_the_model_is_refused(tmp_path):
    from medr1_cli.train import preflight

    config = resolve_config("huatuo-o1-7b-mix", ["train.vllm_server_gpus=3", "train.gpus=8"])
    with pytest.raises(ConfigError) as caught:
        preflight.check(config, preflight.plan_layout(config, 8), extra_args=[], dry_run=True, sizes=QWEN25_7B)
    assert "train.vllm_server_gpus 3" in caught.value.message and "use one of 1, 2, 4" in caught.value.message
    ok = resolve_config("huatuo-o1-7b-mix", ["train.vllm_server_gpus=2", "train.gpus=8"])
    preflight.check(ok, preflight.plan_layout(ok, 8), extra_args=[], dry_run=True, sizes=QWEN25_7B)


# ------------------------------------------------------------------------ review follow-ups
def test_a_data_parallel_worker_accepts_its_own_layout_on_the_gpus_it_sees(tmp_path):
    from medr1_cli.evaluate.gpus import gpus_per_worker, worker_config

    config = resolve_config("tiny", [f"eval.output_dir={tmp_path}", "eval.data_parallel_size=2", "eval.gpus=8"])
    per_worker = gpus_per_worker(config, 8, QWEN25_7B)
    assert gpus_per_worker(worker_config(config, per_worker), 4, QWEN25_7B) == 4  # the 4 GPUs of its mask


def test_single_with_train_gpus_1_on_a_machine_with_more_still_masks_to_one(monkeypatch, tmp_path):
    from medr1_cli.train import command, preflight

    plans = []
    monkeypatch.setattr(preflight, "detect_gpus", lambda: 4)
    monkeypatch.setattr(command, "validate_grpo", lambda config, layout: None)
    monkeypatch.setattr(command, "execute", lambda plan, console: plans.append(plan) or 0)
    monkeypatch.setattr(command, "prepared_dataset", lambda *a, **k: None)
    monkeypatch.setattr(command, "record_lineage", lambda *a, **k: None)  # no data prepared, so no lineage
    config = resolve_config("tiny", [f"train.output_dir={tmp_path / 'run'}", "train.gpus=1",
                                     f"data.output_dir={tmp_path / 'data'}"])
    command.run_train(config)
    assert plans and plans[0].train.env["CUDA_VISIBLE_DEVICES"] == "0"


def test_adapters_vllm_refuses_are_refused_before_it_starts(lora_folder, tmp_path):
    from medr1_cli.evaluate.generate import vllm_engine

    config = resolve_config("tiny", [f"eval.output_dir={tmp_path}"])
    adapter = json.loads((lora_folder / "adapter_config.json").read_text())
    for name, change, words in (("no-r", {"r": None}, "no rank r"), ("dora", {"use_dora": True}, "DoRA"),
                                ("pattern", {"rank_pattern": {"q_proj": 64}}, None)):
        folder = tmp_path / name
        shutil.copytree(lora_folder, folder)
        (folder / "adapter_config.json").write_text(json.dumps({**adapter, **change}))
        if words is None:
            assert vllm_engine(config, str(folder)).lora_rank == 64  # the largest rank any module has
            continue
        with pytest.raises(ConfigError, match=words):
            vllm_engine(config, str(folder))
