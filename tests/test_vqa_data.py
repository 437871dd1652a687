"""Medical VQA data (Med-R1): the Med-R1 and OmniMedVQA formats, per-group splits, image checks,
resizing, the built-in generated set and prepare-data's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from medr1_cli.data.formats import LoadOptions, load_records
from medr1_cli.vqa.omnimedvqa import answer_letter, canonical_modality, canonical_question_type, split_problem
from medr1_cli.data.prepare import prepare_data, prepared_folder
from medr1_cli.data.sources import read_source
from medr1_cli.errors import ConfigError, DataError
from medr1_cli.resolution import resolve_config
from tests.conftest import run_medr1


def quiet() -> Console:
    return Console(quiet=True)


def test_options_are_parsed_out_of_the_problem_text():
    assert split_problem("What modality is this? A)CT, B)MRI, C)X-Ray, D)PET") == (
        "What modality is this?", {"A": "CT", "B": "MRI", "C": "X-Ray", "D": "PET"})
    # A letter in parentheses inside the question, and options separated by spaces only.
    assert split_problem("Which grade (see panel B) is shown? A) Grade 1 B) Grade 2 C) Grade 3") == (
        "Which grade (see panel B) is shown?", {"A": "Grade 1", "B": "Grade 2", "C": "Grade 3"})
    assert split_problem("What is shown here?") is None
    assert split_problem("A)only one option") is None
    assert answer_letter("<answer> C </answer>", {"A": "x", "B": "y", "C": "z"}) == "C"
    assert answer_letter("<answer>MRI</answer>", {"A": "CT", "B": "MRI"}) == "B"
    assert answer_letter("<answer> E </answer>", {"A": "CT", "B": "MRI"}) is None


def test_omnimedvqa_spellings_map_to_canonical_groups():
    spelled = ["CT(Computed Tomography)", "MR (Mag-netic Resonance Imaging)", "X-Ray", "Ultrasound", "Dermoscopy",
               "Fundus Photography", "OCT (Optical Coherence Tomography", "Microscopy Images"]
    assert [canonical_modality(s) for s in spelled] == [
        "CT", "MRI", "X-Ray", "Ultrasound", "Dermoscopy", "Fundus Photography", "OCT", "Microscopy"]
    assert [canonical_modality(s) for s in ["mri", "MRI_scan", "x ray", "xray", "US (ultrasound)", "oct"]] == [
        "MRI", "MRI", "X-Ray", "X-Ray", "Ultrasound", "OCT"]
    assert [canonical_modality(s) for s in ["mrl", "CTA", "usg", "octopus", "Fundoscopy", ""]] == [None] * 6
    assert canonical_question_type("lesion_grading") == "Lesion Grading"
    assert canonical_question_type("Counting") is None


def image(path: Path, color="gray") -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), color).save(path)
    return path.name


def test_med_r1_file_named_after_its_group_and_the_omnimedvqa_qa_format(tmp_path):
    image(tmp_path / "img" / "a.png")
    med_r1 = tmp_path / "CT(Computed Tomography).json"  # Med-R1's split files are named after their modality
    med_r1.write_text(json.dumps([{"image": "img/a.png", "problem": "Which organ? A)Liver, B)Lung",
                                   "solution": "<answer> A </answer>"}]))
    [record] = load_records(read_source(str(med_r1))).records
    assert (record.metadata.modality, record.options, record.answer, record.images) == (
        "CT", {"A": "Liver", "B": "Lung"}, "A", ("img/a.png",))

    qa = tmp_path / "qa.json"
    qa.write_text(json.dumps([{"question_id": "q1", "question": "What modality?", "gt_answer": "MRI",
                               "image_path": "img/a.png", "option_A": "CT", "option_B": "MRI", "option_C": "",
                               "question_type": "Modality Recognition", "modality_type": "MR (Mag-netic Resonance)",
                               "dataset": "Brain Tumor"}]))
    loaded = load_records(read_source(str(qa)))
    [record] = loaded.records
    assert loaded.format == "omnimedvqa-qa" and record.answer == "B" and record.options == {"A": "CT", "B": "MRI"}
    assert (record.metadata.modality, record.metadata.question_type) == ("MRI", "Modality Recognition")

    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([{"image": "img/a.png", "problem": "Which organ? A)Liver, B)Lung",
                                  "solution": "<answer> E </answer>"}]))
    with pytest.raises(DataError, match=r"wrong.json item 0: solution .* names none of the options \['A', 'B'\]"):
        load_records(read_source(str(wrong)))
    skipped = load_records(read_source(str(wrong)), options=LoadOptions(on_bad_item="skip"))
    assert skipped.records == [] and skipped.skipped == {"answer not among the options": 1}

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image": "img/a.png", "problem": "Which organ?", "solution": "<answer> A </answer>"}]))
    with pytest.raises(DataError, match=r"bad.json item 0: cannot find lettered options"):
        load_records(read_source(str(bad)))


def vqa(tmp_path, *overrides):
    return resolve_config(None, ["data.dataset=omnimedvqa", f"data.output_dir={tmp_path / 'data'}", *overrides])


def test_a_mix_of_ones_own_is_vqa_when_the_config_says_so_not_by_its_name(tmp_path):
    from medr1_cli.benchmarks import find_benchmark
    from medr1_cli.evaluate.benchmark_data import vqa_test_file

    own = ["data.sources.scans=builtin:omnimedvqa", "data.mixes.scans={scans: all}", "data.dataset=scans",
           f"data.output_dir={tmp_path / 'data'}"]
    assert not resolve_config(None, own).data.is_vqa  # a mix's kind is not guessed from its data
    config = resolve_config(None, [*own, "data.kind=vqa"])
    result = prepare_data(config, quiet())
    assert result.output_dir == tmp_path / "data" / "scans-modality-ct"
    assert json.loads((result.output_dir / "manifest.json").read_text())["kind"] == "vqa"
    # evaluation finds that mix's test split for the VQA benchmarks, from this config or any other
    assert vqa_test_file(find_benchmark("vqa-mri"), config) == result.output_dir / "test-mri.json"
    assert vqa_test_file(find_benchmark("vqa-mri"), resolve_config(None, own)) == result.output_dir / "test-mri.json"
    with pytest.raises(ConfigError, match=r"data.mixes .*mix 'mix' is vqa \(data.kind\), which has one source"):
        resolve_config(None, ["data.kind=vqa", "data.dataset=mix"])
    # a text mix would drop the images: refused, naming the source and the fix
    with pytest.raises(DataError, match=r"data.sources.scans .* holds questions with images") as caught:
        prepare_data(resolve_config(None, [*own, "data.kind=text"]), quiet())
    assert "data.kind: vqa" in caught.value.hint
    # a second VQA mix in the same folder: a config that names neither cannot tell which test split is meant
    prepare_data(vqa(tmp_path), quiet())
    with pytest.raises(DataError, match=r"test-mri.json of several VQA mixes \(omnimedvqa, scans\)"):
        vqa_test_file(find_benchmark("vqa-mri"), resolve_config(None, [f"data.output_dir={tmp_path / 'data'}"]))
    assert vqa_test_file(find_benchmark("vqa-mri"), vqa(tmp_path)).parent.name == "omnimedvqa-modality-ct"


def test_a_written_config_leaves_the_kind_to_its_mix_and_older_manifests_are_not_stale(tmp_path):
    from medr1_cli.train.grpo import _why_stale

    config = vqa(tmp_path)
    written = tmp_path / "written.yaml"
    written.write_text(config.to_yaml())
    assert config.data.kind is None and config.data.is_vqa  # null in the file: the mix decides
    assert not resolve_config(written, ["data.dataset=demo"]).data.is_vqa
    result = prepare_data(config, quiet())
    manifest = json.loads((result.output_dir / "manifest.json").read_text())
    assert _why_stale(manifest, config) is None
    del manifest["config"]["data"]["kind"]  # as medr1 wrote manifests before data.kind existed
    assert _why_stale(manifest, config) is None
    manifest["config"]["data"]["seed"] = 7
    assert _why_stale(manifest, config) == "prepared with a different data config"


def test_builtin_set_splits_every_modality_and_trains_on_one(tmp_path):
    config = vqa(tmp_path, "data.vqa.train_on=MRI")
    result = prepare_data(config, quiet())
    folder = prepared_folder(config)
    assert folder == tmp_path / "data" / "omnimedvqa-modality-mri" and result.output_dir == folder
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["train_on"] == "MRI" and result.rows == 8
    assert {g: (p["train"], p["test"]) for g, p in manifest["groups"].items()} == {
        g: (8, 2) for g in ["CT", "Dermoscopy", "Fundus Photography", "MRI", "Microscopy", "OCT", "Ultrasound", "X-Ray"]}
    train = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
    assert {row["modality"] for row in train} == {"MRI"} and all(Path(row["image"]).is_file() for row in train)
    tests = {p.name: json.loads(p.read_text()) for p in folder.glob("test-*.json")}
    assert len(tests) == 8 and all(len(rows) == 2 for rows in tests.values())
    test_ids = {row["id"] for rows in tests.values() for row in rows}
    assert not test_ids & set(manifest["training_ids"]) and test_ids == set(manifest["held_out_ids"])
    # A test file is itself Med-R1 data: it loads back with its images and groups.
    back = load_records(read_source(str(folder / "test-ct.json"))).records
    assert {r.metadata.modality for r in back} == {"CT"} and all(Path(r.images[0]).is_file() for r in back)

    from datasets import load_from_disk

    dataset = load_from_disk(str(folder / "dataset"))
    assert len(dataset) == 8 and dataset[0]["image"].size == (64, 64) and dataset[0]["solution"] in "ABCD"

    # Another training group leaves every group's test split as it was: the matrix compares like with like.
    other = vqa(tmp_path, "data.vqa.train_on=CT")
    prepare_data(other, quiet())
    assert (prepared_folder(other) / "test-mri.json").read_text() == (folder / "test-mri.json").read_text()


def test_question_type_split_and_resized_copies(tmp_path):
    config = vqa(tmp_path, "data.vqa.split_by=question-type", "data.vqa.train_on=lesion grading",
                 "data.vqa.image_size=32")
    prepare_data(config, quiet())
    folder = tmp_path / "data" / "omnimedvqa-question-type-lesion-grading"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["train_on"] == "Lesion Grading" and set(manifest["groups"]) == {
        "Anatomy Identification", "Disease Diagnosis", "Lesion Grading", "Modality Recognition",
        "Other Biological Attributes"}
    assert manifest["rows"] == 13 and manifest["groups"]["Lesion Grading"] == {
        "train": 13, "test": 3, "test_file": "test-lesion-grading.json"}
    row = json.loads((folder / "test-lesion-grading.json").read_text())[0]
    assert row["image"].startswith("images/") and Image.open(folder / row["image"]).size == (32, 32)


def test_missing_and_broken_images_are_named_and_nothing_is_written(tmp_path):
    image(tmp_path / "src" / "ok.png")
    (tmp_path / "src" / "broken.png").write_bytes(b"not a png")
    rows = [{"id": "fine", "image": "ok.png", "problem": "Q? A)x, B)y", "solution": "<answer> A </answer>",
             "modality": "CT"},
            {"id": "gone", "image": "nowhere.png", "problem": "Q? A)x, B)y", "solution": "<answer> B </answer>",
             "modality": "CT"},
            {"id": "junk", "image": "broken.png", "problem": "Q? A)x, B)y", "solution": "<answer> B </answer>",
             "modality": "MRI"}]
    (tmp_path / "src" / "vqa.json").write_text(json.dumps(rows))
    config = vqa(tmp_path, f"data.sources.omnimedvqa={tmp_path / 'src' / 'vqa.json'}")
    with pytest.raises(DataError) as caught:
        prepare_data(config, quiet())
    assert "2 of 3 images are unusable" in caught.value.message
    assert f"gone: image not found: {tmp_path / 'src' / 'nowhere.png'}" in caught.value.message
    assert "junk: image cannot be decoded" in caught.value.message
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_unknown_group_and_a_text_source_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="data.vqa.train_on = 'PET'.*not a modality.*allowed: CT, MRI"):
        vqa(tmp_path, "data.vqa.train_on=PET")
    with pytest.raises(DataError, match="format, which has no images"):
        prepare_data(vqa(tmp_path, "data.sources.omnimedvqa=builtin:medqa"), quiet())


def test_cli_prepare_data_flags_for_med_r1(tmp_path):
    result = run_medr1("prepare-data", "--dataset", "omnimedvqa", "--split-by", "question-type",
                       "--train-on", "Modality Recognition", "-o", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert "Modality Recognition ← training set" in result.stdout
    assert (tmp_path / "data" / "omnimedvqa-question-type-modality-recognition" / "test-disease-diagnosis.json").is_file()
