"""A run's data lineage: train records the manifest it trained on in the run folder and every checkpoint,
export keeps it, and evaluate leaves out exactly those items — whatever data/prepared/ holds by then.
Resuming on changed data is refused unless asked for, and then both datasets' items are left out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from medr1_cli.evaluate.benchmark_data import exclusion_for
from medr1_cli.evaluate.compare import exclusion_line
from medr1_cli.export.card import find_results
from medr1_cli.export.source import Source
from medr1_cli.evaluate.generate import model_fingerprint
from medr1_cli.layout import LINEAGE_NAME
from medr1_cli.lineage import data_changes
from medr1_cli.resolution import resolve_config
from tests.conftest import run_medr1


def settings(tmp_path: Path, seed: int, *more: str) -> list[str]:
    return ["-c", "tiny", "--set", f"data.output_dir={tmp_path / 'data'}", "--set", f"data.seed={seed}", *more]


def ids_of(manifest: Path) -> set[str]:
    return set(json.loads(manifest.read_text())["training_ids"])


def scored(results_folder: Path) -> tuple[dict, set[str]]:
    results = json.loads((results_folder / "results.json").read_text())
    return results, {item["id"] for item in results["benchmarks"]["demo"]["items"]}


@pytest.mark.slow
def test_a_run_is_evaluated_without_its_own_training_items_after_the_mix_is_prepared_again(tmp_path):
    run, data = tmp_path / "run", tmp_path / "data" / "demo"
    trained = run_medr1("train", *settings(tmp_path, 1, "-o", str(run), "--set", "train.grpo.save_steps=1"))
    assert trained.returncode == 0, trained.stderr
    seed_1 = ids_of(data / "manifest.json")
    lineage = json.loads((run / LINEAGE_NAME).read_text())
    assert set(lineage["training_ids"]) == seed_1 and lineage["seed"] == 1
    assert lineage["lineage"]["rows_sha256"] and lineage["lineage"]["prepared_folder"] == str(data.resolve())
    for checkpoint in ("checkpoint-1", "checkpoint-2"):  # each checkpoint keeps its own copy
        assert ids_of(run / checkpoint / LINEAGE_NAME) == seed_1

    prepared = run_medr1("prepare-data", *settings(tmp_path, 2))
    assert prepared.returncode == 0, prepared.stderr
    seed_2 = ids_of(data / "manifest.json")
    assert seed_2 != seed_1  # the prepared folder now names other items

    # The run, one of its checkpoints moved away from it, and its export: each excludes the seed-1 items.
    moved = tmp_path / "elsewhere" / "checkpoint-1"
    shutil.copytree(run / "checkpoint-1", moved)
    exported = run_medr1("export", *settings(tmp_path, 2, str(run), "-o", str(tmp_path / "exported")))
    assert exported.returncode == 0, exported.stderr
    card = (tmp_path / "exported" / "README.md").read_text()
    assert f"`{LINEAGE_NAME}` in this folder" in card and "seed 1" in card
    every_item = None
    for name, model in (("run", run), ("moved", moved), ("exported", tmp_path / "exported")):
        result = run_medr1("evaluate", *settings(tmp_path, 2, "-m", str(model), "-o", str(tmp_path / f"eval-{name}")))
        assert result.returncode == 0, result.stderr
        assert "is not the data this model trained on" in " ".join(result.stdout.split())
        results, ids = scored(tmp_path / f"eval-{name}")
        assert not ids & seed_1, name
        assert results["benchmarks"]["demo"]["excluded_training_items"] == len(seed_1)
        assert results["exclusion"]["from"] == "the model's lineage" and results["exclusion"]["seed"] == 1
        assert Path(results["exclusion"]["path"]) == (model / LINEAGE_NAME).resolve()
        every_item = every_item or ids | seed_1
        assert ids | seed_1 == every_item  # exactly the seed-1 items are missing: nothing else
    assert seed_2 - seed_1 <= every_item - seed_1  # items only seed 2 trains on are scored for this run

    # The baseline is scored on the very same items, whatever the config's prepared mix says.
    with_base = run_medr1("evaluate", *settings(tmp_path, 2, "-m", str(run), "-o", str(tmp_path / "eval-b"),
                                                 "--baseline", "base"))
    assert with_base.returncode == 0, with_base.stderr
    base = json.loads((tmp_path / "eval-b" / "baseline_results.json").read_text())
    assert {i["id"] for i in base["benchmarks"]["demo"]["items"]} == scored(tmp_path / "eval-run")[1]
    assert base["exclusion"]["path"] == str((run / LINEAGE_NAME).resolve())
    comparison = (tmp_path / "eval-b" / "comparison.md").read_text()
    assert comparison.count(f"{len(seed_1)} training item(s) left out") == 2

    # eval.exclude_manifest always wins over the model's own lineage.
    forced = run_medr1("evaluate", *settings(tmp_path, 2, "-m", str(run), "-o", str(tmp_path / "eval-forced"),
                                              "--set", f"eval.exclude_manifest={data / 'manifest.json'}"))
    assert forced.returncode == 0, forced.stderr
    results, ids = scored(tmp_path / "eval-forced")
    assert results["exclusion"]["from"] == "eval.exclude_manifest" and not ids & seed_2

    # Resuming the run on the seed-2 data is refused, with the reason and the ways out ...
    resumed = run_medr1("train", *settings(tmp_path, 2, "-o", str(run), "--set", "train.grpo.max_steps=3"))
    assert resumed.returncode == 2
    said = " ".join(resumed.stderr.split())
    assert "trained on other data" in said and "seed 1 → 2" in said and "train.resume_with_changed_data" in said
    assert not (run / "checkpoint-3").exists()
    # ... and, asked for explicitly, continues: the lineage then keeps both sets' items.
    resumed = run_medr1("train", *settings(tmp_path, 2, "-o", str(run), "--set", "train.grpo.max_steps=3",
                                           "--set", "train.resume_with_changed_data=true"))
    assert resumed.returncode == 0, resumed.stderr
    lineage = json.loads((run / LINEAGE_NAME).read_text())
    assert set(lineage["training_ids"]) == seed_2 and set(lineage["lineage"]["earlier"][0]["training_ids"]) == seed_1
    both = run_medr1("evaluate", *settings(tmp_path, 2, "-m", str(run), "-o", str(tmp_path / "eval-both")))
    assert both.returncode == 0, both.stderr
    results, ids = scored(tmp_path / "eval-both")
    assert not ids & (seed_1 | seed_2) and results["exclusion"]["training_ids"] == len(seed_1 | seed_2)


def write_lineage(folder: Path, ids: list[str], seed: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LINEAGE_NAME
    path.write_text(json.dumps({"dataset": "demo", "seed": seed, "training_ids": ids,
                                "lineage": {"rows_sha256": "r", "manifest_sha256": "m"}}))
    return path


def test_a_model_without_lineage_falls_back_to_the_configs_prepared_mix_and_says_so(tmp_path):
    config = resolve_config("tiny", [f"data.output_dir={tmp_path / 'data'}", f"model.name_or_path={tmp_path / 'base'}"])
    assert exclusion_for(config).lineage is None  # nothing prepared, no lineage: nothing left out, and said
    write_lineage(tmp_path / "data" / "demo", ["a", "b"]).rename(tmp_path / "data" / "demo" / "manifest.json")
    fallback = exclusion_for(config)
    assert fallback.origin == "the config's prepared mix" and fallback.ids == {"a", "b"}
    write_lineage(tmp_path / "base", ["c"], seed=7)  # now the model has a lineage of its own: it wins
    own = exclusion_for(config)
    assert own.origin == "the model's lineage" and own.ids == {"c"}
    assert "seed 7 → 1" in own.notes[0] and "not the data this model trained on" in own.notes[0]


def test_what_counts_as_other_data():
    base = {"dataset": "demo", "seed": 1, "training_ids": ["a", "b"], "lineage": {"rows_sha256": "x"}}
    assert data_changes(base, json.loads(json.dumps(base))) == []
    assert data_changes(base, {**base, "training_ids": ["b", "a"]}) == ["the same items in another order"]
    assert data_changes(base, {**base, "training_ids": ["a", "c"]}) == ["1 training item(s) added and 1 removed"]
    assert "prompts or answers" in data_changes(base, {**base, "lineage": {"rows_sha256": "y"}})[0]
    assert data_changes(base, {**base, "dataset": "mix"}) == ["dataset demo → mix"]


def test_report_and_compare_lines_say_which_manifest_excluded_what():
    results = {"benchmarks": {"demo": {"excluded_training_items": 5}},
               "exclusion": {"from": "the model's lineage", "path": "/r/training_manifest.json", "sha256": "ab" * 32,
                             "training_ids": 64}}
    assert exclusion_line(results) == ("5 training item(s) left out, of the 64 listed by the model's lineage "
                                       "(/r/training_manifest.json, sha256 abababababab)")
    assert exclusion_line({"benchmarks": {}}) == "no record of which training items were left out"


def test_the_model_card_takes_results_of_these_weights_by_fingerprint_not_by_path(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    (run / "model.safetensors").write_bytes(b"weights")
    source = Source("full", run, run, None, None, None, None)
    monkeypatch.chdir(tmp_path)
    relative = tmp_path / "eval-relative"  # evaluated as `-m run`: a relative path, the same weights
    relative.mkdir()
    (relative / "results.json").write_text(json.dumps({"model": "run", "model_fingerprint": model_fingerprint(str(run)),
                                                       "benchmarks": {}}))
    stale = tmp_path / "eval-stale"  # the same path, evaluated before the run was trained again
    stale.mkdir()
    (stale / "results.json").write_text(json.dumps({"model": str(run), "model_fingerprint": "0" * 16,
                                                    "benchmarks": {}}))
    found = find_results(source, [stale, relative])
    assert found is not None and found[1] == relative / "results.json"
    (run / "model.safetensors").write_bytes(b"retrained weights")  # other weights now: no results are theirs
    assert find_results(source, [stale, relative]) is None
