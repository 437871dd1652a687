"""Did training help? The evaluated model beside the model it started from: both scored on the same
items with the same settings, compared pairwise, with a verdict the numbers carry.

The baseline's results live in a folder of their own beside the evaluation's
(`<eval.output_dir>/../baseline-<model>/`), so its completions are generated once and reused by every
later evaluation with the same baseline and settings (the completion store's keys hold the model's
fingerprint and the settings, so nothing stale is reused)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from medr1_cli.config import Medr1Config
from medr1_cli.errors import ConfigError
from medr1_cli.evaluate.benchmark_data import exclusion_for
from medr1_cli.evaluate.compare import compare, exclusion_line, print_comparison
from medr1_cli.evaluate.run import run_evaluation
from medr1_cli.fsutil import atomic_write_text, check_not_training_outputs, check_writable_folder
from medr1_cli.layout import BASELINE_DIR, BASELINE_RESULTS, COMPARISON_JSON, COMPARISON_MD, training_config_file
from medr1_cli.models import describe_model_reference
from medr1_cli.resolution import resolve_config
from medr1_cli.vqa.omnimedvqa import slug

ALPHA = 0.05


def baseline_model(config: Medr1Config) -> dict[str, Any]:
    """eval.baseline as model settings: 'base' is what the evaluated run started from, at the revision
    and with the remote-code setting it trained with; any other value is that model, at its main revision."""
    wanted = config.eval.baseline
    if wanted != "base":
        return {"name_or_path": wanted, "revision": None}
    found = training_config_file(config.model.name_or_path)
    if found is None:
        raise ConfigError(
            f"eval.baseline 'base': {config.model.name_or_path} is not a model medr1 trained (no run folder or "
            "export config beside it), so its starting model is unknown",
            hint="name the baseline model itself: --baseline MODEL (a folder, Hub id or builtin:NAME)",
        )
    # the config layer reads a run's config anywhere: rewards of the run's own are only shape-checked
    trained = resolve_config(found, builtin_entries=False).model
    return {"name_or_path": trained.name_or_path, "revision": trained.revision,
            "trust_remote_code": trained.trust_remote_code}


def baseline_config(config: Medr1Config) -> Medr1Config:
    """The same evaluation with the baseline model, writing to its own folder beside the evaluation's."""
    model = baseline_model(config)
    label = "@".join(filter(None, (model["name_or_path"], model.get("revision"))))
    folder = Path(config.eval.output_dir).parent / BASELINE_DIR.format(model=slug(label) or "model")
    if folder.resolve() == Path(config.eval.output_dir).resolve():
        raise ConfigError(f"eval.output_dir {config.eval.output_dir} is where the baseline's results go",
                          hint="give the evaluation another output folder")
    return config.model_copy(update={
        "model": config.model.model_copy(update=model),
        "eval": config.eval.model_copy(update={"output_dir": str(folder), "baseline": None}),
    })


def check_baseline(config: Medr1Config) -> Medr1Config | None:
    """The baseline's config, checked before the evaluated model's hours of generation, not after."""
    if not config.eval.baseline:
        return None

    base = baseline_config(config)
    describe_model_reference(base.model.name_or_path, revision=base.model.revision)
    check_writable_folder(base.eval.output_dir, "the baseline's output folder")
    check_not_training_outputs(base.eval.output_dir, "the baseline's output folder", flag="-o", name="eval",
                               run_dir=config.train.output_dir,
                               hint="give the evaluation another output folder: the baseline's goes beside it")
    return base


def verdict(row: dict[str, Any]) -> str:
    if row["mcnemar_p"] < ALPHA:
        return "better" if row["difference"] > 0 else "worse"
    return "no significant change"


def summary_line(rows: dict[str, dict[str, Any]]) -> str:
    """One honest sentence: per benchmark, significant at α = 0.05 (McNemar, uncorrected) or not."""
    by_verdict: dict[str, list[str]] = {}
    for row in rows.values():
        by_verdict.setdefault(verdict(row), []).append(row["title"])
    parts = [f"{kind} on {', '.join(titles)}" for kind in ("better", "worse", "no significant change")
             if (titles := by_verdict.get(kind))]
    return f"trained vs base at α = {ALPHA} (McNemar, per benchmark): " + "; ".join(parts)


def compare_with_baseline(config: Medr1Config, results: dict[str, Any], console: Console) -> dict[str, Any]:
    """Evaluate the baseline (reusing its stored completions), compare, print and save the comparison
    with a copy of the baseline's results beside it (its own folder is shared with later evaluations)."""
    base = baseline_config(config)
    console.rule(f"baseline: {escape(base.model.name_or_path)}", align="left")
    # on the same items: those the evaluated model trained on are left out of the baseline's too
    base_results = run_evaluation(base, console, exclusion=exclusion_for(config))
    output = Path(config.eval.output_dir)
    atomic_write_text(output / BASELINE_RESULTS, json.dumps(base_results, indent=2) + "\n")
    rows = compare(base_results, results)
    for row in rows.values():
        row["verdict"] = verdict(row)
    print_comparison(console, base_results, results, rows)
    line = summary_line(rows)
    console.print(line)
    comparison = {"alpha": ALPHA, "baseline": base.model.name_or_path, "model": results["model"],
                  "baseline_results": str(output / BASELINE_RESULTS), "benchmarks": rows, "verdict": line,
                  "excluded": {"A": exclusion_line(base_results), "B": exclusion_line(results)}}
    atomic_write_text(output / COMPARISON_JSON, json.dumps(comparison, indent=2) + "\n")
    atomic_write_text(output / COMPARISON_MD, comparison_markdown(comparison))
    return comparison


def comparison_markdown(comparison: dict[str, Any]) -> str:
    lines = [f"B = {comparison['model']}, A = {comparison['baseline']} (paired, the same items)", "",
             "| benchmark | n | A | B | B − A | 95 % CI | McNemar p | verdict |", "|---|---:|---:|---:|---:|---|---:|---|"]
    for row in comparison["benchmarks"].values():
        low, high = row["difference_95"]
        lines.append(f"| {row['title']} | {row['n']} | {100 * row['accuracy_a']:.1f} | {100 * row['accuracy_b']:.1f} | "
                     f"{100 * row['difference']:+.1f} | {100 * low:+.1f} … {100 * high:+.1f} | {row['mcnemar_p']:.3g} | "
                     f"{row['verdict']} |")
    excluded = "".join(f"* {side}: {line}\n" for side, line in comparison.get("excluded", {}).items())
    return "\n".join(lines) + f"\n\n{comparison['verdict']}\n" + (f"\n{excluded}" if excluded else "")
