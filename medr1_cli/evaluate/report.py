"""`medr1 report`: the seeds' headline table from several evaluations — one row per model (the base
first), one column per benchmark and the average; each cell accuracy with its 95 % interval, and for
every other model its paired difference against the base, marked when McNemar's test finds it
significant. Written as a Rich table, Markdown, LaTeX and a PNG.

Results are only put side by side when they were scored alike: the same items per benchmark, the
same protocol and the same generation settings; otherwise it says which differ and stops."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medr1_cli.analyze.plots import accuracy_plot
from medr1_cli.errors import DataError
from medr1_cli.evaluate.baseline import ALPHA
from medr1_cli.evaluate.compare import PAIRING, compare, exclusion_line, load_results, protocol_of
from medr1_cli.evaluate.run import BELOW_CHANCE, accuracy_cell
from medr1_cli.fsutil import atomic_write_text, check_writable_folder
from medr1_cli.layout import REPORT_JSON, REPORT_MD, REPORT_PNG, REPORT_TEX

# What changes a completion, read from each result's resolved config: results that differ here are not comparable.
SETTINGS = (("eval", "protocol"), ("eval", "template"), ("eval", "system_prompt"), ("eval", "temperature"), ("eval", "top_p"),
            ("eval", "max_new_tokens"), ("eval", "n_samples"), ("eval", "seed"), ("eval", "engine"),
            ("eval", "pubmedqa_protocol"), ("eval", "dedup"), ("model", "dtype"))


def build_report(paths: list[Path]) -> dict[str, Any]:
    if len(paths) < 1:
        raise DataError("name at least one evaluation (the base first)")
    runs = [(path, load_results(path, (*PAIRING, "n", "accuracy", "wilson_95"))) for path in paths]
    _check_comparable(runs)
    base_path, base = runs[0]
    names = list(dict.fromkeys(name for _, r in runs for name in r["benchmarks"]))
    rows = []
    for path, results in runs:
        paired = compare(base, results) if results is not base else {}
        cells = {name: {**_figures(results["benchmarks"][name]), "vs_base": paired.get(name)}
                 for name in names if name in results["benchmarks"]}
        shown = [c["accuracy"] for c in cells.values()]
        rows.append({"model": results["model"], "results": str(path), "base": results is base, "cells": cells,
                     "exclusion": results.get("exclusion"), "excluded": exclusion_line(results),
                     "average": sum(shown) / len(shown) if len(shown) == len(names) else None,
                     "average_difference": (sum(c["vs_base"]["difference"] for c in cells.values()) / len(cells)
                                            if len(cells) == len(names) and all(c["vs_base"] for c in cells.values())
                                            else None)})
    titles = {name: next(r["benchmarks"][name]["title"] for _, r in runs if name in r["benchmarks"]) for name in names}
    return {"alpha": ALPHA, "benchmarks": titles, "rows": rows}


def _figures(bench: dict[str, Any]) -> dict[str, Any]:
    return {key: bench.get(key) for key in ("n", "accuracy", "wilson_95", "chance", "below_chance")}


def _check_comparable(runs: list[tuple[Path, dict[str, Any]]]) -> None:
    """Refuse results scored on other items, under another protocol or with other settings, naming each."""
    problems = []
    base_path, base = runs[0]
    for path, results in runs[1:]:
        for name, bench in results["benchmarks"].items():
            if name not in base["benchmarks"]:
                continue
            mine = {i["id"] for i in bench["items"]}
            theirs = {i["id"] for i in base["benchmarks"][name]["items"]}
            if mine != theirs:
                problems.append(f"{name}: {path} scored {len(mine)} items and {base_path} {len(theirs)}, "
                                f"{len(mine & theirs)} in common")
            if bench.get("protocol") != base["benchmarks"][name].get("protocol"):
                problems.append(f"{name}: protocol {bench.get('protocol')} in {path}, "
                                f"{base['benchmarks'][name].get('protocol')} in {base_path}")
        unknown = [p for p, r in ((path, results), (base_path, base)) if not isinstance(r.get("config"), dict)]
        if unknown:
            problems.append(f"the generation settings of {', '.join(map(str, unknown))} are unknown (no config recorded)")
            continue
        named = [f"{section}.{key}: {mine!r} in {path}, {theirs!r} in {base_path}" for section, key in SETTINGS
                 if (mine := _setting(results, section, key)) != (theirs := _setting(base, section, key))]
        problems += named
        if not named and results.get("settings_fingerprint") != base.get("settings_fingerprint"):
            problems.append(f"generation settings (backend, chat template, image size range): fingerprint "
                            f"{results.get('settings_fingerprint')} in {path}, {base.get('settings_fingerprint')} in "
                            f"{base_path}")
    if problems:
        raise DataError("these results were not scored alike, so a table would compare unlike things:\n"
                        + "\n".join(f"  • {p}" for p in problems),
                        hint="evaluate every model with the same config and items (medr1 evaluate -c CONFIG -m MODEL)")


def _setting(results: dict[str, Any], section: str, key: str) -> Any:
    if (section, key) == ("eval", "protocol"):
        return protocol_of(results)  # results from before protocols were medr1's
    return results["config"].get(section, {}).get(key)


def _difference(paired: dict[str, Any] | None) -> str:
    if paired is None:
        return ""
    star = "*" if paired["mcnemar_p"] < ALPHA else ""
    return f"{100 * paired['difference']:+.1f}{star}"


def print_report(console: Console, report: dict[str, Any]) -> None:
    table = Table(title="accuracy (95 % Wilson interval); Δ vs the base, * McNemar p < 0.05",
                  caption=f"{BELOW_CHANCE}: the whole interval lies below chance (a random letter)", show_lines=True)
    table.add_column("model")
    for title in report["benchmarks"].values():
        table.add_column(escape(title), justify="right")
    table.add_column("average", justify="right")
    for row in report["rows"]:
        cells = []
        for name in report["benchmarks"]:
            cell = row["cells"].get(name)
            text = accuracy_cell(cell) if cell else "—"
            if cell and cell["vs_base"]:
                text += f"\nΔ {_difference(cell['vs_base'])}"
            cells.append(text)
        average = "—" if row["average"] is None else f"{100 * row['average']:.1f}"
        if row["average_difference"] is not None:
            average += f"\nΔ {100 * row['average_difference']:+.1f}"
        table.add_row(escape(row["model"]) + (" (base)" if row["base"] else ""), *map(escape, cells), average)
    console.print(table)
    for row in report["rows"]:
        console.print(f"{escape(row['model'])}: {escape(row['excluded'])}")


def markdown(report: dict[str, Any]) -> str:
    names = list(report["benchmarks"])
    lines = ["| model | " + " | ".join(report["benchmarks"][n] for n in names) + " | average |",
             "|---|" + "---:|" * (len(names) + 1)]
    for row in report["rows"]:
        cells = []
        for name in names:
            cell = row["cells"].get(name)
            cells.append("—" if cell is None else
                         f"{accuracy_cell(cell)} {_difference(cell['vs_base'])}".strip())
        average = "—" if row["average"] is None else f"{100 * row['average']:.1f}"
        if row["average_difference"] is not None:
            average += f" {100 * row['average_difference']:+.1f}"
        lines.append(f"| {row['model']}{' (base)' if row['base'] else ''} | " + " | ".join(cells) + f" | {average} |")
    return "\n".join(lines) + ("\n\nAccuracy in % with its 95 % Wilson interval; after it, the paired difference "
                               f"from the base in points, * when McNemar's exact test gives p < {report['alpha']}; "
                               f"{BELOW_CHANCE}: the whole interval lies below chance.\n\n"
                               + "".join(f"* {row['model']}: {row['excluded']}\n" for row in report["rows"]))


def latex(report: dict[str, Any]) -> str:
    names = list(report["benchmarks"])

    def tex(text: str) -> str:
        for raw, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
            text = text.replace(raw, escaped)
        return text

    lines = [r"\begin{tabular}{l" + "r" * (len(names) + 1) + "}", r"\toprule",
             "Model & " + " & ".join(tex(report["benchmarks"][n]) for n in names) + r" & Avg. \\", r"\midrule"]
    for row in report["rows"]:
        cells = []
        for name in names:
            cell = row["cells"].get(name)
            if cell is None:
                cells.append("--")
                continue
            low, high = cell["wilson_95"]
            text = f"{100 * cell['accuracy']:.1f} {{\\scriptsize ({100 * low:.1f}--{100 * high:.1f})}}"
            if cell["vs_base"]:
                star = "$^*$" if cell["vs_base"]["mcnemar_p"] < report["alpha"] else ""
                difference = f"{100 * cell['vs_base']['difference']:+.1f}".replace("-", "$-$")
                text += f" {{\\scriptsize {difference}{star}}}"
            cells.append(text)
        average = "--" if row["average"] is None else f"{100 * row['average']:.1f}"
        lines.append(tex(row["model"]) + (" (base)" if row["base"] else "") + " & " + " & ".join(cells)
                     + f" & {average} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def write_report(paths: list[Path], output: Path, console: Console | None = None) -> dict[str, Any]:
    console = console or Console(highlight=False)
    check_writable_folder(output, "--output-dir")
    report = build_report(paths)
    print_report(console, report)
    atomic_write_text(output / REPORT_JSON, json.dumps(report, indent=2) + "\n")
    atomic_write_text(output / REPORT_MD, markdown(report))
    atomic_write_text(output / REPORT_TEX, latex(report))
    models = [f"{row['model']}{' (base)' if row['base'] else ''}" for row in report["rows"]]
    accuracy_plot({"models": models, "benchmarks": {
        name: {"title": title, "by_model": {label: row["cells"][name] for label, row in zip(models, report["rows"])
                                            if name in row["cells"]}}
        for name, title in report["benchmarks"].items()}}, output / REPORT_PNG)
    console.print(f"wrote {', '.join((REPORT_JSON, REPORT_MD, REPORT_TEX, REPORT_PNG))} to {escape(str(output))}")
    return report
