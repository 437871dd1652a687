"""`medr1 grade` and pass-rate filtering (issue #17): a grading file measured with the evaluation
engine, resumable, and prepare-data keeping the candidates within a pass-rate band."""

from __future__ import annotations

import json

import pytest

from medr1_cli.errors import DataError
from medr1_cli.resolution import resolve_config


def tiny(tmp_path, *overrides):
    return resolve_config("tiny", [f"data.output_dir={tmp_path / 'data'}", f"eval.output_dir={tmp_path / 'eval'}",
                                   *overrides])


def test_grade_writes_a_grading_file_and_a_rerun_generates_nothing(tmp_path, monkeypatch):
    from medr1_cli.data.curriculum import HEADER_KEY
    from medr1_cli.evaluate import run
    from medr1_cli.grade import run_grade

    output = tmp_path / "grades.jsonl"
    result = run_grade(tiny(tmp_path), k=2, limit=3, output=output)
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    header, rows = lines[0][HEADER_KEY], lines[1:]
    assert (header["k"], header["template"], header["model"], header["temperature"]) == (2, "r1", "builtin:tiny", 1.0)
    assert header["max_new_tokens"] == 16  # train.grpo.max_completion_length: asked as training asks
    assert len(rows) == 6 and {r["source"] for r in rows} == {"demo-medqa", "demo-medxpertqa"}
    assert all(r["k"] == 2 and r["pass_rate"] in (0.0, 0.5, 1.0) and 0 <= r["truncated"] <= 1 for r in rows)
    assert set(result["per_source"]) == {"demo-medqa", "demo-medxpertqa"}

    generated = []
    real = run.generate_missing

    def counting(missing, *args, **kwargs):
        generated.append(sum(len(m) for m in missing.values()))
        return real(missing, *args, **kwargs)

    monkeypatch.setattr(run, "generate_missing", counting)
    run_grade(tiny(tmp_path), k=2, limit=3, output=output)
    assert generated == [0]  # every completion came from the store


def test_grade_refuses_a_single_sample_and_greedy_sampling(tmp_path):
    from medr1_cli.errors import ConfigError
    from medr1_cli.grade import run_grade

    with pytest.raises(ConfigError, match="at least 2 samples"):
        run_grade(tiny(tmp_path), k=1)
    with pytest.raises(ConfigError, match="temperature is 0"):
        run_grade(tiny(tmp_path, "train.grpo.temperature=0"), k=4)


def test_an_output_that_is_a_folder_or_not_jsonl_is_refused_before_any_generation(tmp_path):
    from tests.conftest import run_medr1

    (tmp_path / "grades.jsonl").mkdir()
    for output, words, suggested in ((tmp_path / "grades.jsonl", "is a folder", tmp_path / "grades.jsonl" / "grading.jsonl"),
                                     (tmp_path / "grades", "does not end in .jsonl", tmp_path / "grades.jsonl")):
        result = run_medr1("grade", "-c", "tiny", "--set", f"data.output_dir={tmp_path / 'data'}", "--output", str(output))
        assert result.returncode == 2, result.stderr
        message = " ".join((result.stdout + result.stderr).split())
        assert f"--output {output}: {words}" in message and "Traceback" not in message
        assert f"e.g. {suggested}" in message  # the hint shows a path that would do
    assert not (tmp_path / "grades").exists()  # no completion store was started


def test_the_histogram_counts_zero_advantage_items():
    from medr1_cli.grade import histogram

    rows = [{"source": "s", "pass_rate": rate} for rate in (0.0, 0.0, 0.25, 0.5, 1.0)]
    summary = histogram(rows)["s"]
    assert summary["zero_advantage"] == pytest.approx(3 / 5)
    assert summary["bins"]["0"] == 2 and summary["bins"]["1"] == 1 and summary["bins"]["(0, .25]"] == 1


# ------------------------------------------------------------------------ prepare-data with a band
def grading_file(tmp_path, rates: dict[str, float], header: dict | None = None):
    path = tmp_path / "grades.jsonl"
    lines = [json.dumps({"medr1_grading": header})] if header else []
    lines += [json.dumps({"id": item, "pass_rate": rate}) for item, rate in rates.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def demo_candidates(tmp_path) -> dict[str, list[str]]:
    from medr1_cli.grade import candidates

    return {source: [r.id for r in records] for source, records in candidates(tiny(tmp_path), None).items()}


def test_the_band_keeps_learnable_items_and_the_manifest_counts_them(tmp_path):
    from medr1_cli.data.prepare import prepare_data

    pools = demo_candidates(tmp_path)
    medqa = pools["demo-medqa"]
    # every other MedQA candidate is always solved; the rest are learnable
    rates = {item: (1.0 if index % 2 else 0.5) for index, item in enumerate(medqa)}
    path = grading_file(tmp_path, rates, {"template": "r1", "model": "builtin:tiny"})
    config = tiny(tmp_path, f"data.grading_file={path}", "data.pass_rate_band=[0.1, 0.9]",
                  "data.mixes.demo={demo-medqa: 20, demo-medxpertqa: 8}")
    manifest = prepare_data(config).manifest
    chosen = manifest["sources"]["demo-medqa"]["chosen"]
    assert len(chosen) == 20 and all(rates[item] == 0.5 for item in chosen)
    assert manifest["sources"]["demo-medqa"]["pass_rates"] == {"below": 0, "within": len(medqa) - len(medqa) // 2,
                                                                "above": len(medqa) // 2, "ungraded": 0}
    assert manifest["sources"]["demo-medxpertqa"]["pass_rates"]["ungraded"] == len(pools["demo-medxpertqa"])
    assert manifest["difficulty"]["pass_rate_band"] == [0.1, 0.9]
    assert set(manifest["difficulty"]["graded_ids"]) == set(chosen)
    assert any("grades 48 of the mix's" in w or "of the mix's" in w for w in manifest["warnings"])


def test_a_mix_the_band_cannot_fill_is_an_error_with_the_counts(tmp_path):
    from medr1_cli.data.prepare import prepare_data

    medqa = demo_candidates(tmp_path)["demo-medqa"]
    path = grading_file(tmp_path, {item: 1.0 for item in medqa[:40]})
    config = tiny(tmp_path, f"data.grading_file={path}", "data.pass_rate_band=[0.1, 0.9]",
                  "data.mixes.demo={demo-medqa: 20, demo-medxpertqa: 8}")
    with pytest.raises(DataError, match="pass rates outside data.pass_rate_band") as caught:
        prepare_data(config)
    assert "candidates are usable" in caught.value.message and "widen data.pass_rate_band" in caught.value.hint


@pytest.mark.parametrize("content, words", [
    ('{"id": "a", "pass_rate": 0.5}\n{"id": "a", "pass_rate": 0.25}\n', "id a is graded twice"),
    ('{"id": "a", "pass_rate": 2}\n{"id": "b"}\n', "2 defective row"),
])
def test_defective_grading_files_are_reported_row_by_row(tmp_path, content, words):
    from medr1_cli.data.curriculum import read_grading_file

    path = tmp_path / "g.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=words):
        read_grading_file(path)


def test_a_grading_file_of_other_items_or_another_template(tmp_path):
    from medr1_cli.data.prepare import prepare_data

    other = grading_file(tmp_path, {"medqa-0000": 0.5})
    with pytest.raises(DataError, match="none of its 1 ids"):
        prepare_data(tiny(tmp_path, f"data.grading_file={other}"))
    medqa = demo_candidates(tmp_path)["demo-medqa"]
    path = grading_file(tmp_path, dict.fromkeys(medqa, 0.5), {"template": "no-think", "model": "builtin:tiny"})
    manifest = prepare_data(tiny(tmp_path, f"data.grading_file={path}")).manifest
    assert any("graded with template no-think" in w for w in manifest["warnings"])


def test_a_band_without_a_grading_file_or_out_of_range_is_a_config_error():
    from medr1_cli.errors import ConfigError

    with pytest.raises(ConfigError, match="set data.grading_file too"):
        resolve_config("tiny", ["data.pass_rate_band=[0.1, 0.9]"])
    with pytest.raises(ConfigError, match="0 ≤ low ≤ high ≤ 1"):
        resolve_config("tiny", ["data.pass_rate_band=[0.9, 0.1]", "data.grading_file=x"])
