"""`medr1 demo`: runs every stage through the real command code, on the previous stage's outputs."""

from __future__ import annotations

import json

import pytest
import yaml

from medr1_cli.data.formats import load_records
from medr1_cli.data.sources import read_source
from medr1_cli.layout import RESOLVED_CONFIG_NAME
from tests.conftest import run_medr1


def test_demo_with_the_tiny_model(tmp_path):
    out = tmp_path / "out"
    result = run_medr1("demo", "--model", "builtin:tiny", "-o", str(out), timeout=300)
    assert result.returncode == 0, result.stderr

    check = json.loads((out / "model_check.json").read_text())
    assert check["model"] == "builtin:tiny"
    assert check["parameters"] < 200_000
    assert "Iron" in check["question"]

    resolved = yaml.safe_load((out / RESOLVED_CONFIG_NAME).read_text())
    assert resolved["model"]["name_or_path"] == "builtin:tiny"  # --model beat the demo recipe
    assert resolved["train"]["output_dir"] == str(out / "train")  # every stage writes under -o
    assert resolved["eval"]["benchmarks"] == ["medmcqa", "medqa", "pubmedqa", "mmlu_pro_med", "gpqa_med", "medxpertqa"]

    # prepare-data ran through its real code into the demo folder ...
    manifest = json.loads((out / "data" / "demo" / "manifest.json").read_text())
    assert manifest["rows"] == 64 and len(manifest["held_out_ids"]) == 64
    assert "64 training questions, 64 held out" in result.stdout
    # ... and so did training, with its checkpoint and rollout log ...
    assert "6 GRPO steps" in result.stdout
    assert (out / "train" / "checkpoint-6" / "trainer_state.json").is_file()
    assert len((out / "train" / "rollouts.jsonl").read_text().splitlines()) == 6 * 4
    # ... and evaluation scored the trained adapter on the six benchmarks, training items left out ...
    results = json.loads((out / "eval" / "results.json").read_text())
    assert results["model"] == str(out / "train")
    scored = {name: b["n"] for name, b in results["benchmarks"].items()}
    # every built-in question of each benchmark, less those the demo mix trained on
    trained_on = set(manifest["training_ids"])
    files = {"medmcqa": "medmcqa", "medqa": "medqa", "pubmedqa": "pubmedqa", "mmlu_pro_med": "mmlu_pro",
             "gpqa_med": "gpqa", "medxpertqa": "medxpertqa"}
    expected = {name: len([r for r in load_records(read_source(f"builtin:{file}")).records if r.id not in trained_on])
                for name, file in files.items()}
    assert scored == expected and expected["medqa"] == 64 - 48 and expected["medxpertqa"] == 64 - 16
    assert not {i["id"] for b in results["benchmarks"].values() for i in b["items"]} & set(manifest["training_ids"])
    assert f"{sum(expected.values())} held-out questions on 6 benchmarks" in result.stdout
    # ... beside the model it started from, on the same items, with a verdict the numbers carry ...
    comparison = json.loads((out / "eval" / "comparison.json").read_text())
    assert comparison["baseline"] == "builtin:tiny" and set(comparison["benchmarks"]) == set(expected)
    assert (out / "baseline-builtin-tiny" / "results.json").is_file()
    assert comparison["verdict"].startswith("trained vs base at α = 0.05 (McNemar, per benchmark): ")
    assert comparison["verdict"] in " ".join(result.stdout.split()).replace("│ ", "") or "trained vs base" in result.stdout
    # ... and export merged it into a standalone folder that reproduces the trained model's logits.
    assert "LoRA merged; max |logit difference|" in result.stdout and "within float32 tolerance" in result.stdout
    assert (out / "export" / "model.safetensors").is_file() and not (out / "export" / "adapter_config.json").exists()
    assert "MedXpertQA" in (out / "export" / "README.md").read_text()  # the evaluation table is in the card
    assert sorted(p.name for p in out.iterdir()) == ["baseline-builtin-tiny", "data", "eval", "export", RESOLVED_CONFIG_NAME,
                                                     "model_check.json", "train"]


def test_demo_rejects_a_bad_override_before_any_work(tmp_path):
    result = run_medr1("demo", "-o", str(tmp_path / "out"), "--set", "train.grpo.max_steps=2", "--set", "eval.limt=3")
    assert result.returncode == 2
    assert "eval.limt" in result.stderr and "(did you mean 'limit'?)" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_readme_demo_command_with_the_default_model(tmp_path):
    """`medr1 demo` exactly as the README runs it: SmolLM2 is materialised and answers the check question."""
    result = run_medr1("demo", cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stderr
    check = json.loads((tmp_path / "runs" / "demo" / "model_check.json").read_text())
    assert check["model"] == "builtin:smollm2-135m-instruct"
    assert 130e6 < check["parameters"] < 140e6
    assert check["completion"].strip()
    state = json.loads((tmp_path / "runs" / "demo" / "train" / "trainer_state.json").read_text())
    assert state["global_step"] == 6
    assert (tmp_path / "runs" / "demo" / "train" / "adapter_config.json").is_file()  # LoRA
    results = json.loads((tmp_path / "runs" / "demo" / "eval" / "results.json").read_text())
    assert len(results["benchmarks"]) == 6 and results["model"] == "runs/demo/train"
    assert (tmp_path / "runs" / "demo" / "export" / "model.safetensors").is_file()


def test_med_r1_demo_runs_the_vqa_pipeline_end_to_end(tmp_path):
    result = run_medr1("demo", "-c", "med-r1-demo-cpu", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "runs" / "med-r1-demo"  # without -o, the recipe's own folders: not the text demo's runs/demo
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["med-r1-demo"]
    check = json.loads((out / "model_check.json").read_text())
    assert check["model"] == "builtin:tiny-vl" and check["images"][0].endswith(".png")  # it was shown an image
    manifest = json.loads((out / "data" / "omnimedvqa-modality-ct" / "manifest.json").read_text())
    assert manifest["train_on"] == "CT" and len(manifest["groups"]) == 8
    assert json.loads((out / "train" / "trainer_state.json").read_text())["global_step"] == 4
    results = json.loads((out / "eval" / "results.json").read_text())
    assert len(results["benchmarks"]) == 8 and all(b["n"] == 2 for b in results["benchmarks"].values())
    assert "16 held-out questions on 8 benchmarks" in result.stdout
    assert json.loads((out / "export" / "processor_config.json").read_text())["processor_class"] == "Qwen2VLProcessor"
    card = (out / "export" / "README.md").read_text()  # the card finds the per-group prepared folder's manifest
    assert "Mix `omnimedvqa`: 8 questions, seed 42, curriculum `none`, 16 held out." in card
    assert "full weights; max |logit difference| 0" in result.stdout
