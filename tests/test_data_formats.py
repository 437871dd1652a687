"""Every native format, read from small files written in exactly that format, and every error path."""

from __future__ import annotations

import csv
import json

import pytest

from medr1_cli.data.formats import EMBEDDED_MISMATCH, FORMATS, LoadOptions, load_records, strip_embedded_options
from medr1_cli.data.sources import builtin_files, read_source
from medr1_cli.errors import DataError


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def load(path, **kwargs):
    options = kwargs.pop("options", LoadOptions())
    return load_records(read_source(str(path), split=kwargs.pop("split", None)), options=options, **kwargs)


MEDQA_ROW = {
    "question": "A 30-year-old man has fatigue and a low ferritin. What is the most likely cause?",
    "answer": "Iron deficiency",
    "options": {"A": "Iron deficiency", "B": "Thalassemia", "C": "Lead poisoning", "D": "Sideroblastic anemia"},
    "meta_info": "step2&3",
    "answer_idx": "A",
    "metamap_phrases": ["30-year-old man", "fatigue", "low ferritin"],
}


def test_medqa_four_and_five_options(tmp_path):
    five = {**MEDQA_ROW, "question": "Which vitamin is fat soluble?", "answer": "Vitamin K", "answer_idx": "E",
            "options": {"A": "Vitamin C", "B": "Thiamine", "C": "Niacin", "D": "Folate", "E": "Vitamin K"},
            "meta_info": "step1"}
    loaded = load(write_jsonl(tmp_path / "train.jsonl", [MEDQA_ROW, five]))
    assert loaded.format == "generic"
    first, second = loaded.records
    assert (first.source, first.answer, first.metadata.step) == ("medqa", "A", "step2&3")
    assert list(second.options) == list("ABCDE") and second.answer == "E"
    assert first.id.startswith("medqa-") and first.id != second.id
    # ids come from the content: the same question keeps its id wherever it sits in the file
    again = load(write_jsonl(tmp_path / "other.jsonl", [five, MEDQA_ROW]))
    assert {r.id for r in again.records} == {first.id, second.id}


def test_medqa_hf_variant(tmp_path):
    row = {"id": "q1", "sent1": "Which drug reverses heparin?", "sent2": "", "ending0": "Vitamin K",
           "ending1": "Protamine sulfate", "ending2": "Idarucizumab", "ending3": "Andexanet", "label": 1}
    record = load(write_jsonl(tmp_path / "hf.jsonl", [row])).records[0]
    assert record.options == {"A": "Vitamin K", "B": "Protamine sulfate", "C": "Idarucizumab", "D": "Andexanet"}
    assert (record.answer, record.question) == ("B", "Which drug reverses heparin?")
    # the -hf `id` is a row position: the question is named by its content, as in every MedQA layout
    generic = {"question": "Which drug reverses heparin?", "answer_idx": "B", "options": record.options}
    assert record.id == load(write_jsonl(tmp_path / "generic.jsonl", [generic])).records[0].id


def medmcqa_row(i, cop, choice_type="single"):
    return {"id": f"id-{i}", "question": f"Question {i} about the nephron?", "opa": "PCT", "opb": "Loop",
            "opc": "DCT", "opd": "Collecting duct", "cop": cop, "choice_type": choice_type,
            "exp": "Because.", "subject_name": "Physiology", "topic_name": "Kidney"}


def test_medmcqa_raw_release_counts_from_one(tmp_path):
    rows = [medmcqa_row(1, 1), medmcqa_row(2, 4)]
    loaded = load(write_jsonl(tmp_path / "dev.jsonl", rows))
    assert [r.answer for r in loaded.records] == ["A", "D"]
    assert loaded.records[0].metadata.subject == "Physiology"


def test_medmcqa_multi_rows_are_kept_as_their_owners_count_them(tmp_path):
    # `choice_type: multi` rows ("All of the following EXCEPT …") still have one correct option, `cop`:
    # the HuatuoGPT-o1 bundle and lm-eval's medmcqa task score all 4,183 validation rows, multi ones too.
    rows = [medmcqa_row(1, 1), medmcqa_row(2, 4), medmcqa_row(3, 2, "multi"), medmcqa_row(4, 3, "multi")]
    loaded = load(write_jsonl(tmp_path / "dev.json", rows))
    assert [(r.id, r.answer) for r in loaded.records] == [("id-1", "A"), ("id-2", "D"), ("id-3", "B"), ("id-4", "C")]
    assert loaded.skipped == {}
    hub = load(write_jsonl(tmp_path / "validation.jsonl", [medmcqa_row(1, 0, "multi"), medmcqa_row(2, 3, "multi")]))
    assert [r.answer for r in hub.records] == ["A", "D"] and hub.skipped == {}


def test_medmcqa_hub_release_counts_from_zero(tmp_path):
    loaded = load(write_jsonl(tmp_path / "v.jsonl", [medmcqa_row(1, 0), medmcqa_row(2, 3)]))
    assert [r.answer for r in loaded.records] == ["A", "D"]


def test_medmcqa_that_cannot_tell_is_an_error_until_forced(tmp_path):
    path = write_jsonl(tmp_path / "v.jsonl", [medmcqa_row(1, 1), medmcqa_row(2, 3)])
    with pytest.raises(DataError) as caught:
        load(path)
    assert "cannot tell whether it counts from 0" in caught.value.message
    assert "data.medmcqa_cop" in caught.value.hint
    assert [r.answer for r in load(path, options=LoadOptions(medmcqa_cop="1")).records] == ["A", "C"]
    assert [r.answer for r in load(path, options=LoadOptions(medmcqa_cop="0")).records] == ["B", "D"]


def pubmedqa_file(folder, with_truth=False):
    folder.mkdir()
    data = {
        "10000001": {"QUESTION": "Does exercise lower resting heart rate?", "CONTEXTS": ["We studied runners.", "It fell."],
                     "LABELS": ["METHODS", "RESULTS"], "MESHES": ["Exercise"], "YEAR": "2015",
                     "final_decision": "yes", "LONG_ANSWER": "Yes."},
        "10000002": {"QUESTION": "Does coffee cure asthma?", "CONTEXTS": ["No effect was seen."], "LABELS": ["RESULTS"],
                     "MESHES": [], "YEAR": "2016", "final_decision": "no", "LONG_ANSWER": "No."},
    }
    (folder / "ori_pqal.json").write_text(json.dumps(data, indent=1))
    if with_truth:
        (folder / "test_ground_truth.json").write_text(json.dumps({"10000002": "maybe"}))
    return folder


def test_pubmedqa_options_contexts_and_labels(tmp_path):
    loaded = load(pubmedqa_file(tmp_path / "pqa"))
    first, second = loaded.records
    assert first.options == {"A": "yes", "B": "no", "C": "maybe"}
    assert (first.id, first.answer, second.answer) == ("pubmedqa-10000001", "A", "B")
    assert first.question.startswith("Context:\nMethods: We studied runners.\nResults: It fell.")
    assert first.question.endswith("Question: Does exercise lower resting heart rate?")


def test_pubmedqa_official_test_labels_beside_the_release(tmp_path):
    loaded = load(pubmedqa_file(tmp_path / "pqa", with_truth=True))
    by_id = {r.id: r for r in loaded.records}
    assert by_id["pubmedqa-10000002"].answer == "C" and by_id["pubmedqa-10000002"].metadata.split == "test"
    assert by_id["pubmedqa-10000001"].metadata.split is None


def test_mmlu_pro_keeps_the_medical_categories(tmp_path):
    rows = [
        {"question_id": 1, "question": "Which organelle makes ATP?", "options": ["Ribosome", "Mitochondrion", "Golgi"],
         "answer": "B", "answer_index": 1, "cot_content": "", "category": "biology", "src": "ori_mmlu-biology"},
        {"question_id": 2, "question": "What is a tort?", "options": ["A crime", "A civil wrong"], "answer": "B",
         "answer_index": 1, "cot_content": "", "category": "law", "src": "ori_mmlu-law"},
        {"question_id": 3, "question": "Normal adult resting heart rate?", "options": ["20", "70", "150", "N/A"],
         "answer": "B", "answer_index": 1, "cot_content": "", "category": "health", "src": "stemez-health"},
    ]
    loaded = load(write_jsonl(tmp_path / "test.jsonl", rows))
    assert [r.id for r in loaded.records] == ["mmlu_pro-1", "mmlu_pro-3"]
    assert loaded.records[1].options == {"A": "20", "B": "70", "C": "150"}  # "N/A" padding is not an option
    assert loaded.skipped == {"category not selected (law)": 1}
    only_law = load(tmp_path / "test.jsonl", options=LoadOptions(mmlu_pro_categories=("law",)))
    assert [r.id for r in only_law.records] == ["mmlu_pro-2"]


def mmlu_pro_row(question_id, options, answer, answer_index, question="Which of these is the third Greek letter?"):
    return {"question_id": question_id, "question": question, "options": options, "answer": answer,
            "answer_index": answer_index, "cot_content": "", "category": "health", "src": "stemez-health"}


def test_mmlu_pro_na_padding_removed_keeps_the_gold_option(tmp_path):
    # MMLU-Pro pads some option lists with "N/A"; with the padding cut, the letters after it move up,
    # so the gold is the option `answer_index` points at in the release's own list, not the old letter.
    rows = [mmlu_pro_row(1, ["alpha", "N/A", "gamma", "delta"], "C", 2),
            mmlu_pro_row(2, ["alpha", "", "N/A", "delta"], "D", 3, question="And the fourth?")]
    first, second = load(write_jsonl(tmp_path / "test.jsonl", rows)).records
    assert first.options == {"A": "alpha", "B": "gamma", "C": "delta"}
    assert first.options[first.answer] == "gamma"
    assert second.options == {"A": "alpha", "B": "delta"} and second.options[second.answer] == "delta"
    # without answer_index, the letter's place in the release's own list says which option it is
    del rows[0]["answer_index"]
    assert load(write_jsonl(tmp_path / "no_index.jsonl", rows[:1])).records[0].answer == "B"
    # the same question in the generic layout (the HuatuoGPT-o1 bundle's MMLU-Pro rows, MMLU-Pro mirrors)
    generic = {"question": "Which of these is the third Greek letter?", "answer": "gamma", "answer_idx": "C",
               "options": {"A": "alpha", "B": "N/A", "C": "gamma", "D": "delta"}}
    record = load(write_jsonl(tmp_path / "mirror.jsonl", [generic]), benchmark="mmlu_pro").records[0]
    assert record.options == {"A": "alpha", "B": "gamma", "C": "delta"} and record.options[record.answer] == "gamma"
    bundle = tmp_path / "eval_data.json"
    bundle.write_text(json.dumps({"MMLU-Pro_Medical_test": [generic]}))
    record = load(bundle).records[0]
    assert record.source == "mmlu_pro" and record.options[record.answer] == "gamma"


def test_mmlu_pro_gold_that_is_padding_is_a_defective_row(tmp_path):
    rows = [mmlu_pro_row(1, ["alpha", "beta", "gamma"], "C", 2),
            mmlu_pro_row(2, ["alpha", "N/A", "gamma"], "B", 1, question="Which is missing?"),
            mmlu_pro_row(3, ["alpha", "beta", "gamma"], "C", 1, question="Which one, really?")]
    path = write_jsonl(tmp_path / "test.jsonl", rows)
    with pytest.raises(DataError) as caught:
        load(path)
    message = caught.value.message
    assert "2 defective row(s) of 3" in message
    assert f"{path}:2: the answer, option B, is 'N/A'" in message
    assert f"{path}:3: answer 'C' and answer_index 1 (option B) disagree" in message
    skipped = load(path, options=LoadOptions(on_bad_item="skip"))
    assert [r.id for r in skipped.records] == ["mmlu_pro-1"]
    assert skipped.skipped == {"answer is an N/A or empty option": 1, "answer and answer_index disagree": 1}
    generic = {"question": "Which is missing?", "answer_idx": "B", "options": {"A": "alpha", "B": "N/A", "C": "gamma"}}
    with pytest.raises(DataError, match="the answer, option B, is 'N/A'"):
        load(write_jsonl(tmp_path / "mirror.jsonl", [generic]), benchmark="mmlu_pro")


def gpqa_csv(path, rows):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2",
                         "Incorrect Answer 3", "Subdomain", "High-level domain", "Record ID"])
        writer.writerows(rows)
    return path


def test_gpqa_shuffles_options_with_a_fixed_seed(tmp_path):
    rows = [[f"Which enzyme, variant {i}?", "Helicase", "Ligase", "Primase", "Topoisomerase", "Molecular Biology",
             "Biology", f"rec{i:014d}"] for i in range(12)]
    rows.append(["Which reagent?", "NaBH4", "HCl", "NaOH", "H2O", "Organic Chemistry", "Chemistry", "recX"])
    path = gpqa_csv(tmp_path / "gpqa_main.csv", rows)
    loaded = load(path)
    assert len(loaded.records) == 12 and loaded.skipped == {"domain not selected (Chemistry)": 1}
    for record in loaded.records:
        assert record.options[record.answer] == "Helicase"
        assert sorted(record.options.values()) == ["Helicase", "Ligase", "Primase", "Topoisomerase"]
    assert len({r.answer for r in loaded.records}) > 1  # the correct answer is not always first
    assert [r.options for r in load(path).records] == [r.options for r in loaded.records]  # seeded
    reseeded = load(path, options=LoadOptions(seed=7))
    assert [r.options for r in reseeded.records] != [r.options for r in loaded.records]
    # the order depends on the question, not on its row: reversing the file changes nothing
    reversed_path = gpqa_csv(tmp_path / "reversed.csv", rows[::-1])
    assert {r.id: r.options for r in load(reversed_path).records} == {r.id: r.options for r in loaded.records}


XPERT_OPTIONS = {letter: f"choice {letter.lower()}" for letter in "ABCDEFGHIJ"}


def xpert_row(i, question_type="Reasoning"):
    embedded = " ".join(f"({k}) {v}" for k, v in XPERT_OPTIONS.items())
    return {"id": f"Text-{i}", "question": f"A 50-year-old with finding {i}. What next? Answer Choices: {embedded}",
            "options": XPERT_OPTIONS, "label": "G", "medical_task": "Treatment", "body_system": "Cardiovascular",
            "question_type": question_type}


def test_medxpertqa_never_shows_the_options_twice(tmp_path):
    record = load(write_jsonl(tmp_path / "test.jsonl", [xpert_row(1)])).records[0]
    assert record.question == "A 50-year-old with finding 1. What next?"
    assert "Answer Choices" not in record.question and "(A)" not in record.question
    assert (record.id, record.answer, len(record.options)) == ("Text-1", "G", 10)
    assert (record.metadata.question_type, record.metadata.medical_task) == ("Reasoning", "Treatment")


def test_medxpertqa_with_mismatched_embedded_options_shows_the_options_field_and_says_so(tmp_path):
    row = xpert_row(1)
    row["question"] = row["question"].replace("choice c", "something else")
    path = write_jsonl(tmp_path / "test.jsonl", [xpert_row(0), row])
    loaded = load(path)
    record = loaded.records[1]
    # the label refers to the options field: it is what the model sees, and the embedded list is cut
    assert record.question == "A 50-year-old with finding 1. What next?"
    assert record.options["C"] == "choice c" and record.answer == "G"
    assert loaded.skipped == {}
    assert list(loaded.notes.values()) == [[f"{path}:2"]]
    assert loaded.note_lines() == [f"{EMBEDDED_MISMATCH}: 1 row(s) ({path}:2)"]


def test_strip_embedded_options_is_exact():
    choices = {"A": "x", "B": "y"}
    assert strip_embedded_options("Q? Answer Choices: (A) x (B) y", choices) == "Q?"
    assert strip_embedded_options("Q? Answer Choices: (A) x (B) z", choices) is None
    assert strip_embedded_options("Q?", choices) is None


def test_huatuo_bundle_fills_five_benchmarks(tmp_path):
    def item(q, answer="B"):
        return {"question": q, "options": {"A": "one", "B": "two", "C": "three", "D": "four"}, "answer_idx": answer,
                "answer": "two"}
    bundle = {
        "MedMCQA_validation": [item("m1"), item("m2")],
        "MedQA_USLME_test": [item("q1")],
        "PubMedQA_test": [{"question": "p1", "options": {"A": "yes", "B": "no", "C": "maybe"}, "answer_idx": "C",
                           "answer": "maybe"}],
        "MMLU-Pro_Medical_test": [item("u1")],
        "GPQA_Medical_test": [item("g1"), {**item("g1"), "options": {"A": "two", "B": "one", "C": "three", "D": "four"},
                                            "answer_idx": "A"}],
    }
    path = tmp_path / "eval_data.json"
    path.write_text(json.dumps(bundle, indent=1))
    loaded = load(path)
    assert loaded.format == "huatuo-bundle"
    by_source = {}
    for record in loaded.records:
        by_source.setdefault(record.source, []).append(record)
    assert {k: len(v) for k, v in by_source.items()} == {"medmcqa": 2, "medqa": 1, "pubmedqa": 1, "mmlu_pro": 1, "gpqa": 2}
    assert by_source["medqa"][0].metadata.split == "MedQA_USLME_test"
    assert len({r.id for r in by_source["gpqa"]}) == 2  # the same question in two option orders stays twice


def test_unknown_bundle_benchmark_is_named(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"MedQA_USMLE_tset": [{"question": "q", "options": {"A": "a"}, "answer_idx": "A"}]}))
    with pytest.raises(DataError, match="unknown benchmark 'MedQA_USMLE_tset'.*did you mean 'MedQA_USMLE_test'"):
        load(path)


# ---------------------------------------------------------------------------------- errors
def test_malformed_jsonl_names_file_and_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps(MEDQA_ROW) + "\n\n" + '{"question": "broken",\n')
    with pytest.raises(DataError) as caught:
        read_source(str(path))
    assert caught.value.message.startswith(f"{path}:3: invalid JSON")


def test_malformed_json_names_its_line(tmp_path):
    path = tmp_path / "ori_pqal.json"
    path.write_text('{\n  "1": {"QUESTION": "q",\n  "final_decision": yes}\n}')
    with pytest.raises(DataError, match=rf"{path}:3: invalid JSON"):
        read_source(str(path))


def test_missing_field_names_it_and_the_format(tmp_path):
    row = {k: v for k, v in MEDQA_ROW.items() if k != "question"}
    path = write_jsonl(tmp_path / "train.jsonl", [MEDQA_ROW, row])
    with pytest.raises(DataError) as caught:
        load(path, format="medqa")  # the old name of the generic layout still forces it
    assert f"\n  {path}:2: missing field 'question' for format 'generic'" in caught.value.message
    assert "rows need: question, options, answer_idx" in caught.value.message


def test_answer_not_among_options_is_an_error_or_skipped(tmp_path):
    bad = {**MEDQA_ROW, "question": "Another one?", "answer_idx": "F"}
    path = write_jsonl(tmp_path / "train.jsonl", [MEDQA_ROW, bad])
    with pytest.raises(DataError) as caught:
        load(path)
    assert f"{path}:2: answer_idx 'F' is not one of the options" in caught.value.message
    loaded = load(path, options=LoadOptions(on_bad_item="skip"))
    assert len(loaded.records) == 1 and loaded.skipped == {"answer not among the options": 1}


def test_unrecognised_rows_name_their_fields(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"prompt": "hi", "response": "there"}])
    with pytest.raises(DataError) as caught:
        load(path)
    assert "cannot tell the format from this row's fields (prompt, response)" in caught.value.message
    assert "medqa" in caught.value.hint


def test_unknown_forced_format(tmp_path):
    with pytest.raises(DataError, match="unknown format 'medqa_hf'.*did you mean 'medqa-hf'"):
        load(write_jsonl(tmp_path / "x.jsonl", [MEDQA_ROW]), format="medqa_hf")


def test_folders_pick_the_split_file(tmp_path):
    folder = tmp_path / "US"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", [MEDQA_ROW])
    write_jsonl(folder / "test.jsonl", [{**MEDQA_ROW, "question": "A test question?"}])
    write_jsonl(folder / "dev.jsonl", [{**MEDQA_ROW, "question": "A dev question?"}])
    assert load(folder, split="test").records[0].question == "A test question?"
    with pytest.raises(DataError, match="cannot tell which file to read"):
        read_source(str(folder))
    assert read_source(str(folder), split="validation").files[0].name == "dev.jsonl"  # MedMCQA's own name
    (folder / "4_options").mkdir()
    write_jsonl(folder / "4_options" / "phrases_no_exclude_train.jsonl", [MEDQA_ROW])
    with pytest.raises(DataError, match=r"several files for split 'train' \(4_options/phrases_no_exclude_train"):
        read_source(str(folder), split="train")


def test_a_folder_with_one_file_of_another_split_is_not_read_for_the_split_asked(tmp_path):
    # MedQA-USMLE's folder with only its test file: read as the train split, the model would train on the test set.
    folder = tmp_path / "US"
    folder.mkdir()
    lone = write_jsonl(folder / "test.jsonl", [MEDQA_ROW])
    with pytest.raises(DataError) as caught:
        read_source(str(folder), split="train")
    assert f"{folder}: the only data file, test.jsonl, is named for split 'test', not for the split 'train'" \
        in caught.value.message
    assert str(lone) in caught.value.hint
    assert read_source(str(folder), split="test").files == [lone]
    assert read_source(str(folder)).files == [lone]  # no split asked for: the lone file is it
    # MedMCQA's own release names its validation file dev.json: it is read for validation, refused for train
    lone.rename(folder / "dev.json")
    assert read_source(str(folder), split="validation").files == [folder / "dev.json"]
    with pytest.raises(DataError, match="dev.json, is named for split 'validation', not for the split 'test'"):
        read_source(str(folder), split="test")
    # a lone file whose name names no split is read for whatever split is asked
    (folder / "dev.json").rename(folder / "US_qbank.jsonl")
    assert read_source(str(folder), split="train").files == [folder / "US_qbank.jsonl"]
    # nor is a split's name inside another word one ("latest" does not name "test")
    (folder / "US_qbank.jsonl").rename(folder / "latest.jsonl")
    assert read_source(str(folder), split="train").files == [folder / "latest.jsonl"]
    # a subfolder inside the folder names its split as well
    (folder / "test").mkdir()
    (folder / "latest.jsonl").rename(folder / "test" / "questions.jsonl")
    with pytest.raises(DataError, match=r"the only data file, test/questions.jsonl, is named for split 'test'"):
        read_source(str(folder), split="train")


def test_an_evaluation_set_whose_hub_split_is_train_reads_its_test_file_from_a_folder(tmp_path):
    # PubMedQA's labelled set is the Hub's `train` split; MedAgents' copy is a folder holding test.jsonl.
    from medr1_cli.benchmarks import BENCHMARKS
    from medr1_cli.evaluate.benchmark_data import load_benchmark
    from medr1_cli.resolution import resolve_config

    folder = tmp_path / "pubmedqa"
    folder.mkdir()
    rows = [{"question": f"Does treatment {i} help?", "options": {"A": "yes", "B": "no", "C": "maybe"},
             "answer_idx": "A", "realidx": str(1000 + i)} for i in range(3)]
    write_jsonl(folder / "test.jsonl", rows)
    config = resolve_config("tiny", [f"eval.data.pubmedqa={folder}", f"data.output_dir={tmp_path / 'data'}"])
    assert len(load_benchmark(BENCHMARKS["pubmedqa"], config, frozenset()).records) == 3
    # beside a train file, the test file is the one read
    write_jsonl(folder / "train.jsonl", rows[:1])
    assert len(load_benchmark(BENCHMARKS["pubmedqa"], config, frozenset()).records) == 3
    # a benchmark whose split is test still refuses a lone train file: it would score the training items
    (folder / "test.jsonl").unlink()
    medqa = resolve_config("tiny", [f"eval.data.medqa={folder}", f"data.output_dir={tmp_path / 'data'}"])
    with pytest.raises(DataError, match="train.jsonl, is named for split 'train', not for the split 'test'"):
        load_benchmark(BENCHMARKS["medqa"], medqa, frozenset())


def test_missing_source_and_offline_hub(tmp_path):
    with pytest.raises(DataError, match="is not a file or folder"):
        read_source(str(tmp_path / "nope.jsonl"))
    with pytest.raises(DataError) as caught:
        read_source("someone/medqa-that-is-not-cached")
    assert "could not load 'someone/medqa-that-is-not-cached'" in caught.value.message
    assert "local file or folder" in caught.value.hint


def test_every_builtin_demo_file_loads_in_its_own_format():
    expected = {"medqa": ("generic", 64), "medxpertqa": ("medxpertqa", 64), "medmcqa": ("medmcqa", 16),
                "pubmedqa": ("pubmedqa", 12), "mmlu_pro": ("mmlu_pro", 12), "gpqa": ("gpqa", 10),
                "omnimedvqa": ("omnimedvqa", 80)}  # generated with its images on first use
    assert set(builtin_files()) == set(expected)
    for name, (fmt, count) in expected.items():
        loaded = load(f"builtin:{name}")
        assert (loaded.format, len(loaded.records)) == (fmt, count), name
        assert set(FORMATS[fmt].required) <= set(read_source(f"builtin:{name}").rows[0].data)


def test_pubmedqa_hub_layout(tmp_path):
    row = {"pubid": 10000003, "question": "Does sleep help memory?", "long_answer": "Yes.", "final_decision": "yes",
           "context": {"contexts": ["Students slept.", "Recall improved."], "labels": ["METHODS", "RESULTS"],
                       "meshes": ["Sleep"]}}
    loaded = load(write_jsonl(tmp_path / "pqa_labeled.jsonl", [row]))
    record = loaded.records[0]
    assert loaded.format == "pubmedqa-hf" and record.id == "pubmedqa-10000003" and record.answer == "A"
    assert record.question == "Context:\nMethods: Students slept.\nResults: Recall improved.\n\nQuestion: Does sleep help memory?"
