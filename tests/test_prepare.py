"""Mixes, curriculum, decontamination and the whole `prepare-data` pipeline with its outputs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from medr1_cli.data.curriculum import order, read_grading_file, with_difficulty
from medr1_cli.data.decontam import EvalIndex, Item
from medr1_cli.data.mixes import pick
from medr1_cli.data.prepare import prepare_data
from medr1_cli.data.record import Metadata, QARecord, content_id
from medr1_cli.data.synthetic import write_medqa, write_medxpertqa
from medr1_cli.errors import ConfigError, DataError
from medr1_cli.resolution import resolve_config
from tests.conftest import run_medr1


def record(i, source="medqa", question=None, **metadata):
    return QARecord(
        id=f"{source}-{i:04d}", source=source, question=question or f"question number {i}",
        options={"A": "x", "B": "y"}, answer="A", metadata=Metadata(**metadata),
    )


# ----------------------------------------------------------------------------------- mixes
def test_stratified_pick_keeps_each_groups_share():
    pool = [record(i, "medxpertqa", question_type="Reasoning" if i < 1861 else "Understanding") for i in range(2450)]
    chosen = pick("medxpertqa", pool, 490, seed=42, stratify_by="question_type").chosen
    assert len(chosen) == len({r.id for r in chosen}) == 490
    assert Counter(r.metadata.question_type for r in chosen) == {"Reasoning": 372, "Understanding": 118}


def test_pick_is_seeded_and_independent_of_input_order():
    pool = [record(i) for i in range(100)]
    first = [r.id for r in pick("medqa", pool, 10, seed=1).chosen]
    assert first == [r.id for r in pick("medqa", pool[::-1], 10, seed=1).chosen]
    assert first != [r.id for r in pick("medqa", pool, 10, seed=2).chosen]


def test_pick_amounts_and_errors():
    pool = [record(i) for i in range(40)]
    assert len(pick("s", pool, 0.25, seed=0).chosen) == 10
    assert len(pick("s", pool, "all", seed=0).chosen) == 40
    with pytest.raises(DataError) as caught:
        pick("medqa", pool, 41, seed=0)
    assert "asked for 41 questions but only 40 are available" in caught.value.message


def test_rejected_candidates_are_replaced_and_only_a_few_are_examined():
    pool = [record(i) for i in range(1000)]
    seen = []

    def accept(batch):
        seen.extend(batch)
        return [int(r.id.split("-")[1]) % 2 == 0 for r in batch]  # odd ids "too long"

    result = pick("medqa", pool, 50, seed=3, accept=accept)
    assert len(result.chosen) == 50 and all(int(r.id.split("-")[1]) % 2 == 0 for r in result.chosen)
    assert result.examined == len(seen) < 200  # not the whole pool
    with pytest.raises(DataError, match="asked for 600 questions; they are needed, but only 500 of its 1000 candidates are usable \\(500 removed"):
        pick("medqa", pool, 600, seed=3, accept=accept)


# ------------------------------------------------------------------------------ curriculum
def test_metadata_difficulty_ranks_sources_and_subtypes():
    records, graded = with_difficulty([
        record(1, "medqa", step="step1"), record(2, "medqa", step="step2&3"),
        record(3, "medxpertqa", question_type="Understanding"), record(4, "medxpertqa", question_type="Reasoning"),
    ], None)
    difficulties = [r.metadata.difficulty for r in records]
    assert difficulties == sorted(difficulties) and len(set(difficulties)) == 4 and graded == 0


def test_grading_file_overrides_metadata(tmp_path):
    path = tmp_path / "grades.jsonl"
    path.write_text('{"id": "medqa-0001", "pass_rate": 0.9}\n{"id": "medqa-0002", "pass_rate": 0.0}\n')
    records, graded = with_difficulty([record(1), record(2), record(3)], read_grading_file(path).rates)
    assert [r.metadata.difficulty for r in records] == [pytest.approx(0.1), 1.0, 0.3] and graded == 2
    path.write_text('{"id": "x", "pass_rate": 0.5}\n{"id": "y"}\n')
    with pytest.raises(DataError, match=rf"{path}:2: expected"):
        read_grading_file(path)
    path.write_text('{"id": "x", "pass_rate": 1.5}\n')
    with pytest.raises(DataError, match="outside 0..1"):
        read_grading_file(path)


def test_easy_to_hard_and_interleave():
    easy = [record(i, "medqa", step="step1") for i in range(30)]
    hard = [record(i, "medxpertqa", question_type="Reasoning") for i in range(34)]
    records, _ = with_difficulty(easy + hard, None)
    ranked = order(records, "easy-to-hard", seed=0, batch_size=8)
    assert [r.metadata.difficulty for r in ranked] == sorted(r.metadata.difficulty for r in records)
    mixed = order(records, "interleave", seed=0, batch_size=8)
    assert sorted(r.id for r in mixed) == sorted(r.id for r in records)
    for start in range(0, len(mixed), 8):
        batch = {r.source for r in mixed[start : start + 8]}
        assert batch == {"medqa", "medxpertqa"}, f"batch at {start} is not mixed"
    shuffled = order(records, "none", seed=0, batch_size=8)
    assert shuffled == order(records, "none", seed=0, batch_size=8) != order(records, "none", seed=1, batch_size=8)


# -------------------------------------------------------------------------- decontamination
STOCK = "which of the following is the most appropriate next step in management of this patient"


def test_exact_and_ngram_overlap():
    long_question = " ".join(f"word{i}" for i in range(40)) + " " + STOCK
    evaluated = [record(1, "medmcqa", question="What is the DRUG of choice?"),
                 record(2, "medmcqa", question=long_question)]
    index = EvalIndex([(Item.of(r, ("/data/medmcqa/dev.json",), ()), r) for r in evaluated], n=13)
    assert index.find(record(9, question="what is the drug of choice")).kind == "exact"
    # A copy with a changed number keeps most of its 13-grams.
    copy = long_question.replace("word20", "word999")
    hit = index.find(record(10, question=copy))
    assert (hit.kind, hit.eval_id) == ("ngram", "medmcqa-0002")
    # An unrelated question that ends with the same 15-word stock stem is not a copy.
    unrelated = " ".join(f"other{i}" for i in range(40)) + " " + STOCK
    assert index.find(record(11, question=unrelated)) is None
    assert index.find(record(12, question=" ".join(f"word{i}" for i in range(12)))) is None  # 12 words, no exact
    assert index.find(record(13, question="an unrelated question")) is None
    # An item of the evaluation set itself, read as a training source, is not a copy: the same benchmark's
    # item with the same id, from whichever file (a local copy of a Hub set holds the same items) ...
    itself = record(2, "medmcqa", question=long_question)
    assert index.find(itself, Item.of(itself, ("/data/medmcqa/dev.json",), ())) is None
    assert index.find(itself, Item.of(itself, ("openlifescienceai/medmcqa", "[validation]"), ())) is None
    # ... but the question under another id, or in another benchmark's source, is a copy.
    for other in (record(3, "medmcqa", question=long_question), record(2, "medqa", question=long_question)):
        assert index.find(other, Item.of(other, ("/data/medmcqa/dev.json",), ())).eval_id == "medmcqa-0002"


def test_content_ids_are_the_same_item_only_in_the_same_file():
    # MedQA has no ids: a question's id comes from its text, so a verbatim copy elsewhere has the same
    # id, and only being read from the same file makes it the item itself.
    item = QARecord(id=content_id("medqa", "Which drug reverses heparin?", "Vitamin K", "Protamine"), source="medqa",
                    question="Which drug reverses heparin?", options={"A": "Vitamin K", "B": "Protamine"}, answer="B")
    index = EvalIndex([(Item.of(item, ("/data/medqa/test.jsonl",), {item.id}), item)])
    assert index.find(item, Item.of(item, ("/data/medqa/test.jsonl",), {item.id})) is None
    assert index.find(item, Item.of(item, ("/data/medqa/train.jsonl",), {item.id})).eval_id == item.id


# ------------------------------------------------------------------------------ the pipeline
def demo_config(tmp_path, *overrides):
    return resolve_config("tiny", [f"data.output_dir={tmp_path / 'prepared'}", *overrides])


def test_demo_mix_outputs_manifest_and_held_out_ids(tmp_path):
    from datasets import load_from_disk

    result = prepare_data(demo_config(tmp_path))
    out = tmp_path / "prepared" / "demo"
    assert result.output_dir == out and result.rows == 64
    assert sorted(p.name for p in out.iterdir()) == ["dataset", "manifest.json", "medr1_config.yaml", "train.jsonl"]
    manifest = json.loads((out / "manifest.json").read_text())
    sources = manifest["sources"]
    assert len(sources["demo-medqa"]["chosen"]) == 48 and len(sources["demo-medxpertqa"]["chosen"]) == 16
    assert len(sources["demo-medxpertqa"]["held_out"]) == 48 and len(sources["demo-medqa"]["held_out"]) == 16
    assert not set(manifest["training_ids"]) & set(manifest["held_out_ids"])
    assert sources["demo-medqa"]["inputs"][0]["sha256"] and sources["demo-medqa"]["format"] == "generic"
    assert sources["demo-medqa"]["benchmark"] == "medqa" and sources["demo-medxpertqa"]["benchmark"] == "medxpertqa"
    assert manifest["config"]["data"]["dataset"] == "demo"

    dataset = load_from_disk(str(out / "dataset"))
    assert len(dataset) == 64
    assert {"id", "prompt", "solution", "options", "question_type", "step", "difficulty", "prompt_tokens"} <= set(
        dataset.column_names
    )
    row = next(r for r in dataset if r["source"] == "medxpertqa")
    user = row["prompt"][1]["content"]
    assert user.count("A. ") == 1 and "Answer Choices" not in user  # options shown once, one per line
    assert row["prompt"][0]["role"] == "system" and "<think>" in row["prompt"][0]["content"]
    assert row["solution"] in row["options"] and row["options"][row["solution"]]
    lines = (out / "train.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == dataset["id"]


def test_same_inputs_and_seed_give_byte_identical_outputs(tmp_path):
    first = prepare_data(demo_config(tmp_path / "a", "data.curriculum=interleave"))
    second = prepare_data(demo_config(tmp_path / "b", "data.curriculum=interleave"))

    def contents(root):
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    a, b = contents(first.output_dir), contents(second.output_dir)
    assert a.keys() == b.keys()
    differing = [name for name in a if a[name] != b[name]]
    # Only the files that record their own output folder may differ; the data files must not.
    assert set(differing) <= {"manifest.json", "medr1_config.yaml"}
    strip = lambda text: text.replace(str(tmp_path / "a"), "X").replace(str(tmp_path / "b"), "X")  # noqa: E731
    for name in differing:
        assert strip(a[name].decode()) == strip(b[name].decode())
    again = prepare_data(demo_config(tmp_path / "a", "data.curriculum=interleave"))
    assert contents(again.output_dir) == a  # rerun in place: identical
    different_seed = prepare_data(demo_config(tmp_path / "c", "data.seed=7"))
    assert contents(different_seed.output_dir)["train.jsonl"] != a["train.jsonl"]


def test_overlap_with_an_evaluation_set_drop_error_warn(tmp_path):
    # An "evaluation set" that copies three demo MedQA questions verbatim.
    from medr1_cli.data.sources import builtin_files

    rows = [json.loads(line) for line in builtin_files()["medqa"].read_text().splitlines()[:3]]
    leaked = tmp_path / "leaked_test.jsonl"
    leaked.write_text("".join(json.dumps(r) + "\n" for r in rows))
    overrides = [f"eval.data.medqa={leaked}", "data.mixes.demo.demo-medqa=all", "data.mixes.demo.demo-medxpertqa=8"]
    with pytest.raises(DataError) as caught:
        prepare_data(demo_config(tmp_path / "e", "data.on_overlap=error", *overrides))
    assert "3 training item(s) overlap an evaluation set" in caught.value.message
    assert not (tmp_path / "e" / "prepared" / "demo").exists()  # nothing half-written

    dropped = prepare_data(demo_config(tmp_path / "d", *overrides))
    assert dropped.rows == 61 + 8
    assert dropped.manifest["decontamination"]["dropped"] == 3
    reasons = Counter(d["reason"] for d in dropped.manifest["dropped"])
    assert reasons == {"overlaps an evaluation set": 3}
    assert all(d["detail"].startswith("exact match with medqa-") for d in dropped.manifest["dropped"])

    warned = prepare_data(demo_config(tmp_path / "w", "data.on_overlap=warn", *overrides))
    assert warned.rows == 64 + 8 and len(warned.manifest["warnings"]) == 3


def test_an_evaluation_folder_is_read_at_the_split_evaluate_scores(tmp_path):
    # MedMCQA is scored on its validation split, which its own release calls dev: prepare-data must
    # decontaminate against that file, not the folder's test file.
    from medr1_cli.data.sources import builtin_files

    lines = builtin_files()["medqa"].read_text().splitlines()
    folder = tmp_path / "medmcqa"
    folder.mkdir()
    (folder / "dev.jsonl").write_text("\n".join(lines[:3]) + "\n")
    (folder / "test.jsonl").write_text("\n".join(lines[100:102]) + "\n")
    result = prepare_data(demo_config(tmp_path, f"eval.data.medmcqa={folder}", "data.mixes.demo.demo-medqa=all",
                                      "data.mixes.demo.demo-medxpertqa=8"))
    indexed = result.manifest["evaluation_sets"]["medmcqa"]
    assert [Path(i["path"]).name for i in indexed["inputs"]] == ["dev.jsonl"] and indexed["items"] == 3
    assert result.manifest["decontamination"]["dropped"] == 3


def test_too_long_prompts_are_dropped_and_counted(tmp_path):
    # With the tiny model's tokenizer, demo prompts take roughly 380-850 tokens.
    result = prepare_data(demo_config(tmp_path, "data.max_prompt_tokens=480", "data.mixes.demo.demo-medqa=0.25",
                                      "data.mixes.demo.demo-medxpertqa=all"))
    too_long = [d for d in result.manifest["dropped"] if d["reason"] == "prompt too long"]
    assert too_long and all(int(d["detail"].split(" > ")[0]) > 480 for d in too_long)
    rows = [json.loads(line) for line in (result.output_dir / "train.jsonl").read_text().splitlines()]
    assert rows and all(row["prompt_tokens"] <= 480 for row in rows)
    assert result.manifest["sources"]["demo-medqa"]["dropped_too_long"] + \
        result.manifest["sources"]["demo-medxpertqa"]["dropped_too_long"] == len(too_long)
    with pytest.raises(DataError, match="source 'demo-medqa': asked for 48 questions; group step=step.* needs 24 of them"):
        prepare_data(demo_config(tmp_path / "x", "data.max_prompt_tokens=480"))


def test_reference_mix_sizes_on_full_size_synthetic_sources(tmp_path):
    medqa = write_medqa(tmp_path / "train.jsonl", 1200, seed=1)
    xpert = write_medxpertqa(tmp_path / "medxpertqa_test.jsonl", 700, seed=2)
    config = resolve_config("tiny", [
        f"data.sources.medqa={medqa}", f"data.sources.medxpertqa={xpert}", "data.dataset=mix",
        f"data.output_dir={tmp_path / 'out'}", "data.max_prompt_tokens=null",
    ])
    manifest = prepare_data(config).manifest
    assert manifest["rows"] == 1090
    assert {k: len(v["chosen"]) for k, v in manifest["sources"].items()} == {"medqa": 600, "medxpertqa": 490}
    assert len(manifest["sources"]["medxpertqa"]["held_out"]) == 210
    assert "held_out" not in manifest["sources"]["medqa"]


def test_config_rejects_unknown_mix_and_source():
    with pytest.raises(ConfigError) as caught:
        resolve_config(overrides=["data.dataset=mixx"])
    assert "(did you mean 'mix'?)" in caught.value.message
    with pytest.raises(ConfigError) as caught:
        resolve_config(overrides=["data.mixes.custom={medqa: 10, mymed: 0.5}", "data.dataset=custom"])
    assert "uses source(s) ['mymed'] that data.sources does not define" in caught.value.message


# -------------------------------------------------------------------------------------- CLI
def test_cli_prepare_data_and_its_errors(tmp_path):
    result = run_medr1("prepare-data", "-c", "tiny", "-o", str(tmp_path / "out"), "--curriculum", "easy-to-hard")
    assert result.returncode == 0, result.stderr
    assert "prepared 64 training questions" in result.stdout
    manifest = json.loads((tmp_path / "out" / "demo" / "manifest.json").read_text())
    assert manifest["curriculum"] == "easy-to-hard"

    too_many = run_medr1("prepare-data", "-c", "tiny", "-o", str(tmp_path / "bad"), "--set", "data.mixes.demo.demo-medqa=65")
    assert too_many.returncode == 2
    assert "source 'demo-medqa': asked for 65 questions but only 64 are available" in too_many.stderr
    assert "Traceback" not in too_many.stderr and not (tmp_path / "bad" / "demo").exists()

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "q"\n')
    bad_file = run_medr1("prepare-data", "-c", "tiny", "-o", str(tmp_path / "bad"),
                         "--set", f"data.sources.demo-medqa={broken}")
    assert bad_file.returncode == 2 and f"{broken}:1: invalid JSON" in bad_file.stderr

    bad_format = run_medr1("prepare-data", "-c", "tiny", "--format", "medqa")
    assert bad_format.returncode == 2 and "expected SOURCE=FORMAT" in bad_format.stderr


def test_a_source_that_is_also_an_evaluation_set_is_not_its_own_contamination(tmp_path):
    from medr1_cli.data.sources import builtin_files

    xpert = json.loads(builtin_files()["medxpertqa"].read_text().splitlines()[0])
    copy = {"question": xpert["question"].split(" Answer Choices:")[0], "options": {"A": "x", "B": "y"},
            "answer_idx": "A", "meta_info": "step1"}
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps(copy) + "\n" + json.dumps({**copy, "question": "An unrelated question about iron?"}) + "\n")
    result = prepare_data(demo_config(tmp_path, "eval.data={medxpertqa: builtin:medxpertqa}",
                                      f"data.sources.extra={extra}", "data.mixes.demo.extra=all"))
    dropped = result.manifest["dropped"]
    # MedXpertQA's own items are not dropped against themselves; its question copied into another
    # source is.
    # a source whose name names no benchmark is read as its layout's own (generic: MedQA), and said so
    assert [(d["source"], d["detail"]) for d in dropped] == [("medqa", f"exact match with {xpert['id']}")]
    assert result.manifest["sources"]["extra"]["benchmark"] == "medqa"
    assert any("data.sources.extra names no benchmark" in w for w in result.manifest["warnings"])
    assert len(result.manifest["sources"]["demo-medxpertqa"]["chosen"]) == 16


def test_a_source_that_is_also_an_evaluation_set_is_itself_under_any_spelling(tmp_path, monkeypatch):
    # The docs' own advice: eval.data.medxpertqa at a local copy while data.sources.medxpertqa stays at the
    # Hub id — or the same file spelled two ways. Each item is itself, whichever spelling read it.
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "MedXpertQA" / "Text"
    folder.mkdir(parents=True)
    xpert = write_medxpertqa(folder / "test.jsonl", 60, seed=3)
    copy = tmp_path / "elsewhere" / "medxpertqa_test.jsonl"  # what the Hub's rows are: the same items, elsewhere
    copy.parent.mkdir()
    copy.write_bytes(xpert.read_bytes())
    row = json.loads(xpert.read_text().splitlines()[5])
    leak = {"question": row["question"].split(" Answer Choices:")[0], "options": {"A": "x", "B": "y"},
            "answer_idx": "A"}
    extra = tmp_path / "extra.jsonl"
    unrelated = {**leak, "question": "An unrelated question on iron?"}
    extra.write_text(json.dumps(leak) + "\n" + json.dumps(unrelated) + "\n")
    base = ["data.dataset=own", "data.mixes={own: {medxpertqa: 30}}", "data.max_prompt_tokens=null",
            "data.on_overlap=error"]
    for source, evaluated in ((str(xpert), "./MedXpertQA/Text/test.jsonl"), ("MedXpertQA/Text/test.jsonl", str(xpert)),
                              ("./MedXpertQA/Text/../Text/test.jsonl", "MedXpertQA/Text"), (str(xpert), str(copy))):
        result = prepare_data(demo_config(tmp_path / "out", *base, f"data.sources.medxpertqa={source}",
                                          f"eval.data.medxpertqa={evaluated}"))
        assert result.rows == 30 and result.manifest["decontamination"]["dropped"] == 0, (source, evaluated)
        assert len(result.manifest["sources"]["medxpertqa"]["held_out"]) == 30
    # a genuine copy of an evaluation question in another source is still caught
    caught = prepare_data(demo_config(tmp_path / "out", "data.dataset=own", "data.max_prompt_tokens=null",
                                      "data.mixes={own: {medxpertqa: 30, extra-medqa: all}}",
                                      f"data.sources.medxpertqa={xpert}", f"data.sources.extra-medqa={extra}",
                                      f"eval.data.medxpertqa={copy}"))
    dropped = [(d["source"], d["detail"]) for d in caught.manifest["dropped"]]
    assert dropped == [("medqa", f"exact match with {row['id']}")]
    assert caught.rows == 31


@pytest.mark.parametrize("dataset", ["demo", "omnimedvqa"])
def test_a_write_that_fails_midway_leaves_the_previous_prepared_folder_as_it_was(tmp_path, monkeypatch, dataset):
    """Text mixes and VQA splits share one writer (data/prepared.py); its last file failing replaces nothing."""
    from rich.console import Console

    from medr1_cli.config import Medr1Config
    from medr1_cli.data.prepare import prepared_folder

    def config(seed):
        return resolve_config("tiny", [f"data.output_dir={tmp_path / 'prepared'}", f"data.dataset={dataset}",
                                       f"data.seed={seed}"])

    prepare_data(config(1), Console(quiet=True))
    folder = prepared_folder(config(1))
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    def fail(self):
        raise OSError("disk full")

    monkeypatch.setattr(Medr1Config, "to_yaml", fail)  # the resolved config is the writer's last file
    with pytest.raises(OSError, match="disk full"):
        prepare_data(config(2), Console(quiet=True))
    assert {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # no .partial or .old left behind
