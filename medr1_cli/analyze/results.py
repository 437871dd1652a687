"""Evaluation results side by side: accuracy with its 95 % interval per benchmark and model, and
accuracy per subset (the benchmarks' breakdowns: MedQA step, MedXpertQA task and body system, …).

The figures are the ones `medr1 evaluate` computed and saved; nothing is rescored here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def labels(runs: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    """One label per run: its model, with the results' folder added where two runs share a model."""
    models = [str(results["model"]) for _, results in runs]
    out = []
    for (path, _), model in zip(runs, models):
        if models.count(model) > 1:
            folder = path if path.is_dir() else path.parent
            model = f"{model} [{folder.name or folder.resolve().name}]"
        out.append(model)
    if len(set(out)) < len(out):  # same model and same folder name: fall back to the position
        out = [f"{label} #{i}" for i, label in enumerate(out, 1)]
    return out


def compare_results(runs: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    names = labels(runs)
    benchmarks = list(dict.fromkeys(b for _, results in runs for b in results["benchmarks"]))
    titles = {b: r["benchmarks"][b]["title"] for _, r in runs for b in r["benchmarks"]}
    accuracy = {
        bench: {
            label: {"n": r["benchmarks"][bench]["n"], "accuracy": r["benchmarks"][bench]["accuracy"],
                    "wilson_95": list(r["benchmarks"][bench]["wilson_95"]),
                    "chance": r["benchmarks"][bench].get("chance"),
                    "below_chance": bool(r["benchmarks"][bench].get("below_chance"))}
            for label, (_, r) in zip(names, runs) if bench in r["benchmarks"]
        }
        for bench in benchmarks
    }
    subsets: list[dict[str, Any]] = []
    for bench in benchmarks:
        keys = list(dict.fromkeys(k for _, r in runs if bench in r["benchmarks"]
                                  for k in (r["benchmarks"][bench].get("breakdown") or {})))
        for key in keys:
            values = list(dict.fromkeys(v for _, r in runs if bench in r["benchmarks"]
                                        for v in (r["benchmarks"][bench].get("breakdown") or {}).get(key, {})))
            for value in values:
                cells = {}
                for label, (_, r) in zip(names, runs):
                    group = ((r["benchmarks"].get(bench) or {}).get("breakdown") or {}).get(key, {}).get(value)
                    if group is not None:
                        cells[label] = {"n": group["n"], "accuracy": group["accuracy"]}
                subsets.append({"benchmark": bench, "title": titles[bench], "key": key, "value": value, "cells": cells})
    return {
        "models": names,
        "files": [str(path) for path, _ in runs],
        "benchmarks": {b: {"title": titles[b], "by_model": accuracy[b]} for b in benchmarks},
        "subsets": subsets,
    }
