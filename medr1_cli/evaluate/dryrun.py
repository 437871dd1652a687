"""`medr1 evaluate --dry-run`: everything an evaluation checks before it loads a model — which data
each benchmark resolves to, in which layout, how many items it will score and why others are not
scored — printed, with no model loaded and nothing written. Users run it before they spend GPU hours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medr1_cli.config import Medr1Config
from medr1_cli.errors import DataError
from medr1_cli.evaluate.run import load_benchmarks
from medr1_cli.models import planned_model_path, resolve_model_path
from medr1_cli.models.names import BUILTIN_PREFIX


def describe_model(name_or_path: str) -> str:
    """Where the model would come from, checked without loading it."""
    if name_or_path.startswith(BUILTIN_PREFIX):
        return f"built-in model ({planned_model_path(name_or_path)})"
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        resolve_model_path(name_or_path)  # a folder without config.json / adapter_config.json is refused
        return f"local folder {path}"
    if path.exists() or name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1:
        raise DataError(f"model.name_or_path: {name_or_path} is not a model folder (no such folder)",
                        hint="give the folder of a Hugging Face model or LoRA adapter, or a Hub id owner/name")
    return f"Hub id {name_or_path} (needs network, or the model in the local Hugging Face cache)"


def dry_run_evaluation(config: Medr1Config, console: Console | None = None) -> dict[str, Any]:
    console = console or Console(highlight=False)
    model = describe_model(config.model.name_or_path)
    data, manifest = load_benchmarks(config, console)
    table = Table(title="evaluate --dry-run: what would be scored (no model loaded)",
                  caption="excluded: training items of the prepared mix left out; skipped: rows not read, by reason below")
    for column in ("benchmark", "data", "layout", "rows", "distinct", "excluded", "skipped", "to score"):
        text = column in ("benchmark", "data", "layout")
        table.add_column(column, justify="left" if text else "right", no_wrap=column != "data", overflow="fold")
    summary: dict[str, Any] = {}
    for name, bench in data.items():
        skipped = sum(bench.skipped.values())
        table.add_row(name, ", ".join(bench.specs), ", ".join(bench.layouts), str(bench.rows), str(bench.distinct),
                      str(bench.excluded), str(skipped), str(len(bench.records)))
        summary[name] = {"data": bench.specs, "layouts": bench.layouts, "rows": bench.rows,
                         "distinct_questions": bench.distinct, "deduplicated": bench.deduplicated,
                         "excluded_training_items": bench.excluded, "skipped": bench.skipped,
                         "items": len(bench.records), "notes": bench.notes}
    console.print(table)
    for name, bench in data.items():
        for reason, count in bench.skipped.items():
            console.print(f"{name}: skipped {count} row(s): {escape(reason)}")
    settings = config.eval
    console.print(f"model: {escape(model)}")
    console.print(f"protocol: template {settings.template}, temperature {settings.temperature}, top_p {settings.top_p}, "
                  f"max_new_tokens {settings.max_new_tokens}, {settings.n_samples} sample(s) per item, engine "
                  f"{settings.engine}, backend {settings.backend}"
                  + (f", first {settings.limit} items per benchmark" if settings.limit else ""))
    console.print(f"would write: {escape(str(Path(settings.output_dir)))} (completions.jsonl, results.json, results.md)")
    if not manifest:
        console.print("no training manifest found: no item is left out as a training item "
                      "(eval.exclude_manifest names one)")
    return summary
