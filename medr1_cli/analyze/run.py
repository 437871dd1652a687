"""`medr1 analyze`: read a training run and/or evaluation results, write the plots and summary.json
(every figure shown, so any number can be checked or re-plotted), and print the Rich summary."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from medr1_cli.analyze import plots
from medr1_cli.analyze.inputs import load_run
from medr1_cli.analyze.reflection import excerpt, matcher
from medr1_cli.analyze.results import compare_results
from medr1_cli.analyze.training import TrainingAnalysis, analyze_training
from medr1_cli.errors import DataError
from medr1_cli.fsutil import atomic_write_text, check_writable_folder
from medr1_cli.layout import ANALYSIS_DIR, SUMMARY_JSON

TABLE_ROWS = 12  # steps printed; summary.json has every step


def default_output(run_dir: Path | None, container: Path | None = None) -> Path:
    """<run>/analysis, or <folder>/analysis for a folder holding a run and its evaluation
    (`medr1 demo`'s output), or ./analysis for evaluation results alone."""
    if container is not None:
        return container / ANALYSIS_DIR
    return (run_dir / ANALYSIS_DIR) if run_dir is not None else Path(ANALYSIS_DIR)


def run_analysis(run_dir: Path | None, results: list[Path], output_dir: Path | None = None,
                 phrases: list[str] | None = None, console: Console | None = None, *,
                 examples: int = 3) -> dict[str, Any]:
    console = console or Console(highlight=False)
    if run_dir is None and not results:
        raise DataError("nothing to analyze: name a training run folder and/or evaluation results",
                        hint="medr1 analyze runs/tiny/train   or   medr1 analyze --results A/results.json B/results.json")
    try:
        match = matcher(phrases)
    except ValueError:
        raise DataError("--phrase: every phrase given is empty") from None
    output = check_writable_folder(output_dir if output_dir is not None else default_output(run_dir), "--output-dir")

    # Read and check everything before writing anything.
    run = load_run(run_dir) if run_dir is not None else None
    from medr1_cli.evaluate.compare import FIGURES, load_results  # here: it imports the generation backends' module

    evaluations = [(path, load_results(path, FIGURES)) for path in results]

    summary: dict[str, Any] = {"output_dir": str(output), "plots": {}}
    if run is not None:
        training = analyze_training(run, match)
        summary["run"] = str(run.folder)
        summary["sources"] = {"completions": [str(p) for p in run.completion_files],
                              "trainer_state": str(run.trainer_state) if run.trainer_state else None}
        summary["training"] = {**training.to_json(), "max_completion_length": run.max_completion_length,
                               "superseded_completions": run.superseded, "notes": run.notes}
        summary["plots"].update(_training_plots(training, summary["training"], output))
        _print_training(console, run.folder, summary["training"])
        if training.reflection is not None:
            _print_reflection(console, training, examples)
    if evaluations:
        comparison = compare_results(evaluations)
        summary["results"] = comparison
        summary["plots"]["accuracy"] = {**plots.accuracy_plot(comparison, output / "accuracy.png"),
                                        "shows": "accuracy with 95 % Wilson interval per benchmark and model"}
        if comparison["subsets"]:
            summary["plots"]["subsets"] = {**plots.subsets_plot(comparison, output / "subsets.png"),
                                           "shows": "accuracy per benchmark subset and model"}
        _print_results(console, comparison)

    atomic_write_text(output / SUMMARY_JSON, json.dumps(_finite(summary), indent=2, ensure_ascii=False) + "\n")
    files = ", ".join(p["file"] for p in summary["plots"].values())
    console.print(f"wrote {escape(files)} and {SUMMARY_JSON} to {escape(str(output))}", soft_wrap=True)
    return summary


def _finite(value: Any) -> Any:
    """JSON has no NaN; a figure that does not exist is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _training_plots(training: TrainingAnalysis, figures: dict[str, Any], output: Path) -> dict[str, Any]:
    made = {
        "rewards": {**plots.rewards_plot(figures, output / "rewards.png"),
                    "shows": "total (weighted) and per-reward mean reward per step, the first and last thirds' "
                             "mean reward, and the share of zero-variance groups per step"},
        "length": {**plots.length_plot(figures, output / "length.png"), "shows": "mean completion length per step"},
        "format": {**plots.format_plot(figures, output / "format.png"),
                   "shows": "format compliance and truncated share per step"},
    }
    if training.reward_length is not None:
        points = [(float(s.row.tokens), s.total) for s in training.scored
                  if s.row.tokens is not None and s.total is not None]
        if points:
            made["reward_vs_length"] = {
                **plots.reward_length_plot(points, training.reward_length, output / "reward_vs_length.png"),
                "shows": "total reward against completion tokens, one point per completion, with Pearson r"}
    if any(p.get("all_correct") is not None for p in figures["per_step"]):
        made["groups"] = {**plots.groups_plot(figures, output / "groups.png"),
                          "shows": "per step, the share of groups all correct, all wrong, and with zero reward "
                                   "variance (GRPO's learning signal is in the rest)"}
    if training.reflection is not None:
        made["reflection"] = {**plots.reflection_plot(figures, output / "reflection.png"),
                              "shows": "share of completions with a reflective phrase, and phrases per completion"}
    return made


# ------------------------------------------------------------------------------------ printing
def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def shown_steps(count: int, limit: int = TABLE_ROWS) -> list[int]:
    """Indices of the steps printed: all of them, or `limit` spread evenly with the first and last."""
    if count <= limit:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


def _print_training(console: Console, folder: Path, t: dict[str, Any]) -> None:
    per_step, names = t["per_step"], t["reward_names"]
    weights = ", ".join(f"{n} × {t['weights'][n]:g}" for n in names)
    count = t["overall"]["completions"]
    what = f"{count} completions over {len(per_step)} steps" if count is not None else f"{len(per_step)} logged steps"
    limit = t["max_completion_length"]
    console.print(f"[bold]training run[/] {escape(str(folder))}: {what} (from {t['source']}); "
                  f"reward = {escape(weights)}; completion limit {limit if limit is not None else '?'} tokens",
                  soft_wrap=True)
    table = Table(title="per step (step N learned from the completions generated before it)")
    columns = ["step", "completions", "reward", *names, "mean length", "format ok", "truncated", "reflective",
               "zero-var groups", "all right", "all wrong"]
    for column in columns:
        table.add_column(column, justify="right")
    indices = shown_steps(len(per_step))
    for i in indices:
        table.add_row(*_step_cells(str(per_step[i]["step"]), per_step[i], names))
    table.add_section()
    table.add_row(*_step_cells("all", t["overall"], names), style="bold")
    console.print(table)
    if len(indices) < len(per_step):
        console.print(f"[dim]{len(indices)} of {len(per_step)} steps shown; every step is in {SUMMARY_JSON}[/]")
    console.print(f"format ok = {escape(t['format_source'])}; truncated = used all {limit if limit else '?'} tokens; "
                  "zero-var groups = a prompt's completions that all earned the same reward (GRPO learns nothing "
                  "from them); all right / all wrong = groups the accuracy reward judged correct (too easy) or wrong "
                  "(too hard) in every completion")
    _print_trend(console, t.get("trend"), len(per_step))
    rl = t["reward_vs_length"]
    if rl is not None:
        if rl["pearson_r"] is None:
            console.print(f"reward vs length: Pearson r undefined over {rl['n']} completions "
                          "(reward or length is the same for all)")
        else:
            console.print(f"reward vs length: Pearson r = {rl['pearson_r']:+.3f} over {rl['n']} completions "
                          f"(least-squares slope {rl['slope_per_token']:+.4g} reward per token)")
    for note in t["notes"]:
        console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)


def _print_trend(console: Console, trend: dict[str, Any] | None, steps: int) -> None:
    if trend is None:
        console.print(f"reward trend: needs at least 3 steps with rewards ({steps} here)")
        return
    low, high = trend["difference_ci95"]
    first, last = trend["first_steps"], trend["last_steps"]
    verdict = "rises" if trend["rises"] else "falls" if trend["falls"] else "no clear change (the interval holds 0)"
    console.print(
        f"reward trend: first third (steps {first[0]}–{first[1]}) {trend['first_mean']:.3f} → last third "
        f"(steps {last[0]}–{last[1]}) {trend['last_mean']:.3f}: difference {trend['difference']:+.3f}, 95 % "
        f"bootstrap interval {low:+.3f} to {high:+.3f} ({trend['units'][0]} and {trend['units'][1]} "
        f"{escape(trend['unit'].split(' (')[0])}s resampled): [bold]{verdict}[/]; zero-var groups "
        f"{_pct(trend['zero_variance_first_third'])} → {_pct(trend['zero_variance_last_third'])}", soft_wrap=True)


def _step_cells(label: str, figures: dict[str, Any], names: list[str]) -> list[str]:
    n = figures["completions"]
    return [label, "—" if n is None else str(n), _num(figures["reward"]),
            *(_num(figures["rewards"].get(name)) for name in names), _num(figures["mean_length"], 1),
            _pct(figures["format_compliance"]), _pct(figures["truncated"]), _pct(figures["reflective"]),
            _pct(figures.get("zero_variance")), _pct(figures.get("all_correct")), _pct(figures.get("all_wrong"))]


def _print_reflection(console: Console, training: TrainingAnalysis, examples: int) -> None:
    r = training.reflection
    table = Table(title=f"reflective phrases in {r['completions']} completions")
    for column in ("phrase", "occurrences", "completions with it"):
        table.add_column(column, justify="left" if column == "phrase" else "right")
    for phrase in r["phrases"]:
        if phrase in r["occurrences"]:
            table.add_row(escape(phrase), str(r["occurrences"][phrase]), str(r["completions_with"][phrase]))
    if not r["occurrences"]:
        table.add_row("[dim](none found)[/]", "0", "0")
    console.print(table)
    line = f"{r['with_phrase']} of {r['completions']} completions ({_pct(r['share'])}) contain a reflective phrase"
    if r["accuracy_source"]:
        line += (f"; accuracy with one: {_pct(r['accuracy_with_phrase'])} (n={r['n_with_phrase']}), "
                 f"without: {_pct(r['accuracy_without_phrase'])} (n={r['n_without_phrase']})")
        if r["count_accuracy_r"] is not None:
            line += f"; phrase count vs correct: r = {r['count_accuracy_r']:+.3f}"
    else:
        line += "; the run has no 'accuracy' reward to relate them to"
    console.print(line, soft_wrap=True)
    picked = sorted((s for s in training.scored if s.spans), key=lambda s: (-len(s.spans), -s.row.step))[:examples]
    for s in picked:
        text, spans, cut_start, cut_end = excerpt(s.row.completion, s.spans)
        shown = Text(("…" if cut_start else "") + text + ("…" if cut_end else ""))
        offset = 1 if cut_start else 0
        for start, end in spans:
            shown.stylize("bold black on yellow", start + offset, end + offset)
        verdict = "" if s.correct is None else (" correct" if s.correct else " wrong")
        console.print(Text(f"— step {s.row.step + 1}, {s.row.id or 'item ?'},{verdict}, "
                           f"{len(s.spans)} phrase(s):", style="dim"))
        console.print(shown)


def _print_results(console: Console, comparison: dict[str, Any]) -> None:
    models = comparison["models"]
    table = Table(title="accuracy with 95 % Wilson interval",
                  caption="chance: a random letter's accuracy on the items; ↓ the whole interval lies below it")
    table.add_column("benchmark")
    for model in models:
        table.add_column(escape(model), justify="right")
    table.add_column("chance", justify="right")
    for bench in comparison["benchmarks"].values():
        cells = []
        for model in models:
            cell = bench["by_model"].get(model)
            cells.append("—" if cell is None else
                         f"{100 * cell['accuracy']:.1f} % ({100 * cell['wilson_95'][0]:.1f}–"
                         f"{100 * cell['wilson_95'][1]:.1f}, n={cell['n']}){' ↓' if cell.get('below_chance') else ''}")
        chance = next((c["chance"] for c in bench["by_model"].values() if c.get("chance") is not None), None)
        table.add_row(escape(bench["title"]), *cells, "—" if chance is None else f"{100 * chance:.1f} %")
    console.print(table)
    if not comparison["subsets"]:
        return
    sub = Table(title="accuracy per subset")
    sub.add_column("subset")
    for model in models:
        sub.add_column(escape(model), justify="right")
    for row in comparison["subsets"]:
        cells = [("—" if (c := row["cells"].get(m)) is None else f"{100 * c['accuracy']:.1f} % (n={c['n']})")
                 for m in models]
        sub.add_row(escape(f"{row['title']} · {row['key']}: {row['value']}"), *cells)
    console.print(sub)
