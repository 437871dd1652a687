"""`medr1 evaluate compare A B`: two evaluation runs on the same items, compared pairwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medr1_cli.data.sources import read_text
from medr1_cli.errors import DataError
from medr1_cli.evaluate.stats import mcnemar, paired_bootstrap
from medr1_cli.layout import RESULTS_JSON


FIGURES = ("title", "n", "accuracy", "wilson_95")  # what a plot or table of the results reads
PAIRING = ("title", "items")  # what a paired comparison reads


def load_results(path: str | Path, required: tuple[str, ...] = PAIRING) -> dict[str, Any]:
    """An evaluation's results.json, checked to be one `medr1 evaluate` wrote: a model, and benchmarks
    each holding the `required` keys (and, where it has them, scored items of {id, correct})."""
    path = Path(path)
    file = path / RESULTS_JSON if path.is_dir() else path
    if file.is_dir():
        raise DataError(f"{file} is a folder, not a results file", hint=f"pass an evaluation output folder or its {RESULTS_JSON}")
    if not file.is_file():
        raise DataError(f"{path}: no {RESULTS_JSON} here; pass an evaluation output folder or its {RESULTS_JSON}")
    try:
        results = json.loads(read_text(file))
    except json.JSONDecodeError as err:
        raise DataError(f"{file}:{err.lineno}: invalid JSON ({err.msg})") from None
    if not isinstance(results, dict) or not isinstance(results.get("benchmarks"), dict) or "model" not in results:
        raise DataError(f"{file}: not a medr1 evaluation result (expected the keys 'model' and 'benchmarks' that "
                        "`medr1 evaluate` writes)", hint="pass the results.json of an evaluation output folder")
    if not results["benchmarks"]:
        raise DataError(f"{file}: no benchmarks in it")
    for name, bench in results["benchmarks"].items():
        missing = [k for k in required if not isinstance(bench, dict) or k not in bench]
        if missing:
            raise DataError(f"{file}: benchmarks.{name} lacks {', '.join(missing)}; not a medr1 evaluation result")
        items = bench.get("items", []) if isinstance(bench, dict) else []
        if not isinstance(items, list) or not all(isinstance(i, dict) and "id" in i and "correct" in i for i in items):
            raise DataError(f"{file}: benchmarks.{name}.items must be a list of {{id, correct, …}}; not a medr1 "
                            "evaluation result")
    return results


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per shared benchmark, on the items both runs scored: accuracies, B − A with its paired
    bootstrap interval, and McNemar's exact p-value."""
    protocols = [protocol_of(r) for r in (a, b)]
    if protocols[0] != protocols[1]:
        raise DataError(f"A was evaluated under protocol {protocols[0]} and B under {protocols[1]}: their items are "
                        "asked and counted differently", hint="evaluate both with the same eval.protocol")
    rows = {}
    for name in a["benchmarks"]:
        if name not in b["benchmarks"]:
            continue
        left = {i["id"]: i["correct"] for i in a["benchmarks"][name].get("items", [])}
        right = {i["id"]: i["correct"] for i in b["benchmarks"][name].get("items", [])}
        shared = sorted(left.keys() & right.keys())
        if not shared:
            continue
        x = [float(left[i]) for i in shared]
        y = [float(right[i]) for i in shared]
        difference, interval = paired_bootstrap(x, y)
        rows[name] = {
            "title": a["benchmarks"][name]["title"], "n": len(shared),
            "accuracy_a": sum(x) / len(x), "accuracy_b": sum(y) / len(y),
            "difference": difference, "difference_95": list(interval),
            "mcnemar_p": mcnemar([bool(v) for v in x], [bool(v) for v in y]),
            "chance": _chance(a["benchmarks"][name], shared),
        }
    if not rows:
        raise DataError("the two runs share no scored items on any benchmark")
    return rows


def protocol_of(results: dict[str, Any]) -> str:
    """The evaluation protocol results were scored under (results from before protocols: medr1's)."""
    return ((results.get("config") or {}).get("eval") or {}).get("protocol", "medr1")


def exclusion_line(results: dict[str, Any]) -> str:
    """Which training items an evaluation left out, and from which manifest, in one line."""
    recorded = results.get("exclusion")
    if recorded is None:  # results from before medr1 recorded the exclusion's origin
        path = results.get("excluded_training_items_from")
        return f"training items left out per {path}" if path else "no record of which training items were left out"
    if not recorded.get("path"):
        return "no training item left out (no training manifest)"
    excluded = sum(b.get("excluded_training_items", 0) for b in results["benchmarks"].values())
    return (f"{excluded} training item(s) left out, of the {recorded['training_ids']} listed by {recorded['from']} "
            f"({recorded['path']}, sha256 {recorded['sha256'][:12]})")


def _chance(bench: dict[str, Any], ids: list[str]) -> float | None:
    """The chance level of the shared items (results written before medr1 recorded options: unknown)."""
    counts = {i["id"]: i.get("options") for i in bench.get("items", [])}
    known = [counts[i] for i in ids if counts.get(i)]
    return sum(1 / k for k in known) / len(known) if known and len(known) == len(ids) else None


def print_comparison(console: Console, a: dict, b: dict, rows: dict[str, dict[str, Any]]) -> None:
    table = Table(title=f"B − A: {escape(str(b['model']))} vs {escape(str(a['model']))} (paired, same items)")
    for column in ("benchmark", "n", "A", "B", "chance", "B − A", "95 % CI", "McNemar p"):
        table.add_column(column, justify="left" if column == "benchmark" else "right")
    for row in rows.values():
        low, high = row["difference_95"]
        chance = f"{100 * row['chance']:.1f} %" if row.get("chance") is not None else "—"
        table.add_row(escape(row["title"]), str(row["n"]), f"{100 * row['accuracy_a']:.1f} %",
                      f"{100 * row['accuracy_b']:.1f} %", chance, f"{100 * row['difference']:+.1f}",
                      f"{100 * low:+.1f} … {100 * high:+.1f}", f"{row['mcnemar_p']:.3g}")
    console.print(table)
    for label, results in (("A", a), ("B", b)):
        console.print(f"{label}: {escape(exclusion_line(results))}")
