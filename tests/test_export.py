"""`medr1 export`: LoRA merge checked weight by weight, full and ZeRO-3 checkpoints from real CPU runs,
verification figures, sharding and dtype, the model card, overwrite protection, publishing dry-run,
clear errors, and `medr1 evaluate` on the exported folder."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from rich.console import Console
from safetensors import safe_open
from safetensors.torch import load_file

from medr1_cli.errors import ConfigError, DataError
from medr1_cli.evaluate.run import accuracy_cell
from medr1_cli.export import verify
from medr1_cli.export.command import VerificationFailed, run_export
from medr1_cli.resolution import resolve_config
from tests.conftest import run_medr1


def quiet() -> Console:
    return Console(quiet=True)


def settings(tmp_path, *overrides):
    return resolve_config("tiny", [f"eval.output_dir={tmp_path / 'no-eval'}", *overrides])


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, tiny_model):
    """A LoRA run folder as training leaves it, with a non-zero adapter: a real GRPO run of the random
    tiny model earns no reward, so its adapter's B matrices would still be the zeros they start at."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = tmp_path_factory.mktemp("lora") / "run"
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model),
                           LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    model.save_pretrained(run)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(run)
    resolve_config("tiny", ["model.lora.enabled=true", "model.lora.r=4", "model.lora.alpha=8",
                            f"train.output_dir={run}"]).write_beside(run)
    return run


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """A real (full-weight) GRPO run of the tiny model with a checkpoint at each of its 2 steps."""
    root = tmp_path_factory.mktemp("full")
    result = run_medr1("train", "-c", "tiny", "-o", str(root / "run"), "--set", f"data.output_dir={root / 'data'}",
                       "--set", "train.grpo.save_steps=1")
    assert result.returncode == 0, result.stderr
    return root / "run"


# ------------------------------------------------------------------------------ LoRA merge
def test_lora_merge_adds_the_scaled_adapter_product_to_every_targeted_weight(lora_run, tiny_model, tmp_path):
    out = tmp_path / "merged"
    exported = run_export(settings(tmp_path, f"export.output_dir={out}"), str(lora_run), console=quiet())
    assert exported["kind"] == "merged" and exported["source"].kind == "lora"
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "chat_template.jinja",
            "README.md", "medr1_training_config.yaml"} <= {p.name for p in out.iterdir()}
    assert not (out / "adapter_config.json").exists()

    base, merged = load_file(tiny_model / "model.safetensors"), load_file(out / "model.safetensors")
    adapter = load_file(lora_run / "adapter_model.safetensors")
    name = "model.layers.0.self_attn.q_proj.weight"
    a = adapter["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"]
    b = adapter["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"]
    assert torch.allclose(merged[name], base[name] + (b @ a) * (8 / 4), atol=1e-6)
    assert not torch.equal(merged[name], base[name])

    check = exported["verification"]
    assert check["passed"] and check["dtype"] == "float32" and check["probes"] == 3
    assert check["max_abs_logit_diff"] < 1e-4 and check["same_next_token"] == 3


def test_bfloat16_export_in_small_shards_reloads_within_tolerance(lora_run, tmp_path):
    out = tmp_path / "bf16"
    exported = run_export(settings(tmp_path, f"export.output_dir={out}", "export.dtype=bfloat16",
                                   "export.max_shard_size=200KB"), str(lora_run), console=quiet())
    shards = sorted(out.glob("model-*.safetensors"))
    assert len(shards) >= 2 and (out / "model.safetensors.index.json").is_file()
    with safe_open(shards[0], "pt") as handle:
        assert handle.get_tensor(next(iter(handle.keys()))).dtype == torch.bfloat16
    check = exported["verification"]
    assert check["passed"] and 0 < check["max_abs_logit_diff"] <= check["tolerance"]


def test_adapter_only_keeps_the_adapter_and_its_card_says_peft(lora_run, tmp_path):
    out = tmp_path / "adapter"
    run_export(settings(tmp_path, f"export.output_dir={out}", "export.adapter_only=true"), str(lora_run),
               console=quiet())
    assert (out / "adapter_model.safetensors").read_bytes() == (lora_run / "adapter_model.safetensors").read_bytes()
    assert not (out / "model.safetensors").exists()
    assert "library_name: peft" in (out / "README.md").read_text()


def test_adapter_only_verifies_on_the_base_given_when_the_recorded_one_is_gone(lora_run, tiny_model, tmp_path):
    moved = tmp_path / "run"
    shutil.copytree(lora_run, moved)
    (moved / "medr1_config.yaml").unlink()  # no run config: only adapter_config.json names the base ...
    adapter = json.loads((moved / "adapter_config.json").read_text())
    (moved / "adapter_config.json").write_text(json.dumps({**adapter, "base_model_name_or_path": "/cluster/gone"}))
    base = tmp_path / "base"
    shutil.copytree(tiny_model, base)
    exported = run_export(settings(tmp_path, f"export.output_dir={tmp_path / 'out'}", "export.adapter_only=true"),
                          str(moved), base_model=str(base), console=quiet())  # ... and it is gone: --base-model
    assert exported["verification"]["passed"] and exported["verification"]["max_abs_logit_diff"] == 0.0


def test_verification_failure_writes_nothing(lora_run, tmp_path, monkeypatch):
    monkeypatch.setitem(verify.TOLERANCE, "bfloat16", 0.0)  # any rounding now counts as a broken export
    out = tmp_path / "never"
    with pytest.raises(VerificationFailed, match="nothing was written"):
        run_export(settings(tmp_path, f"export.output_dir={out}", "export.dtype=bfloat16"), str(lora_run),
                   console=quiet())
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a leftover .partial


@pytest.mark.slow
def test_a_checkpoint_card_does_not_borrow_the_final_models_results(full_run, tmp_path):
    evaluation = tmp_path / "eval"
    evaluation.mkdir()
    from medr1_cli.evaluate.generate import model_fingerprint

    # results of the final save, as evaluate records them: by the weights' fingerprint
    (evaluation / "results.json").write_text(json.dumps({"model": str(full_run), "benchmarks": {},
                                                         "model_fingerprint": model_fingerprint(str(full_run))}))
    final = run_export(settings(tmp_path, f"eval.output_dir={evaluation}", f"export.output_dir={tmp_path / 'a'}",
                                "export.verify=false"), str(full_run), console=quiet())
    early = run_export(settings(tmp_path, f"eval.output_dir={evaluation}", f"export.output_dir={tmp_path / 'b'}",
                                "export.verify=false", "export.checkpoint=checkpoint-1"), str(full_run), console=quiet())
    assert final["results"] == str(evaluation / "results.json") and early["results"] is None


def test_a_4bit_base_is_refused_with_the_fix(lora_run, tiny_model, tmp_path):
    base = tmp_path / "base-4bit"
    shutil.copytree(tiny_model, base)
    config = json.loads((base / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4"}
    (base / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataError) as caught:
        run_export(settings(tmp_path, f"export.output_dir={tmp_path / 'x'}"), str(lora_run), base_model=str(base),
                   console=quiet())
    assert "stored in 4-bit" in caught.value.message and "reload the unquantised base in bf16" in caught.value.hint


def test_a_base_model_that_cannot_be_found(lora_run, tmp_path):
    orphan = tmp_path / "orphan"
    orphan.mkdir()
    for name in ("adapter_model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy2(lora_run / name, orphan / name)
    adapter = json.loads((lora_run / "adapter_config.json").read_text())
    (orphan / "adapter_config.json").write_text(json.dumps({**adapter, "base_model_name_or_path": "/gone/base"}))
    with pytest.raises(DataError) as caught:
        run_export(settings(tmp_path), str(orphan), console=quiet())
    assert "/gone/base" in caught.value.message and "--base-model" in caught.value.hint


# ---------------------------------------------------------------- full and ZeRO-3 checkpoints
@pytest.mark.slow
def test_full_checkpoint_exports_its_exact_weights_and_the_card_tells_the_run(full_run, tmp_path):
    out = tmp_path / "step1"
    exported = run_export(settings(tmp_path, f"export.output_dir={out}", "export.checkpoint=checkpoint-1"),
                          str(full_run), console=quiet())
    assert exported["kind"] == "full" and exported["source"].step == 1
    source, saved = load_file(full_run / "checkpoint-1" / "model.safetensors"), load_file(out / "model.safetensors")
    assert source.keys() == saved.keys() and all(torch.equal(source[k], saved[k]) for k in source)
    assert exported["verification"]["max_abs_logit_diff"] == 0.0

    card = (out / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: transformers\n")  # builtin:tiny has no Hub id: no base_model
    assert "full weights at step 1" in card
    assert "Mix `demo`: 64 questions, seed 42" in card and "| demo-medqa | builtin:medqa | medqa | generic |" in card
    assert "| rewards (weight) | accuracy (1), format (1) |" in card and "| max_steps | 2 |" in card
    assert "No `medr1 evaluate` results were found" in card


@pytest.mark.slow
def test_the_model_card_carries_the_runs_evaluation_and_the_export_evaluates(full_run, tmp_path):
    evaluation = tmp_path / "eval"
    scored = run_medr1("evaluate", "-c", "tiny", "-m", str(full_run), "-b", "medqa", "--limit", "3", "-o", str(evaluation),
                       "--set", "eval.data={medqa: builtin:medqa}", "--set", "eval.max_new_tokens=4",
                       "--set", f"data.output_dir={tmp_path / 'data'}")
    assert scored.returncode == 0, scored.stderr
    out = tmp_path / "export"
    result = run_medr1("export", str(full_run), "-o", str(out), "--set", f"eval.output_dir={evaluation}")
    assert result.returncode == 0, result.stderr
    assert "verification: max |logit difference|" in result.stdout and "passed" in result.stdout
    card = (out / "README.md").read_text()
    medqa = json.loads((evaluation / "results.json").read_text())["benchmarks"]["medqa"]
    assert medqa["n"] == 3  # the card shows the figures of that evaluation, whatever the random model scored
    assert "| model | MedQA-USMLE |" in card and f"| {full_run} | {accuracy_cell(medqa)} |" in card

    again = run_medr1("evaluate", "-c", "tiny", "-m", str(out), "-b", "medqa", "--limit", "3", "-o", str(tmp_path / "e2"),
                      "--set", "eval.data={medqa: builtin:medqa}", "--set", "eval.max_new_tokens=4",
                      "--set", f"data.output_dir={tmp_path / 'data'}")
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "e2" / "results.json").read_text())["benchmarks"]["medqa"]["n"] == 3


@pytest.mark.slow
def test_zero3_checkpoint_is_consolidated_by_deepspeed_from_a_real_cpu_run(tmp_path):
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint

    result = run_medr1("train", "-c", "tiny", "-o", str(tmp_path / "run"), "--set", f"data.output_dir={tmp_path / 'data'}",
                       "--topology", "multi", "--num-processes", "1", "--strategy", "zero3")
    assert result.returncode == 0, result.stderr
    checkpoint = tmp_path / "run" / "checkpoint-2"
    assert any(checkpoint.glob("global_step2/*model_states.pt"))
    out = tmp_path / "export"
    exported = run_export(settings(tmp_path, f"export.output_dir={out}", "export.checkpoint=checkpoint-2",
                                   "export.dtype=float32"), str(tmp_path / "run"), console=quiet())
    assert exported["kind"] == "zero" and exported["verification"]["max_abs_logit_diff"] == 0.0
    masters, saved = get_fp32_state_dict_from_zero_checkpoint(str(checkpoint)), load_file(out / "model.safetensors")
    assert set(saved) <= set(masters) and len(saved) >= len(masters) - 1  # a tied lm_head is saved once
    assert all(torch.equal(masters[k], saved[k]) for k in saved)
    assert "consolidated from a DeepSpeed ZeRO checkpoint at step 2" in (out / "README.md").read_text()


# ------------------------------------------------------------------- safety and publishing
def test_a_non_empty_target_needs_force_and_is_replaced_whole(lora_run, tmp_path):
    out = tmp_path / "target"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    cli = ["export", str(lora_run), "-c", "tiny", "-o", str(out), "--no-verify"]
    refused = run_medr1(*cli)
    assert refused.returncode == 2 and "is not empty; refusing to overwrite it" in refused.stderr
    assert "--force" in refused.stderr and [p.name for p in out.iterdir()] == ["keep.txt"]
    replaced = run_medr1(*cli, "--force")
    assert replaced.returncode == 0, replaced.stderr
    assert not (out / "keep.txt").exists() and (out / "model.safetensors").is_file()
    assert "verification" not in replaced.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target"]  # no temporary folder left behind


def test_push_dry_run_lists_the_upload_and_a_real_push_offline_says_why(lora_run, tmp_path):
    out = tmp_path / "pub"
    dry = run_medr1("export", str(lora_run), "-c", "tiny", "-o", str(out), "--push-to-hub", "me/medr1-tiny",
                    "--revision", "v1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would upload" in dry.stdout and "me/medr1-tiny@v1 (private when created)" in dry.stdout
    assert "model.safetensors" in dry.stdout and "README.md" in dry.stdout
    pushed = run_medr1("export", str(lora_run), "-c", "tiny", "-o", str(tmp_path / "pub2"), "--push-to-hub",
                       "me/medr1-tiny", "--no-verify", env={"HF_HUB_OFFLINE": "1"})
    assert pushed.returncode == 2 and "HF_HUB_OFFLINE is set" in pushed.stderr
    assert (tmp_path / "pub2" / "model.safetensors").is_file()  # the export itself stands


def test_unusable_sources_are_clear_errors(lora_run, tiny_model, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoint-3").mkdir(parents=True)
    # An incomplete checkpoint (no trainer_state.json: the save was cut short) is never picked ...
    with pytest.raises(DataError, match="holds no model: .* no complete checkpoint-N folder"):
        run_export(settings(tmp_path), str(run), console=quiet())
    (run / "checkpoint-3" / "trainer_state.json").write_text("{}")
    # ... and one that is complete but empty is named, as is a checkpoint the run does not have.
    with pytest.raises(DataError, match="holds neither a LoRA adapter .* nor model weights"):
        run_export(settings(tmp_path), str(run), console=quiet())
    with pytest.raises(DataError, match="checkpoint 'checkpoint-9' not found in .*; its complete checkpoints: checkpoint-3"):
        run_export(settings(tmp_path, "export.checkpoint=checkpoint-9"), str(run), console=quiet())
    with pytest.raises(ConfigError, match="is or contains the folder being exported"):  # --force would delete it
        run_export(settings(tmp_path, f"export.output_dir={lora_run.parent}"), str(lora_run), force=True,
                   console=quiet())
    with pytest.raises(ConfigError, match="not a LoRA adapter"):
        shutil.rmtree(run / "checkpoint-3")
        shutil.copytree(tiny_model, run / "full")
        run_export(settings(tmp_path, "export.adapter_only=true"), str(run / "full"), console=quiet())
    with pytest.raises(ConfigError, match="--dry-run lists what --push-to-hub would upload"):
        run_export(settings(tmp_path), str(lora_run), dry_run=True, console=quiet())
