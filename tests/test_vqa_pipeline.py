"""Med-R1 end to end on CPU with the tiny Qwen2-VL and the generated VQA set: prepare per modality →
GRPO on two modalities through `medr1 train` → evaluate both on every modality's test split →
the generalisation matrix."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from medr1_cli.errors import ConfigError
from medr1_cli.evaluate.run import run_evaluation
from medr1_cli.resolution import resolve_config
from tests.conftest import run_medr1

MODALITIES = ["ct", "mri", "x-ray", "ultrasound", "dermoscopy", "fundus-photography", "oct", "microscopy"]


def common(root):
    return ["--set", f"data.output_dir={root / 'data'}", "--set", "data.max_prompt_tokens=null"]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """Two runs (trained on CT and on MRI), each evaluated on all eight modalities' test splits."""
    root = tmp_path_factory.mktemp("med-r1")
    folders = {}
    for group in ("CT", "MRI"):
        run = root / f"run-{group}"
        trained = run_medr1("train", "-c", "tiny", "--model", "builtin:tiny-vl", "--dataset", "omnimedvqa",
                            "--train-on", group, "-o", str(run), *common(root))
        assert trained.returncode == 0, trained.stderr
        evaluation = root / f"eval-{group}"
        scored = run_medr1("evaluate", "-c", "tiny", "-m", str(run), *[a for m in MODALITIES for a in ("-b", f"vqa-{m}")],
                           "-o", str(evaluation), "--set", "eval.max_new_tokens=6", *common(root))
        assert scored.returncode == 0, scored.stderr
        folders[group] = (run, evaluation)
    return root, folders


@pytest.mark.slow
def test_training_sees_only_its_modality_and_saves_a_loadable_vlm(evaluated):
    root, folders = evaluated
    run, _ = folders["CT"]
    train_ids = set(json.loads((root / "data" / "omnimedvqa-modality-ct" / "manifest.json").read_text())["training_ids"])
    rows = [json.loads(line) for line in (run / "rollouts.jsonl").read_text().splitlines()]
    assert rows and {row["id"] for row in rows} <= train_ids and all(r["id"].startswith("demo-vqa-ct-") for r in rows)
    assert json.loads((run / "trainer_state.json").read_text())["global_step"] == 2
    assert json.loads((run / "processor_config.json").read_text())["processor_class"] == "Qwen2VLProcessor"


@pytest.mark.slow
def test_every_modality_is_scored_with_its_images(evaluated):
    _, folders = evaluated
    results = json.loads((folders["MRI"][1] / "results.json").read_text())
    assert list(results["benchmarks"]) == [f"vqa-{m}" for m in MODALITIES]
    assert all(b["n"] == 2 for b in results["benchmarks"].values())
    stored = [json.loads(line) for line in (folders["MRI"][1] / "completions.jsonl").read_text().splitlines()]
    assert len(stored) == 16 and all(row["tokens"] <= 6 for row in stored)


@pytest.mark.slow
def test_generalisation_matrix_from_the_two_runs(evaluated, tmp_path):
    root, folders = evaluated
    result = run_medr1("evaluate", "matrix", str(folders["CT"][1]), str(folders["MRI"][1] / "results.json"),
                       "-o", str(tmp_path / "matrix"))
    assert result.returncode == 0, result.stderr
    assert "CT (modality)" in result.stdout and "Fundus Photography" in result.stdout
    matrix = json.loads((tmp_path / "matrix" / "matrix.json").read_text())
    assert matrix["rows"] == ["CT (modality)", "MRI (modality)"] and len(matrix["columns"]) == 8
    # Every cell is the accuracy that run's own results.json reports for that modality.
    for group, (_, evaluation) in folders.items():
        benchmarks = json.loads((evaluation / "results.json").read_text())["benchmarks"]
        for cell in (c for c in matrix["cells"] if c["trained_on"] == f"{group} (modality)"):
            bench = next(b for b in benchmarks.values() if b["title"] == f"VQA {cell['tested_on']}")
            assert (cell["accuracy"], cell["n"]) == (bench["accuracy"], bench["n"])
    with Image.open(tmp_path / "matrix" / "matrix.png") as png:
        assert png.format == "PNG" and png.size[0] >= 800
    assert (tmp_path / "matrix" / "matrix.md").read_text().startswith("| trained on | CT | MRI |")


def test_vqa_benchmarks_refuse_the_lm_eval_engine_and_need_their_test_split(tmp_path):
    config = resolve_config("tiny", ["eval.benchmarks=[vqa-ct]", "eval.engine=lm-eval",
                                     f"data.output_dir={tmp_path}"])
    with pytest.raises(ConfigError, match="need images"):
        run_evaluation(config)
    missing = run_medr1("evaluate", "-c", "tiny", "-b", "vqa-oct", "--set", f"data.output_dir={tmp_path}",
                        "-o", str(tmp_path / "e"))
    assert missing.returncode == 2
    assert "no test-oct.json in" in missing.stderr and "prepare-data --dataset omnimedvqa --split-by modality" in missing.stderr


def test_matrix_refuses_results_without_vqa_benchmarks_and_two_models_for_one_row(tmp_path):
    def results(name, benchmarks):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "results.json").write_text(json.dumps({"model": f"/models/{name}", "benchmarks": benchmarks}))
        return folder

    cell = {"title": "VQA CT", "accuracy": 0.5, "n": 2, "wilson_95": [0.1, 0.9]}
    text_only = results("text", {"medqa": {**cell, "title": "MedQA-USMLE"}})
    base = results("base", {"vqa-ct": cell})
    assert run_medr1("evaluate", "matrix", str(base), "-o", str(tmp_path / "m")).returncode == 0
    refused = run_medr1("evaluate", "matrix", str(text_only), "-o", str(tmp_path / "m2"))
    assert refused.returncode == 2 and "no VQA benchmark (vqa-…) in these results" in refused.stderr
    twice = run_medr1("evaluate", "matrix", str(base), str(base / "results.json"), "-o", str(tmp_path / "m3"))
    assert twice.returncode == 2 and "a second evaluation of a model trained on base (not trained on VQA)" in twice.stderr
    assert not (tmp_path / "m2").exists() and not (tmp_path / "m3").exists()
