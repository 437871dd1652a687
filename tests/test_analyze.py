"""`medr1 analyze`: plots and figures of a real tiny training run and real evaluations, every number
checked against a hand computation on the same data; phrase counting, resumes and errors on
hand-written completions."""

from __future__ import annotations

import json
import shutil
import statistics
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from PIL import Image
from rich.console import Console

from medr1_cli.analyze.inputs import read_completions, sort_inputs
from medr1_cli.analyze.plots import heatmap_size
from medr1_cli.analyze.reflection import DEFAULT_PHRASES, matcher
from medr1_cli.analyze.run import default_output, run_analysis, shown_steps
from medr1_cli.errors import DataError
from medr1_cli.layout import LINEAGE_NAME
from medr1_cli.resolution import resolve_config
from tests.conftest import heavy_modules_imported_by, run_medr1

TRAINING_PLOTS = {"rewards.png", "length.png", "reward_vs_length.png", "format.png", "groups.png", "reflection.png"}


def recording() -> Console:
    return Console(record=True, width=220, highlight=False)


def shown(console: Console) -> str:
    return console.export_text(clear=False)


def png_size(path: Path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        return image.size


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------------------ real outputs
@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A real 3-step GRPO run of the tiny model, with three weighted rewards."""
    from medr1_cli.train.command import run_train

    base = tmp_path_factory.mktemp("analyze-train")
    config = resolve_config("tiny", [
        f"train.output_dir={base / 'run'}", f"data.output_dir={base / 'data'}", "train.grpo.max_steps=3",
        "train.rewards={accuracy: 1.0, format: 1.0, repetition: 0.5}",
        "train.reward_options={repetition: {ngram_size: 1}}",
    ])
    run_train(config, console=Console(quiet=True))
    return base / "run"


@pytest.fixture(scope="module")
def evaluated(trained, tmp_path_factory) -> tuple[Path, Path]:
    """Real evaluations of the untrained and the trained tiny model on built-in MedQA and MedXpertQA."""
    from medr1_cli.evaluate.run import run_evaluation

    base = tmp_path_factory.mktemp("analyze-eval")
    common = ["eval.benchmarks=[medqa, medxpertqa]", "eval.data={medqa: builtin:medqa, medxpertqa: builtin:medxpertqa}",
              "eval.limit=6", "eval.max_new_tokens=4", "eval.batch_size=6", f"data.output_dir={base / 'data'}"]
    # the base on the trained model's items: those it trained on are left out of both (its lineage)
    run_evaluation(resolve_config("tiny", [*common, f"eval.output_dir={base / 'base'}",
                                           f"eval.exclude_manifest={trained / LINEAGE_NAME}"]), Console(quiet=True))
    run_evaluation(resolve_config("tiny", [*common, f"eval.output_dir={base / 'trained'}",
                                           f"model.name_or_path={trained}"]), Console(quiet=True))
    return base / "base", base / "trained"


def hand_per_step(run: Path) -> dict[int, dict]:
    """The per-step figures computed here from rollouts.jsonl and the run's config, by hand."""
    config = yaml.safe_load((run / "medr1_config.yaml").read_text())
    weights, limit = config["train"]["rewards"], config["train"]["grpo"]["max_completion_length"]
    steps = defaultdict(list)
    for row in rows_of(run / "rollouts.jsonl"):
        steps[row["step"] + 1].append(row)  # recorded before optimizer step s + 1
    figures = {}
    for step, rows in steps.items():
        totals = [sum(weights[k] * v for k, v in r["rewards"].items()) for r in rows]
        figures[step] = {
            "completions": len(rows),
            "reward": sum(totals) / len(rows),
            "rewards": {k: sum(r["rewards"][k] for r in rows) / len(rows) for k in weights},
            "mean_length": sum(r["tokens"] for r in rows) / len(rows),
            "format_compliance": sum(r["rewards"]["format"] > 0 for r in rows) / len(rows),
            "truncated": sum(r["tokens"] >= limit for r in rows) / len(rows),
        }
    return figures


@pytest.mark.slow
def test_real_training_run_plots_and_figures_match_hand_computation(trained, tmp_path):
    console = recording()
    summary = run_analysis(trained, [], tmp_path / "out", None, console)
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert written == TRAINING_PLOTS | {"summary.json"}
    for name in TRAINING_PLOTS:
        assert png_size(tmp_path / "out" / name) == (1000, 600)
    assert {p["file"]: (p["width"], p["height"]) for p in summary["plots"].values()} == {
        name: (1000, 600) for name in TRAINING_PLOTS}
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == json.loads(json.dumps(summary))

    hand = hand_per_step(trained)
    per_step = summary["training"]["per_step"]
    assert [p["step"] for p in per_step] == [1, 2, 3] == sorted(hand)
    for p in per_step:
        expected = hand[p["step"]]
        assert p["completions"] == expected["completions"] == 4
        for key in ("reward", "mean_length", "format_compliance", "truncated"):
            assert p[key] == pytest.approx(expected[key]), key
        assert p["rewards"] == pytest.approx(expected["rewards"])

    # TRL logged the same step numbers and the same means for the same completions.
    logged = {e["step"]: e for e in json.loads((trained / "trainer_state.json").read_text())["log_history"] if "reward" in e}
    for p in per_step:
        assert p["reward"] == pytest.approx(logged[p["step"]]["reward"], abs=1e-6)
        assert p["mean_length"] == pytest.approx(logged[p["step"]]["completions/mean_length"])
        assert p["rewards"]["repetition"] == pytest.approx(logged[p["step"]]["rewards/repetition/mean"], abs=1e-6)

    rows = rows_of(trained / "rollouts.jsonl")
    weights = {"accuracy": 1.0, "format": 1.0, "repetition": 0.5}
    lengths = [float(r["tokens"]) for r in rows]
    totals = [sum(weights[k] * v for k, v in r["rewards"].items()) for r in rows]
    rl = summary["training"]["reward_vs_length"]
    assert rl["n"] == len(rows) == 12
    if len(set(lengths)) > 1 and len(set(totals)) > 1:
        assert rl["pearson_r"] == pytest.approx(statistics.correlation(lengths, totals))
    else:  # a random tiny model often writes 16 tokens every time: r is undefined, and said so
        assert rl["pearson_r"] is None
        assert "Pearson r undefined over 12 completions" in shown(console)

    overall = summary["training"]["overall"]
    assert overall["reward"] == pytest.approx(sum(totals) / len(totals))
    text = shown(console)
    all_row = next(line for line in text.splitlines() if line.strip("│ ").startswith("all"))
    assert f"{overall['reward']:.3f}" in all_row and f"{overall['mean_length']:.1f}" in all_row
    assert f"{100 * overall['truncated']:.1f} %" in all_row
    assert "reward = accuracy × 1, format × 1, repetition × 0.5; completion limit 16 tokens" in text


@pytest.mark.slow
def test_real_evaluations_compared_with_intervals_and_subset_heatmap(evaluated, tmp_path):
    base, trained = evaluated
    console = recording()
    summary = run_analysis(None, [base, trained / "results.json"], tmp_path / "cmp", None, console)
    assert {p.name for p in (tmp_path / "cmp").iterdir()} == {"accuracy.png", "subsets.png", "summary.json"}
    saved = [json.loads((folder / "results.json").read_text()) for folder in evaluated]
    assert summary["results"]["models"][0] == "builtin:tiny"
    assert summary["results"]["models"][1] == str(saved[1]["model"])
    for name in ("medqa", "medxpertqa"):
        for label, results in zip(summary["results"]["models"], saved):
            cell = summary["results"]["benchmarks"][name]["by_model"][label]
            bench = results["benchmarks"][name]
            assert cell["n"] == bench["n"] == 6
            assert cell["accuracy"] == sum(i["correct"] for i in bench["items"]) / 6
            assert cell["wilson_95"] == bench["wilson_95"]
    # One heatmap row per (benchmark, breakdown key, value) seen in either run, counted here by hand.
    subsets = {(name, key, value) for r in saved for name, b in r["benchmarks"].items()
               for key, groups in b["breakdown"].items() for value in groups}
    assert len(summary["results"]["subsets"]) == len(subsets)
    for row in summary["results"]["subsets"]:
        for label, results in zip(summary["results"]["models"], saved):
            items = [i for i in results["benchmarks"][row["benchmark"]]["items"]
                     if str(i["metadata"][row["key"]]) == row["value"]]
            assert row["cells"][label]["n"] == len(items)
            assert row["cells"][label]["accuracy"] == pytest.approx(sum(i["correct"] for i in items) / len(items))
    assert png_size(tmp_path / "cmp" / "accuracy.png") == (1000, 600)
    assert png_size(tmp_path / "cmp" / "subsets.png") == heatmap_size(len(subsets), 2) == (800, 160 + 28 * len(subsets))
    text = shown(console)
    medqa = saved[0]["benchmarks"]["medqa"]
    assert (f"{100 * medqa['accuracy']:.1f} % ({100 * medqa['wilson_95'][0]:.1f}–{100 * medqa['wilson_95'][1]:.1f}, n=6)"
            in text)
    assert "MedXpertQA · body_system:" in text


# ------------------------------------------------------------------------ hand-written runs
HAND_ROWS = [
    # step 0: two completions
    {"step": 0, "id": "q1", "completion": "<think>Wait, let me re-check. Actually fine.</think><answer>A</answer>",
     "tokens": 10, "rewards": {"accuracy": 1.0, "format": 1.0}},
    {"step": 0, "id": "q1", "completion": "I think B. HMM.", "tokens": 4, "rewards": {"accuracy": 0.0, "format": 0.0}},
    # step 1: three; the last has no solution (accuracy None)
    {"step": 1, "id": "q2", "completion": "<think>Double check: re-examine the labs.</think><answer>C</answer>",
     "tokens": 8, "rewards": {"accuracy": 1.0, "format": 1.0}},
    {"step": 1, "id": "q2", "completion": "The answer is D", "tokens": 10, "rewards": {"accuracy": 0.0, "format": 0.0}},
    {"step": 1, "id": "q3", "completion": "awaiting results; verifying nothing", "tokens": 6,
     "rewards": {"accuracy": None, "format": 0.0}},
]


def hand_run(folder: Path, rows=HAND_ROWS, name="rollouts.jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    resolve_config("tiny", ["train.rewards={accuracy: 1.0, format: 0.5}",
                            "train.grpo.max_completion_length=10"]).write_beside(folder)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_hand_written_run_every_figure_by_hand(tmp_path):
    console = recording()
    summary = run_analysis(hand_run(tmp_path / "run"), [], None, None, console)
    assert summary["output_dir"] == str(tmp_path / "run" / "analysis")
    t = summary["training"]
    one, two = t["per_step"]
    # step 1 (recorded at 0): totals 1 + 0.5·1 = 1.5 and 0
    assert one == {"step": 1, "completions": 2, "reward": 0.75, "rewards": {"accuracy": 0.5, "format": 0.5},
                   "mean_length": 7.0, "format_compliance": 0.5, "truncated": 0.5, "reflective": 1.0,
                   "phrases_per_completion": 2.0, "zero_variance": 0.0, "all_correct": 0.0,
                   "all_wrong": 0.0}  # 3 phrases + 1; q1's totals differ
    # step 2: totals 1.5, 0, 0 (the third has only format = 0 applied); accuracy over the two judged
    assert two["reward"] == pytest.approx(0.5) and two["rewards"]["accuracy"] == 0.5
    assert two["rewards"]["format"] == pytest.approx(1 / 3) and two["format_compliance"] == pytest.approx(1 / 3)
    assert two["mean_length"] == 8.0 and two["truncated"] == pytest.approx(1 / 3)
    assert two["reflective"] == pytest.approx(1 / 3) and two["phrases_per_completion"] == pytest.approx(2 / 3)
    assert t["reward_vs_length"]["pearson_r"] == pytest.approx(
        statistics.correlation([10, 4, 8, 10, 6], [1.5, 0, 1.5, 0, 0]))
    assert t["reward_vs_length"]["slope_per_token"] == pytest.approx(
        statistics.linear_regression([10, 4, 8, 10, 6], [1.5, 0, 1.5, 0, 0]).slope)
    r = t["reflection"]
    # "awaiting" is not "wait" and "verifying" is not "verify": whole words only.
    assert r["occurrences"] == {"wait": 1, "hmm": 1, "actually": 1, "let me re-check": 1, "double-check": 1,
                                "re-examine": 1}
    assert (r["with_phrase"], r["completions"]) == (3, 5)
    assert (r["accuracy_with_phrase"], r["n_with_phrase"]) == (pytest.approx(2 / 3), 3)
    assert (r["accuracy_without_phrase"], r["n_without_phrase"]) == (0.0, 1)
    assert r["count_accuracy_r"] == pytest.approx(statistics.correlation([3, 1, 2, 0], [1, 0, 1, 0]))

    text = shown(console)
    # step 1's row holds the figures computed by hand above, whatever the table's padding
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in text.splitlines() if line.startswith("│")]
    assert ["1", "2", "0.750", "0.500", "0.500", "7.0", "50.0 %", "50.0 %", "100.0 %", "0.0 %", "0.0 %", "0.0 %"] in rows
    assert "3 of 5 completions (60.0 %) contain a reflective phrase; accuracy with one: 66.7 % (n=3), without: 0.0 % (n=1)" in text
    assert "— step 1, q1, correct, 3 phrase(s):" in text  # the completion with the most phrases comes first
    assert "format ok = the logged 'format' reward > 0; truncated = used all 10 tokens" in text
    html = console.export_html()
    assert html.count("background-color: #ffff00") or html.count("background-color: #808000")  # highlighted


def test_groups_whose_completions_all_earn_the_same_reward_are_counted(tmp_path):
    def row(step, item, accuracy):
        return {"step": step, "id": item, "completion": "x", "tokens": 3, "rewards": {"accuracy": accuracy, "format": 0.0}}
    rows = [row(0, "q1", 1.0), row(0, "q1", 1.0),  # all right: nothing to learn
            row(0, "q2", 0.0), row(0, "q2", 1.0),  # a signal
            row(1, "q1", 0.0), row(1, "q1", 0.0), row(1, "q1", 0.0),  # all wrong: nothing either
            row(1, "q3", 1.0)]  # a lone completion is no group
    summary = run_analysis(hand_run(tmp_path / "run", rows), [], None, None, recording())
    per_step = summary["training"]["per_step"]
    assert [p["zero_variance"] for p in per_step] == [0.5, 1.0]
    assert summary["training"]["overall"]["zero_variance"] == pytest.approx(2 / 3)
    # too easy and too hard, told apart (#17): q1 at step 1 all right, q1 at step 2 all wrong
    assert [(p["all_correct"], p["all_wrong"]) for p in per_step] == [(0.5, 0.0), (0.0, 1.0)]
    assert (summary["training"]["overall"]["all_correct"], summary["training"]["overall"]["all_wrong"]) == \
        (pytest.approx(1 / 3), pytest.approx(1 / 3))
    groups = summary["plots"]["groups"]
    assert (tmp_path / "run" / "analysis" / groups["file"]).is_file() and "all correct" in groups["shows"]



def grouped_rows(per_step: list[list[list[float]]]) -> list[dict]:
    """Completions whose accuracy values are given per step, per group (one prompt's completions)."""
    return [{"step": step, "id": f"q{step}-{g}", "completion": "x", "tokens": 3, "rewards": {"accuracy": value}}
            for step, groups in enumerate(per_step) for g, values in enumerate(groups) for value in values]


def test_reward_trend_first_third_against_last_third(tmp_path):
    # 7 steps, thirds of 2: steps 1–2 earn 1 in 1 of 4 completions, steps 6–7 in 3 of 4; the middle is ignored.
    low, high = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]], [[1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 1.0]]
    steps = [low, low, [[1.0] * 4] * 2, [[1.0] * 4] * 2, [[0.0] * 4] * 2, high, high]
    console = recording()
    summary = run_analysis(hand_run(tmp_path / "run", grouped_rows(steps)), [], None, None, console)
    trend = summary["training"]["trend"]
    assert trend["steps_per_third"] == 2 and trend["first_steps"] == [1, 2] and trend["last_steps"] == [6, 7]
    assert (trend["first_mean"], trend["last_mean"], trend["difference"]) == (0.25, 0.75, 0.5)
    # every group of a third has the same mean, so no resample can differ: the interval is the point
    assert trend["difference_ci95"] == [pytest.approx(0.5), pytest.approx(0.5)]
    assert trend["rises"] and not trend["falls"] and trend["units"] == [4, 4]
    assert trend["zero_variance_first_third"] == 0.0 == trend["zero_variance_last_third"]
    assert json.loads((tmp_path / "run" / "analysis" / "summary.json").read_text())["training"]["trend"] == trend
    text = shown(console)
    assert ("reward trend: first third (steps 1–2) 0.250 → last third (steps 6–7) 0.750: difference +0.500, "
            "95 % bootstrap interval +0.500 to +0.500 (4 and 4 groups resampled): rises; zero-var groups 0.0 % → 0.0 %"
            ) in text


def test_reward_trend_interval_matches_the_normal_approximation(tmp_path):
    import random

    rng = random.Random(1)
    # 30 steps of 4 groups × 4 completions; success rate 0.3 in the first third, 0.5 in the last
    rate = [0.3] * 10 + [0.4] * 10 + [0.5] * 10
    steps = [[[float(rng.random() < p) for _ in range(4)] for _ in range(4)] for p in rate]
    summary = run_analysis(hand_run(tmp_path / "run", grouped_rows(steps)), [], None, None, recording())
    trend = summary["training"]["trend"]
    first = [statistics.mean(g) for s in steps[:10] for g in s]
    last = [statistics.mean(g) for s in steps[-10:] for g in s]
    assert trend["difference"] == pytest.approx(statistics.mean(last) - statistics.mean(first))
    se = (statistics.variance(first) / 40 + statistics.variance(last) / 40) ** 0.5
    low, high = trend["difference_ci95"]
    assert low < trend["difference"] < high
    assert high - low == pytest.approx(2 * 1.96 * se, rel=0.15)  # bootstrap ≈ normal interval at n = 40 groups
    assert (low + high) / 2 == pytest.approx(trend["difference"], abs=0.25 * se)
    again = run_analysis(tmp_path / "run", [], tmp_path / "again", None, recording())["training"]["trend"]
    assert again == trend  # a fixed seed: the same run gives the same interval


def test_reward_trend_of_a_flat_run_holds_zero_and_zero_variance_is_averaged(tmp_path):
    same = [[[1.0, 0.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, 1.0]]]  # groups 0.5, 1, 0, 0.5
    steps = [*same, *same, *same]
    summary = run_analysis(hand_run(tmp_path / "run", grouped_rows(steps)), [], None, None, recording())
    trend = summary["training"]["trend"]
    assert trend["difference"] == 0.0 and trend["difference_ci95"][0] < 0 < trend["difference_ci95"][1]
    assert not trend["rises"] and not trend["falls"]
    assert [p["zero_variance"] for p in summary["training"]["per_step"]] == [0.5, 0.5] * 3
    assert trend["zero_variance_first_third"] == 0.5 == trend["zero_variance_last_third"]
    # fewer than 3 steps: no thirds to compare
    short = run_analysis(hand_run(tmp_path / "short", grouped_rows(same)), [], None, None, console := recording())
    assert short["training"]["trend"] is None
    assert "reward trend: needs at least 3 steps with rewards (2 here)" in shown(console)


def test_reward_trend_from_the_trainer_log_alone(tmp_path):
    run = tmp_path / "old-run"
    run.mkdir()
    log = [{"step": i + 1, "reward": r, "frac_reward_zero_std": z}
           for i, (r, z) in enumerate([(0.1, 0.5), (0.3, 0.5), (0.2, 0.0), (0.4, 0.0), (0.9, 0.0), (0.7, 0.25)])]
    (run / "trainer_state.json").write_text(json.dumps({"global_step": 6, "log_history": log}))
    trend = run_analysis(run, [], None, None, recording())["training"]["trend"]
    assert (trend["first_mean"], trend["last_mean"]) == (pytest.approx(0.2), pytest.approx(0.8))
    assert trend["unit"].startswith("step") and trend["units"] == [2, 2]
    assert trend["zero_variance_first_third"] == 0.5 and trend["zero_variance_last_third"] == 0.125
    # two steps a side: the resampled means are 0.1, 0.2 or 0.3 and 0.7, 0.8 or 0.9
    assert 0.4 - 1e-9 <= trend["difference_ci95"][0] and trend["difference_ci95"][1] <= 0.8 + 1e-9 and trend["rises"]


def test_custom_phrases_replace_the_default_list(tmp_path):
    summary = run_analysis(hand_run(tmp_path / "run"), [], tmp_path / "out", ["labs", "the answer is"], recording())
    r = summary["training"]["reflection"]
    assert r["phrases"] == ["labs", "the answer is"]
    assert r["occurrences"] == {"labs": 1, "the answer is": 1} and r["with_phrase"] == 2


def test_format_is_computed_when_the_run_has_no_format_reward(tmp_path):
    rows = [{**row, "rewards": {"accuracy": row["rewards"]["accuracy"]}} for row in HAND_ROWS]
    summary = run_analysis(hand_run(tmp_path / "run", rows), [], None, None, recording())
    t = summary["training"]
    assert t["format_source"].startswith("medr1's strict format check (<think>…</think>")
    # the strict format: completions 1 and 3 are exactly <think>…</think><answer>…</answer>
    assert [p["format_compliance"] for p in t["per_step"]] == [0.5, pytest.approx(1 / 3)]


def test_phrase_matching_rules():
    m = matcher(None)
    assert m.phrases == DEFAULT_PHRASES
    text = "Wait... WAIT. Let me  re check this; doublecheck; re-evaluate; awaited; Hmm, actually no. On second\nthought"
    assert m.counts(text) == {"wait": 2, "let me re-check": 1, "double-check": 1, "re-evaluate": 1, "hmm": 1,
                              "actually": 1, "on second thought": 1}
    assert matcher(["let me verify", "verify"]).counts("Let me verify. verify") == {"let me verify": 1, "verify": 1}
    assert matcher(["that's not right"]).counts("that's not right.") == {"that's not right": 1}
    with pytest.raises(DataError, match="every phrase given is empty"):
        run_analysis(None, [Path("x")], None, ["  "], recording())


def test_resumed_run_keeps_the_resumed_trajectory(tmp_path):
    steps = [0, 0, 1, 1, 2, 1, 1, 2, 3]  # killed after step 2's completions, resumed from checkpoint-1
    rows = [{"step": s, "completion": f"c{i}", "tokens": 1, "rewards": {"accuracy": float(i > 4)}} for i, s in enumerate(steps)]
    run = hand_run(tmp_path / "run", rows)
    kept, dropped = read_completions(run / "rollouts.jsonl")
    assert [r.completion for r in kept] == ["c0", "c1", "c5", "c6", "c7", "c8"] and dropped == 3
    summary = run_analysis(run, [], None, None, recording())
    assert [p["rewards"]["accuracy"] for p in summary["training"]["per_step"]] == [0.0, 1.0, 1.0, 1.0]
    assert summary["training"]["superseded_completions"] == 3


def test_every_rank_file_is_read(tmp_path):
    run = hand_run(tmp_path / "run", HAND_ROWS[:2], name="rollouts-rank0.jsonl")
    (run / "rollouts-rank1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in HAND_ROWS[2:]))
    summary = run_analysis(run, [], None, None, recording())
    assert summary["training"]["overall"]["completions"] == 5
    assert len(summary["sources"]["completions"]) == 2


@pytest.mark.slow
def test_run_with_only_a_trainer_log(trained, tmp_path):
    run = tmp_path / "old-run"
    run.mkdir()
    shutil.copy(trained / "trainer_state.json", run)
    logged = [e for e in json.loads((run / "trainer_state.json").read_text())["log_history"] if "reward" in e]
    summary = run_analysis(run, [], None, None, recording())
    per_step = summary["training"]["per_step"]
    assert [p["step"] for p in per_step] == [e["step"] for e in logged]
    assert [p["reward"] for p in per_step] == [e["reward"] for e in logged]
    assert [p["truncated"] for p in per_step] == [e["completions/clipped_ratio"] for e in logged]
    assert [p["format_compliance"] for p in per_step] == [e["rewards/format/mean"] for e in logged]
    assert {p["file"] for p in summary["plots"].values()} == {"rewards.png", "length.png", "format.png"}
    assert summary["training"]["reflection"] is None


def test_reward_length_correlation_is_undefined_for_constant_lengths():
    from medr1_cli.analyze.training import pearson

    assert pearson([16.0, 16.0, 16.0], [0.0, 1.0, 2.0]) is None  # what a random tiny model's run often gives
    assert pearson([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]) is None
    assert pearson([1.0], [2.0]) is None
    assert pearson([1.0, 2.0, 4.0], [1.0, 3.0, 2.0]) == pytest.approx(statistics.correlation([1, 2, 4], [1, 3, 2]))


def test_shown_steps_spread_evenly():
    assert shown_steps(5) == [0, 1, 2, 3, 4]
    assert shown_steps(100, 12)[0] == 0 and shown_steps(100, 12)[-1] == 99 and len(shown_steps(100, 12)) == 12


# -------------------------------------------------------------------------------------- errors
def test_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as caught:
        sort_inputs([tmp_path / "empty"], [])
    assert "neither a training run nor evaluation results" in caught.value.message
    assert "trainer_state.json" in caught.value.message and "rollouts.jsonl" in caught.value.message
    with pytest.raises(DataError, match="no such file or folder"):
        sort_inputs([tmp_path / "missing"], [])
    with pytest.raises(DataError, match="nothing to analyze"):
        run_analysis(None, [], None, None, recording())


def test_empty_and_malformed_completions(tmp_path):
    empty = hand_run(tmp_path / "empty", [])
    with pytest.raises(DataError, match="no completions recorded yet"):
        run_analysis(empty, [], None, None, recording())
    bad = hand_run(tmp_path / "bad")
    lines = (bad / "rollouts.jsonl").read_text().splitlines()
    lines[2] = lines[2][:30]  # cut short, as by a crash
    (bad / "rollouts.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as caught:
        run_analysis(bad, [], None, None, recording())
    assert f"{bad / 'rollouts.jsonl'}:3: not valid JSON" in caught.value.message
    (bad / "rollouts.jsonl").write_text(json.dumps({"step": "one", "completion": "x", "rewards": {}}) + "\n")
    with pytest.raises(DataError, match=r"rollouts.jsonl:1: 'step' is 'one', expected an integer"):
        run_analysis(bad, [], None, None, recording())
    assert not (bad / "analysis").exists()  # nothing written when the input is bad


def evaluation_folder(folder: Path) -> Path:
    """What `medr1 evaluate` leaves: results.json beside its own completions.jsonl."""
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"model": "m", "benchmarks": {
        "medqa": {"title": "MedQA-USMLE", "n": 2, "accuracy": 0.5, "wilson_95": [0.09, 0.91]}}}))
    (folder / "completions.jsonl").write_text(json.dumps({"key": "k", "benchmark": "medqa", "id": "q1",
                                                          "completion": "A", "tokens": 1}) + "\n")
    return folder


def test_results_that_are_not_medr1s(tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"results": {"medqa": {"acc": 0.5}}}))
    with pytest.raises(DataError, match="other.json: not a medr1 evaluation result"):
        run_analysis(None, [other], tmp_path / "out", None, recording())
    broken = tmp_path / "broken.json"
    broken.write_text('{"model": "m",\n "benchmarks": {"medqa": {"title": "MedQA", "n": 3}}}')
    with pytest.raises(DataError, match="benchmarks.medqa lacks accuracy, wilson_95"):
        run_analysis(None, [broken], tmp_path / "out", None, recording())
    # An evaluation folder has a completions.jsonl too: it is recognised as results, not as a run.
    evaluation = evaluation_folder(tmp_path / "eval")
    run, found, _ = sort_inputs([evaluation], [])
    assert run is None and found == [evaluation]
    (evaluation / "results.json").unlink()  # still generating: its completions are not a training run's
    with pytest.raises(DataError, match="completions.jsonl:1: this is an evaluation's completions file"):
        run_analysis(evaluation, [], None, None, recording())


def test_a_folder_holding_a_run_and_its_evaluation(tmp_path):
    demo = tmp_path / "demo"  # like `medr1 demo -o demo`: data/, train/, eval/
    hand_run(demo / "train")
    evaluation_folder(demo / "eval")
    (demo / "data").mkdir()
    run, found, container = sort_inputs([demo], [])
    assert (run, found, container) == (demo / "train", [demo / "eval"], demo)
    summary = run_analysis(run, found, default_output(run, container), None, recording())
    assert summary["output_dir"] == str(demo / "analysis")
    assert summary["results"]["benchmarks"]["medqa"]["by_model"]["m"]["accuracy"] == 0.5
    assert {p.name for p in (demo / "analysis").iterdir()} == TRAINING_PLOTS | {"accuracy.png", "summary.json"}
    with pytest.raises(DataError, match="several training runs given"):
        sort_inputs([demo / "train", demo / "train"], [])


# ----------------------------------------------------------------------------------------- CLI
@pytest.mark.slow
def test_cli_analyzes_a_run(trained, tmp_path):
    out = tmp_path / "cli-run"
    result = run_medr1("analyze", str(trained), "-o", str(out), "--phrase", "wait")
    assert result.returncode == 0, result.stderr
    assert "per step" in result.stdout and "wrote rewards.png" in result.stdout
    assert {p.name for p in out.iterdir()} == TRAINING_PLOTS | {"summary.json"}
    assert json.loads((out / "summary.json").read_text())["training"]["reflection"]["phrases"] == ["wait"]


@pytest.mark.slow
def test_cli_compares_results_and_reports_errors(evaluated, tmp_path):
    a, b = evaluated
    result = run_medr1("analyze", "--results", str(a / "results.json"), str(b / "results.json"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {p.name for p in (tmp_path / "analysis").iterdir()} == {"accuracy.png", "subsets.png", "summary.json"}
    (tmp_path / "nothing").mkdir()
    bad = run_medr1("analyze", str(tmp_path / "nothing"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "neither a training run nor evaluation results" in bad.stderr


@pytest.mark.slow
def test_cli_analyze_imports_no_heavy_library(trained, tmp_path):
    assert heavy_modules_imported_by("analyze", str(trained), "-o", str(tmp_path / "o")) == []
    assert (tmp_path / "o" / "rewards.png").is_file()  # it did analyze, without torch & co.
