"""Med-R1's generalisation matrix: models trained on one group (modality or question type), each
scored on every group's test split — rows are what a model trained on, columns what it was tested on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medr1_cli.analyze.plots import accuracy_heatmap
from medr1_cli.errors import DataError
from medr1_cli.evaluate.compare import FIGURES, load_results
from medr1_cli.fsutil import atomic_write_text
from medr1_cli.layout import MATRIX_JSON, MATRIX_MD, MATRIX_PNG, training_config_file


def trained_on(results: dict[str, Any]) -> str:
    """What the evaluated model was trained on, from the config of the run it came from (a run folder,
    one of its checkpoints, or an export), else the model's name (a base model)."""
    model = Path(results["model"]).expanduser()
    found = training_config_file(str(model))
    if found:
        from medr1_cli.resolution import resolve_config
        from medr1_cli.vqa.splits import training_group

        config = resolve_config(found)
        if config.data.is_vqa:
            return f"{training_group(config)} ({config.data.vqa.split_by})"
    return f"{model.name or results['model']} (not trained on VQA)"


def build_matrix(paths: list[Path]) -> dict[str, Any]:
    rows, columns, cells = [], [], {}
    for path in paths:
        results = load_results(path, FIGURES)
        vqa = {name: b for name, b in results.get("benchmarks", {}).items() if name.startswith("vqa-")}
        if not vqa:
            raise DataError(f"{path}: no VQA benchmark (vqa-…) in these results",
                            hint="evaluate the run with -b vqa-ct -b vqa-mri … first")
        row = trained_on(results)
        if row in rows:
            raise DataError(f"{path}: a second evaluation of a model trained on {row}; give one per training group")
        rows.append(row)
        for name, bench in vqa.items():
            column = bench["title"].removeprefix("VQA ")
            if column not in columns:
                columns.append(column)
            cells[(row, column)] = {"accuracy": bench["accuracy"], "n": bench["n"], "wilson_95": bench["wilson_95"],
                                    "source": str(path)}
    return {"rows": rows, "columns": columns,
            "cells": [{"trained_on": r, "tested_on": c, **cell} for (r, c), cell in cells.items()]}


def write_matrix(matrix: dict[str, Any], output: Path, console: Console) -> None:
    from medr1_cli.evaluate.run import accuracy_cell

    cells = {(c["trained_on"], c["tested_on"]): c for c in matrix["cells"]}
    table = Table(title="generalisation matrix: trained on (rows) × tested on (columns), accuracy % (95 % CI)")
    table.add_column("trained on")
    for column in matrix["columns"]:
        table.add_column(column, justify="right")
    lines = ["| trained on | " + " | ".join(matrix["columns"]) + " |", "|---|" + "---:|" * len(matrix["columns"])]
    for row in matrix["rows"]:
        shown = [accuracy_cell(cells.get((row, column)), bound_digits=0) for column in matrix["columns"]]
        table.add_row(escape(row), *shown)
        lines.append(f"| {row} | " + " | ".join(shown) + " |")
    console.print(table)
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output / MATRIX_JSON, json.dumps(matrix, indent=2) + "\n")
    atomic_write_text(output / MATRIX_MD, "\n".join(lines) + "\n\nAccuracy in %, 95 % Wilson interval in brackets.\n")
    indexed = {(matrix["rows"].index(r), matrix["columns"].index(c)): cell for (r, c), cell in cells.items()}
    accuracy_heatmap(matrix["rows"], matrix["columns"], indexed, "Accuracy (%): trained on (rows), tested on (columns)",
                     output / MATRIX_PNG)
    console.print(f"wrote {escape(str(output / MATRIX_JSON))}, {MATRIX_MD} and {MATRIX_PNG}")
