"""Every public layout of the six benchmarks, in files of exactly that schema (our own rows), read
with the owners' item counts: MedXpertQA's Hub rows and its GitHub evaluation input, the generic
{question, options, answer_idx} layout of MedAgents-style collections and HuatuoGPT-o1's split files
for any benchmark, the HuatuoGPT-o1 bundle at full size, defective rows, encodings, and
`medr1 evaluate --dry-run`."""

from __future__ import annotations

import csv
import json

import pytest

from medr1_cli.benchmarks import BENCHMARKS
from medr1_cli.data.formats import EMBEDDED_MISMATCH, LoadOptions, load_records
from medr1_cli.data.prepare import prepare_data
from medr1_cli.data.sources import read_source
from medr1_cli.data.synthetic import BUNDLE_SIZES, write_bundle, write_medxpertqa
from medr1_cli.errors import DataError
from medr1_cli.evaluate.benchmark_data import load_benchmark
from medr1_cli.resolution import resolve_config
from tests.conftest import heavy_modules_imported_by, run_medr1


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def config_for(tmp_path, *overrides):
    return resolve_config("tiny", [f"eval.output_dir={tmp_path / 'eval'}", f"data.output_dir={tmp_path / 'data'}",
                                   "data.max_prompt_tokens=null", *overrides])


def benchmark(tmp_path, name, spec, *overrides):
    return load_benchmark(BENCHMARKS[name], config_for(tmp_path, f"eval.data.{name}={spec}", *overrides), set())


def options(*texts):
    return dict(zip("ABCDEFGHIJ", texts))


# ------------------------------------------------------------------------------- MedXpertQA
def test_medxpertqa_github_eval_input_layout(tmp_path):
    """eval/data/medxpertqa/input/*_input.jsonl: options as [{letter, content}], label as ["J"]."""
    path = write_medxpertqa(tmp_path / "medxpertqa_text_input.jsonl", 30, layout="eval-input")
    first = json.loads(path.read_text().splitlines()[0])
    assert isinstance(first["options"], list) and set(first["options"][0]) == {"letter", "content"}
    assert isinstance(first["label"], list)
    data = benchmark(tmp_path, "medxpertqa", path)
    record = data.records[0]
    assert (len(data.records), data.layouts) == (30, ["medxpertqa"])
    assert record.id == first["id"] and record.answer == first["label"][0]
    assert record.options == {o["letter"]: o["content"] for o in first["options"]}
    assert "Answer Choices" not in record.question and record.question.startswith("Expert case 0:")
    # the same questions in the Hub layout are the same records
    hub = benchmark(tmp_path, "medxpertqa", write_medxpertqa(tmp_path / "hub.jsonl", 30))
    assert hub.records == data.records


def test_medxpertqa_text_test_at_full_size_with_two_mismatched_rows(tmp_path):
    """2,450 rows, 2 of which embed a choice list that differs from their options: every row is
    read, the options field is shown, the two rows are named — for evaluation and for training."""
    path = write_medxpertqa(tmp_path / "medxpertqa_text_test.jsonl", 2450, mismatched=(17, 1999))
    data = benchmark(tmp_path, "medxpertqa", path)
    assert len(data.records) == 2450 and data.skipped == {}
    assert data.notes == [f"{EMBEDDED_MISMATCH}: 2 row(s) ({path}:18, {path}:2000)"]
    shown = next(r for r in data.records if r.id == "Text-17")
    assert "revised" not in shown.question + "".join(shown.options.values())
    result = prepare_data(config_for(tmp_path, f"data.sources.medxpertqa={path}", "data.dataset=xpert",
                                     f"eval.data.medxpertqa={path}"))
    source = result.manifest["sources"]["medxpertqa"]
    assert (source["loaded"], len(source["chosen"]), len(source["held_out"])) == (2450, 490, 1960)
    assert source["notes"] == data.notes


# ------------------------------------------------------------- the generic layout, any benchmark
def medagents_row(realidx, question, choices, letter, **extra):
    return {"realidx": realidx, "question": question, "options": choices, "answer_idx": letter,
            "answer": choices[letter], **extra}


def test_a_generic_file_given_for_a_benchmark_yields_that_benchmarks_records(tmp_path):
    """MedAgents-style JSONL per benchmark: the assignment decides what the records are, and a
    benchmark's own id (realidx) names them as its native loader does."""
    embedded = " ".join(f"({k}) {v}" for k, v in options("p", "q", "r").items())
    files = {
        "medmcqa": [medagents_row("e9ad821a-c438-4965-9f77-760819dfa155", "Nephron segment?",
                                  options("PCT", "Loop", "DCT", "CD"), "B")],
        "medqa": [medagents_row(0, "A 30-year-old man. Next step?", options("w", "x", "y", "z"), "D",
                                meta_info="step2&3")],
        "pubmedqa": [medagents_row("12377809", "Abstract text.\nDoes it work?", options("yes", "no", "maybe"), "C")],
        "mmlu_pro_med": [medagents_row(6001, "Polio?", options("a", "b", "c"), "A", category="health", src="ori"),
                         medagents_row(7001, "Tort?", options("a", "b"), "B", category="law")],
        "gpqa_med": [medagents_row("recABC", "Which enzyme?", options("Helicase", "Ligase", "Primase", "Topo"), "A")],
        "medxpertqa": [medagents_row("Text-0", f"Which patient?\nAnswer Choices: {embedded}", options("p", "q", "r"),
                                     "B")],
    }
    expected_ids = {"medmcqa": "e9ad821a-c438-4965-9f77-760819dfa155", "pubmedqa": "pubmedqa-12377809",
                    "mmlu_pro_med": "mmlu_pro-6001", "gpqa_med": "gpqa-recABC", "medxpertqa": "Text-0"}
    for name, rows in files.items():
        data = benchmark(tmp_path, name, write_jsonl(tmp_path / f"{name}_test.jsonl", rows))
        record = data.records[0]
        assert data.layouts == ["generic"], name
        assert record.source == BENCHMARKS[name].record_source, name
        assert record.options[record.answer] == rows[0]["answer"], name
        if name in expected_ids:
            assert record.id == expected_ids[name], name
    assert benchmark(tmp_path, "medxpertqa", tmp_path / "medxpertqa_test.jsonl").records[0].question == "Which patient?"
    mmlu = benchmark(tmp_path, "mmlu_pro_med", tmp_path / "mmlu_pro_med_test.jsonl")
    assert len(mmlu.records) == 1 and mmlu.skipped == {"category not selected (law)": 1}
    assert benchmark(tmp_path, "medqa", tmp_path / "medqa_test.jsonl").records[0].metadata.step == "step2&3"


def test_one_question_has_one_id_whichever_layout_it_comes_in(tmp_path):
    native_medmcqa = {"id": "uuid-1", "question": "Which segment?", "opa": "PCT", "opb": "Loop", "opc": "DCT",
                      "opd": "CD", "cop": 4, "choice_type": "single"}
    native_mmlu = {"question_id": 6001, "question": "Polio?", "options": ["a", "b", "c", "N/A"], "answer": "A",
                   "answer_index": 0, "cot_content": "", "category": "health", "src": "ori"}
    native_medqa = {"question": "A 30-year-old man. Next step?", "options": options("w", "x", "y", "z"),
                    "answer_idx": "D", "answer": "z", "meta_info": "step1"}
    pairs = [
        ("medmcqa", native_medmcqa, medagents_row("uuid-1", "Which segment?", options("PCT", "Loop", "DCT", "CD"), "D")),
        ("mmlu_pro_med", native_mmlu, medagents_row(6001, "Polio?", options("a", "b", "c"), "A", category="health")),
        # MedQA has no official id: its questions are named by content in every layout, the bundle included
        ("medqa", native_medqa, {k: v for k, v in native_medqa.items() if k != "meta_info"}),
    ]
    for name, native, generic in pairs:
        a = benchmark(tmp_path, name, write_jsonl(tmp_path / f"{name}-native.jsonl", [native]))
        b = benchmark(tmp_path, name, write_jsonl(tmp_path / f"{name}-generic.jsonl", [generic]))
        assert a.records[0].id == b.records[0].id, name
        assert (a.records[0].question, a.records[0].options, a.records[0].answer) == \
               (b.records[0].question, b.records[0].options, b.records[0].answer), name
    bundle = tmp_path / "eval_data.json"
    bundle.write_text(json.dumps({"MedQA_USLME_test": [{k: v for k, v in native_medqa.items() if k != "meta_info"}]}))
    assert benchmark(tmp_path, "medqa", bundle).records[0].id == \
           benchmark(tmp_path, "medqa", tmp_path / "medqa-native.jsonl").records[0].id


def test_huatuo_split_file_json_list_for_gpqa(tmp_path):
    """HuatuoGPT-o1's per-benchmark files: a JSON list of {question, options, answer_idx, answer}, no ids."""
    rows = [{"question": f"Graduate question {i}?", "options": options("a", "b", "c", "d"), "answer_idx": "C",
             "answer": "c"} for i in range(5)]
    path = tmp_path / "GPQA_Medical_test.json"
    path.write_text(json.dumps(rows))
    data = benchmark(tmp_path, "gpqa_med", path)
    assert len(data.records) == 5 and all(r.source == "gpqa" and r.id.startswith("gpqa-") for r in data.records)


def test_a_generic_file_as_a_mix_source_takes_the_benchmark_its_name_says(tmp_path):
    rows = [medagents_row(f"id-{i}", f"MedMCQA-style question number {i}?", options("a", "b", "c", "d"), "B")
            for i in range(8)]
    path = write_jsonl(tmp_path / "train.jsonl", rows)
    result = prepare_data(config_for(tmp_path, f"data.sources.medmcqa={path}", "data.mixes={extra: {medmcqa: 5}}",
                                     "data.dataset=extra"))
    assert result.manifest["sources"]["medmcqa"]["benchmark"] == "medmcqa"
    lines = (result.output_dir / "train.jsonl").read_text().splitlines()
    assert {json.loads(line)["source"] for line in lines} == {"medmcqa"}
    assert {json.loads(line)["id"] for line in lines} <= {f"id-{i}" for i in range(8)}


def test_a_native_release_given_for_another_benchmark_is_refused_with_both_names(tmp_path):
    path = write_jsonl(tmp_path / "dev.jsonl", [{"id": "a", "question": "q?", "opa": "1", "opb": "2", "opc": "3",
                                                  "opd": "4", "cop": 4}])
    with pytest.raises(DataError) as caught:
        benchmark(tmp_path, "medqa", path)
    assert "holds medmcqa questions, but it is given as the data of medqa" in caught.value.message
    assert "benchmark 'medqa'" in caught.value.message


# ------------------------------------------------------------------ the bundle at its real size
@pytest.fixture(scope="module")
def full_bundle(tmp_path_factory):
    return write_bundle(tmp_path_factory.mktemp("bundle") / "eval_data.json", seed=5)


def test_the_bundle_gives_every_benchmark_its_owners_count(tmp_path, full_bundle):
    counts = {name: len(benchmark(tmp_path, name, full_bundle).records)
              for name in ("medmcqa", "medqa", "pubmedqa", "mmlu_pro_med", "gpqa_med")}
    assert counts == {"medmcqa": 4183, "medqa": 1273, "pubmedqa": 1000, "mmlu_pro_med": 1535, "gpqa_med": 78}
    mmlu = benchmark(tmp_path, "mmlu_pro_med", full_bundle)
    assert (mmlu.rows, mmlu.distinct, mmlu.deduplicated) == (1535, 1440, False)
    assert len({r.id for r in mmlu.records}) == 1535  # exact repeats are items of their own (ids suffixed #2)
    assert "1535 rows hold 1440 distinct questions: every row is scored" in mmlu.notes[0]
    gpqa = benchmark(tmp_path, "gpqa_med", full_bundle)
    assert (gpqa.rows, gpqa.distinct, gpqa.deduplicated) == (390, 78, True)
    assert len(benchmark(tmp_path, "gpqa_med", full_bundle, "eval.dedup=[]").records) == 390
    assert len(benchmark(tmp_path, "mmlu_pro_med", full_bundle, "eval.dedup=[mmlu_pro_med]").records) == 1440
    assert sum(BUNDLE_SIZES.values()) == len(read_source(str(full_bundle)).rows) == 8381


def test_mmlu_pro_counts_the_same_from_its_native_release_and_from_the_bundle(tmp_path, full_bundle):
    bundle_rows = json.loads(full_bundle.read_text())["MMLU-Pro_Medical_test"]
    native = [{"question_id": i, "question": row["question"], "options": list(row["options"].values()),
               "answer": row["answer_idx"], "answer_index": "ABCDEFGHIJ".index(row["answer_idx"]),
               "cot_content": "", "category": "health" if i % 2 else "biology", "src": "ori_mmlu"}
              for i, row in enumerate(bundle_rows)]
    data = benchmark(tmp_path, "mmlu_pro_med", write_jsonl(tmp_path / "test.jsonl", native))
    bundle = benchmark(tmp_path, "mmlu_pro_med", full_bundle)
    assert (len(data.records), data.distinct) == (len(bundle.records), bundle.distinct) == (1535, 1440)


def test_bundle_defects_name_the_line_of_their_group(tmp_path):
    bundle = {"MedQA_USLME_test": [{"question": "q1", "options": options("a", "b"), "answer_idx": "A"}],
              "GPQA_Medical_test": [{"question": "g1", "options": options("a", "b"), "answer_idx": "Z"}]}
    path = tmp_path / "eval_data.json"
    path.write_text(json.dumps(bundle, indent=2))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if '"GPQA_Medical_test"' in text)
    with pytest.raises(DataError) as caught:
        benchmark(tmp_path, "gpqa_med", path)
    assert f"{path}:{line} GPQA_Medical_test[0]: answer_idx 'Z' is not one of the options" in caught.value.message
    assert len(benchmark(tmp_path, "medqa", path).records) == 1  # another benchmark's defect is not medqa's


# ------------------------------------------------------------------------------ defective rows
def test_every_defective_row_is_reported_at_once_and_skip_counts_each_kind(tmp_path):
    rows = [
        {"id": "Text-1", "question": "ok?", "options": options("a", "b"), "label": "A"},
        {"id": "Text-2", "question": "two answers?", "options": options("a", "b"), "label": ["A", "B"]},
        {"id": "Text-3", "question": "bad options?", "options": "A) a B) b", "label": "A"},
        {"id": "Text-4", "question": "not an option?", "options": options("a", "b"), "label": "J"},
        {"id": "Text-5", "question": "no label?", "options": options("a", "b")},
        {"id": "Text-1", "question": "a different question under a used id?", "options": options("a", "b"),
         "label": "B"},
        {"id": "Text-6", "question": "fine too?", "options": [{"letter": "A", "content": "a"}], "label": ["A"]},
    ]
    path = write_jsonl(tmp_path / "medxpertqa.jsonl", rows)
    with pytest.raises(DataError) as caught:
        load_records(read_source(str(path)))
    message = caught.value.message
    assert message.startswith(f"{path}: 5 defective row(s) of 7")
    for line, text in ((2, "label ['A', 'B'] names 2 answers"), (3, "'options' is a str"), (4, "label 'J' is not one of"),
                       (5, "missing field 'label'"), (6, "id 'Text-1' is already used by a different question")):
        assert f"\n  {path}:{line}: {text}" in message
    assert "data.on_bad_item: skip" in caught.value.hint
    loaded = load_records(read_source(str(path)), options=LoadOptions(on_bad_item="skip"))
    assert [r.id for r in loaded.records] == ["Text-1", "Text-6"]
    assert loaded.skipped == {"not exactly one answer": 1, "options not readable": 1,
                              "answer not among the options": 1, "missing field": 1,
                              "id used by two different questions": 1}


def test_skipped_rows_are_counted_in_the_manifest_and_the_summary(tmp_path):
    rows = [medagents_row(f"Text-{i}", f"Question {i}?", options("a", "b", "c"), "A") for i in range(6)]
    rows[2]["answer_idx"] = "Q"
    rows[4]["options"] = 7
    path = write_jsonl(tmp_path / "xpert.jsonl", rows)
    overrides = ("data.dataset=xpert", "data.mixes.xpert.medxpertqa=3", f"data.sources.medxpertqa={path}")
    with pytest.raises(DataError, match="data.sources.medxpertqa: .*2 defective row"):
        prepare_data(config_for(tmp_path, *overrides))
    result = prepare_data(config_for(tmp_path, *overrides, "data.on_bad_item=skip"))
    assert result.manifest["sources"]["medxpertqa"]["skipped"] == {"answer not among the options": 1,
                                                                   "options not readable": 1}


def test_a_row_of_an_unexpected_shape_is_a_defect_not_a_crash(tmp_path):
    rows = [{"question": ["a", "list"], "options": {"A": {"nested": 1}}, "answer_idx": 5},
            {"QUESTION": "q", "final_decision": "yes", "CONTEXTS": "not a list"}]
    with pytest.raises(DataError, match="1 defective row"):
        load_records(read_source(str(write_jsonl(tmp_path / "a.jsonl", rows[:1]))))
    pubmed = tmp_path / "ori_pqal.json"
    pubmed.write_text(json.dumps({"1": rows[1]}))
    with pytest.raises(DataError, match=r"ori_pqal.json:1 1: CONTEXTS and LABELS must be lists"):
        load_records(read_source(str(pubmed)))


# ---------------------------------------------------------------------------------- encodings
def test_utf8_with_a_byte_order_mark_reads_in_every_text_format(tmp_path):
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes("\ufeff".encode() + json.dumps({"question": "Café?", "options": options("a", "b"),
                                                        "answer_idx": "A"}).encode() + b"\n")
    assert load_records(read_source(str(jsonl))).records[0].question == "Café?"
    as_list = tmp_path / "bom.json"
    as_list.write_bytes("\ufeff".encode() + json.dumps([{"question": "q?", "options": options("a"),
                                                         "answer_idx": "A"}]).encode())
    assert len(load_records(read_source(str(as_list))).records) == 1
    table = tmp_path / "gpqa.csv"
    with table.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2",
                         "Incorrect Answer 3", "High-level domain", "Record ID"])
        writer.writerow(["Which?", "a", "b", "c", "d", "Biology", "rec1"])
    assert load_records(read_source(str(table))).records[0].id == "gpqa-rec1"


def test_a_file_that_is_not_utf8_names_its_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"question": "ok", "options": {"A": "a"}, "answer_idx": "A"}\n'
                     b'{"question": "caf\xe9", "options": {"A": "a"}, "answer_idx": "A"}\n')
    with pytest.raises(DataError) as caught:
        read_source(str(path))
    assert caught.value.message == f"{path}:2: not UTF-8 text (byte 0xe9 at column 18)"
    assert "iconv -f latin1 -t utf-8" in caught.value.hint


# ------------------------------------------------------------------------- evaluate --dry-run
def test_evaluate_dry_run_shows_each_benchmarks_data_without_loading_a_model(tmp_path, full_bundle):
    xpert = write_medxpertqa(tmp_path / "medxpertqa_input.jsonl", 2450, layout="eval-input", mismatched=(3, 9))
    data = ", ".join([*(f"{name}: {full_bundle}" for name in ("medmcqa", "medqa", "pubmedqa", "mmlu_pro_med",
                                                              "gpqa_med")), f"medxpertqa: {xpert}"])
    args = ("evaluate", "--dry-run", "-m", "builtin:tiny", "--set", f"eval.data={{{data}}}",
            "-o", str(tmp_path / "out"))
    result = run_medr1(*args)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name, rows, distinct, scored in (("medmcqa", 4183, 4183, 4183), ("mmlu_pro_med", 1535, 1440, 1535),
                                         ("gpqa_med", 390, 78, 78), ("medxpertqa", 2450, 2450, 2450)):
        line = next(text for text in out.splitlines() if text.startswith(f"│ {name} "))
        assert [int(cell) for cell in line.split("│")[-5:-1] if cell.strip().isdigit()][-1] == scored, line
        assert f" {rows} " in line and f" {distinct} " in line, line
    assert "huatuo-bundle" in out and "medxpertqa" in out
    assert "each is scored once (eval.dedup)" in out and "embedded choice list differs" in out
    assert "built-in model" in out
    assert not (tmp_path / "out").exists()  # nothing written
    assert heavy_modules_imported_by(*args[:-2]) == []  # no torch, transformers, trl, datasets or lm_eval


@pytest.mark.parametrize("problem, args, message", [
    ("missing file", ("--set", "eval.data.medqa={tmp}/nowhere.jsonl"), "is not a file or folder"),
    ("no model folder", ("-m", "{tmp}/nosuchmodel"), "is not a model folder (no such folder)"),
    ("Hub id offline", ("-m", "someone/not-downloaded"), "HF_HUB_OFFLINE is set while the local Hugging Face cache"),
    ("output is a file", ("-o", "{tmp}/bad.jsonl"), "is an existing file, not a folder"),
    ("defective rows", ("--set", "eval.data.medqa={tmp}/bad.jsonl"), "bad.jsonl:1: answer_idx 'Q'"),
])
def test_evaluate_dry_run_exits_2_on_any_problem(tmp_path, problem, args, message):
    write_jsonl(tmp_path / "bad.jsonl", [{"question": "q", "options": options("a", "b"), "answer_idx": "Q"}])
    result = run_medr1("evaluate", "--dry-run", "-b", "medqa", *(a.format(tmp=tmp_path) for a in args))
    assert result.returncode == 2, problem
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


# ---------------------------------------------------------------------- other containers of rows
def test_json_lines_under_a_json_name_read_as_medmcqas_own_release_names_them(tmp_path):
    rows = [{"id": f"id-{i}", "question": f"Nephron segment {i}?", "opa": "PCT", "opb": "Loop", "opc": "DCT",
             "opd": "CD", "cop": 1 + i % 4, "choice_type": "single", "exp": "", "subject_name": "Physiology",
             "topic_name": "Kidney"} for i in range(8)]
    folder = tmp_path / "medmcqa"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        write_jsonl(folder / f"{split}.json", rows)
    data = benchmark(tmp_path, "medmcqa", folder)  # the validation split is dev.json
    assert (len(data.records), data.layouts) == (8, ["medmcqa"]) and data.records[3].answer == "D"
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": 1}\n{"b": ')
    with pytest.raises(DataError, match=r"broken.json:2: invalid JSON"):
        read_source(str(broken))


def test_a_dataset_saved_with_save_to_disk_reads_its_split(tmp_path):
    from datasets import Dataset, DatasetDict

    rows = [medagents_row(f"Text-{i}", f"Question {i}?", options("a", "b", "c"), "B") for i in range(6)]
    DatasetDict({"test": Dataset.from_list(rows), "dev": Dataset.from_list(rows[:2])}).save_to_disk(str(tmp_path / "saved"))
    data = benchmark(tmp_path, "medxpertqa", tmp_path / "saved")
    assert [r.id for r in data.records] == [f"Text-{i}" for i in range(6)]
    Dataset.from_list(rows[:3]).save_to_disk(str(tmp_path / "one"))
    assert len(benchmark(tmp_path, "medxpertqa", tmp_path / "one").records) == 3
    with pytest.raises(DataError, match="splits test, dev; none is 'train'"):
        read_source(str(tmp_path / "saved"), split="train")


# ------------------------------------------------------------------------- found in review
def test_a_saved_dataset_never_stands_in_for_a_split_it_lacks(tmp_path):
    from datasets import Dataset, DatasetDict

    rows = [medagents_row(i, f"Question {i}?", options("a", "b"), "A") for i in range(3)]
    DatasetDict({"train": Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "train_only"))
    with pytest.raises(DataError, match="none is 'test'"):
        benchmark(tmp_path, "medqa", tmp_path / "train_only")
    DatasetDict({"train": Dataset.from_list(rows), "test": Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "two"))
    with pytest.raises(DataError, match="no split was asked for") as caught:
        read_source(str(tmp_path / "two"))
    assert "data.splits" in caught.value.hint


def test_source_names_that_start_or_end_with_a_benchmark_name_it():
    from medr1_cli.data.formats import benchmark_of_source

    assert [benchmark_of_source(n) for n in ("medxpertqa_r", "demo-medqa", "my_pubmedqa", "gpqa_med", "mmlu_pro_med",
                                             "medmcqa-train", "extra", "medqa-medmcqa")] == \
           ["medxpertqa", "medqa", "pubmedqa", "gpqa", "mmlu_pro", "medmcqa", None, None]


def test_repeats_of_a_training_item_are_left_out_with_it(tmp_path):
    rows = [{"question": "Same?", "options": options("a", "b"), "answer_idx": "A"}] * 3
    rows.append({"question": "Other?", "options": options("a", "b"), "answer_idx": "B"})
    path = tmp_path / "GPQA_style.json"
    path.write_text(json.dumps({"MMLU-Pro_Medical_test": rows}))
    config = config_for(tmp_path, f"eval.data.mmlu_pro_med={path}")
    everything = load_benchmark(BENCHMARKS["mmlu_pro_med"], config, set())
    same = everything.records[0].id
    assert [r.id for r in everything.records] == [same, f"{same}#2", f"{same}#3", everything.records[3].id]
    left = load_benchmark(BENCHMARKS["mmlu_pro_med"], config, {same})
    assert (len(left.records), left.excluded) == (1, 3)


def test_rows_are_counted_after_the_protocol_chooses_them(tmp_path):
    folder = tmp_path / "pqa"
    folder.mkdir()
    (folder / "ori_pqal.json").write_text(json.dumps({str(i): {"QUESTION": f"Q{i}?", "final_decision": "yes"}
                                                      for i in range(10)}))
    (folder / "test_ground_truth.json").write_text(json.dumps({str(i): "no" for i in range(5)}))
    data = benchmark(tmp_path, "pubmedqa", folder, "eval.pubmedqa_protocol=test")
    assert (data.rows, data.distinct, len(data.records)) == (5, 5, 5)


def test_more_shapes_of_real_files(tmp_path):
    one_line = tmp_path / "dev.json"  # JSON lines under a .json name, with a single row
    one_line.write_text(json.dumps({"id": "a", "question": "q?", "opa": "1", "opb": "2", "opc": "3", "opd": "4",
                                    "cop": 4}) + "\n")
    assert load_records(read_source(str(one_line)), options=LoadOptions(medmcqa_cop="1")).records[0].answer == "D"
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + b'{"question": "ok"}\n{"question": "caf\xe9"}\n')
    with pytest.raises(DataError, match=r"bom.jsonl:2: not UTF-8 text \(byte 0xe9 at column 18\)"):
        read_source(str(bom))
    bundle = tmp_path / "eval_data.json"
    bundle.write_text(json.dumps({"MedQA_USLME_test": [{"question": "q", "options": options("a"), "answer_idx": "A"}]}))
    with pytest.raises(DataError, match="a HuatuoGPT-o1 bundle with no medxpertqa group"):
        benchmark(tmp_path, "medxpertqa", bundle)
