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
from medr1_cli.evaluate.baseline import check_baseline
from medr1_cli.evaluate.run import load_benchmarks
from medr1_cli.fsutil import check_writable_folder
from medr1_cli.models import describe_model_reference


def dry_run_evaluation(config: Medr1Config, console: Console | None = None) -> dict[str, Any]:
    console = console or Console(highlight=False)
    check_writable_folder(config.eval.output_dir, "eval.output_dir")
    model = describe_model_reference(config.model.name_or_path, revision=config.model.revision)
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
    if base := check_baseline(config):
        console.print(f"baseline: {escape(base.model.name_or_path)}, on the same items; its results and completions "
                      f"in {escape(base.eval.output_dir)}")
    console.print(f"protocol: template {settings.template}, temperature {settings.temperature}, top_p {settings.top_p}, "
                  f"max_new_tokens {settings.max_new_tokens}, {settings.n_samples} sample(s) per item, engine "
                  f"{settings.engine}, backend {settings.backend}"
                  + (f", first {settings.limit} items per benchmark" if settings.limit else ""))
    console.print(f"would write: {escape(str(Path(settings.output_dir)))} (completions.jsonl, results.json, results.md)")
    if not manifest:
        console.print("no training manifest found: no item is left out as a training item "
                      "(eval.exclude_manifest names one)")
    return summary
