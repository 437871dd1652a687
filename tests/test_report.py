"""`medr1 report`: the headline table from several evaluations, base first, paired differences marked
when significant, and a refusal to put side by side results that were not scored alike."""

from __future__ import annotations

import json

import pytest

from medr1_cli.evaluate.report import build_report, latex, markdown
from medr1_cli.evaluate.run import figures
from medr1_cli.resolution import resolve_config
from tests.conftest import run_medr1


def results_file(folder, model, correct_by_benchmark, *overrides, ids=None):
    """A results.json as `medr1 evaluate` writes it, from per-item right / wrong lists."""
    config = resolve_config("tiny", list(overrides))
    benchmarks = {}
    for name, correct in correct_by_benchmark.items():
        items = [{"id": (ids or {}).get(name, f"{name}-")+str(i), "correct": c, "options": 4} for i, c in enumerate(correct)]
        benchmarks[name] = {"title": name.upper(), **figures(correct, [4] * len(correct)), "protocol": [],
                            "items": items}
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"model": model, "benchmarks": benchmarks, "settings_fingerprint": "s",
                                                     "config": config.model_dump(mode="json")}))
    return folder


def test_the_table_puts_the_base_first_and_marks_significant_differences(tmp_path):
    base = results_file(tmp_path / "base", "base-model", {"medqa": [True] * 10 + [False] * 30,
                                                          "pubmedqa": [True, False] * 10})
    trained = results_file(tmp_path / "trained", "runs/x", {"medqa": [True] * 30 + [False] * 10,
                                                            "pubmedqa": [False, True] * 10})
    report = build_report([base, trained])
    first, second = report["rows"]
    assert (first["model"], first["base"], second["base"]) == ("base-model", True, False)
    medqa = second["cells"]["medqa"]["vs_base"]
    assert medqa["difference"] == pytest.approx(0.5) and medqa["mcnemar_p"] < 0.05  # 20 discordant, all for B
    assert second["cells"]["pubmedqa"]["vs_base"]["mcnemar_p"] > 0.05  # 10 each way: no change
    assert second["average"] == pytest.approx((0.75 + 0.5) / 2)
    assert second["average_difference"] == pytest.approx((0.5 + 0.0) / 2)
    text = markdown(report)
    assert "| base-model (base) |" in text and "+50.0*" in text and "+0.0 |" in text
    assert "+0.0*" not in text
    tex = latex(report)
    assert tex.startswith(r"\begin{tabular}{lrrr}") and "$^*$" in tex and r"\bottomrule" in tex

    result = run_medr1("report", str(base), str(trained), "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.json", "report.md", "report.png",
                                                                     "report.tex"]
    assert (tmp_path / "out" / "report.md").read_text() == text
    assert (tmp_path / "out" / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_scored_unlike_are_refused_saying_what_differs(tmp_path):
    base = results_file(tmp_path / "base", "base-model", {"medqa": [True, False] * 5})
    other_items = results_file(tmp_path / "other", "runs/x", {"medqa": [True] * 10}, ids={"medqa": "q-"})
    hotter = results_file(tmp_path / "hot", "runs/y", {"medqa": [True] * 10}, "eval.temperature=0.7")
    result = run_medr1("report", str(base), str(other_items), str(hotter), "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and not (tmp_path / "out").exists()
    message = " ".join(result.stderr.split())
    assert f"medqa: {other_items} scored 10 items and {base} 10, 0 in common" in message
    assert f"eval.temperature: 0.7 in {hotter}, 0.0 in {base}" in message


def test_a_benchmark_the_base_did_not_score_is_shown_without_a_difference(tmp_path):
    base = results_file(tmp_path / "base", "base-model", {"medqa": [True, False] * 5})
    wider = results_file(tmp_path / "wider", "runs/x", {"medqa": [True] * 10, "pubmedqa": [True, False] * 5})
    report = build_report([base, wider])
    row = report["rows"][1]
    assert row["cells"]["pubmedqa"]["vs_base"] is None and row["average_difference"] is None
    assert report["rows"][0]["average"] is None  # the base has no figure for every column
    # 5 discordant items, all for B: McNemar p = 0.0625, so no star
    assert "| runs/x | 100.0 (72.2–100.0) +50.0 | 50.0 (23.7–76.3) | 75.0 |" in markdown(report)


def test_results_without_a_recorded_config_are_called_unknown_not_different(tmp_path):
    base = results_file(tmp_path / "base", "base-model", {"medqa": [True, False] * 5})
    old = results_file(tmp_path / "old", "runs/x", {"medqa": [True] * 10})
    data = json.loads((old / "results.json").read_text())
    del data["config"]
    (old / "results.json").write_text(json.dumps(data))
    from medr1_cli.errors import DataError

    with pytest.raises(DataError, match="are unknown \\(no config recorded\\)"):
        build_report([base, old])
