"""`medr1 evaluate --dry-run`: everything an evaluation checks before it loads a model — which data
each benchmark resolves to, in which layout, how many items it will score and why others are not
scored — printed, with no model loaded and nothing written. Users run it before they spend GPU hours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medr1_cli.benchmarks import find_benchmark
from medr1_cli.config import Medr1Config
from medr1_cli.devices import gpus_without_torch
from medr1_cli.errors import ConfigError
from medr1_cli.evaluate.baseline import check_baseline
from medr1_cli.evaluate.gpus import describe_layout, gpus_per_worker
from medr1_cli.evaluate.run import load_benchmarks
from medr1_cli.fsutil import check_not_training_outputs, check_writable_folder
from medr1_cli.layout import COMPLETIONS_NAME, RESULTS_JSON, RESULTS_MD
from medr1_cli.models import describe_model_reference, planned_model_path
from medr1_cli.models.reference import inspect_model


def dry_run_evaluation(config: Medr1Config, console: Console | None = None) -> dict[str, Any]:
    console = console or Console(highlight=False)
    check_writable_folder(config.eval.output_dir, "eval.output_dir")
    check_not_training_outputs(config.eval.output_dir, "eval.output_dir", flag="-o", name="eval",
                               run_dir=config.train.output_dir)
    model = describe_model_reference(config.model.name_or_path, revision=config.model.revision)
    data, exclusion = load_benchmarks(config, console)
    table = Table(title="evaluate --dry-run: what would be scored (no model loaded)",
                  caption=f"excluded: training items left out ({exclusion.origin}, below); skipped: rows not read, "
                  "by reason below")
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
    console.print(f"protocol {settings.protocol}: template {settings.template}, temperature {settings.temperature}, top_p {settings.top_p}, "
                  f"max_new_tokens {settings.max_new_tokens}, {settings.n_samples} sample(s) per item, engine "
                  f"{settings.engine}, backend {settings.backend}"
                  + (f", first {settings.limit} items per benchmark" if settings.limit else ""))
    console.print(f"layout: {escape(planned_layout(config))}")
    console.print(f"would write: {escape(str(Path(settings.output_dir)))} "
                  f"({COMPLETIONS_NAME}, {RESULTS_JSON}, {RESULTS_MD})")
    console.print(f"excluded ids from: {escape(exclusion.sentence())}")
    return summary


def planned_layout(config: Medr1Config) -> str:
    """How generation would use the GPUs (eval.gpus, else this machine's), without importing torch or vLLM."""
    e = config.eval
    gpus = e.gpus if e.gpus is not None else gpus_without_torch()
    if gpus == 0:
        return ("no GPU here: backend hf on CPU; --set eval.gpus=N plans a GPU machine's layout"
                + (f" (the config asks for tensor parallel {e.tensor_parallel_size})" if e.tensor_parallel_size else ""))
    try:
        reference = inspect_model(planned_model_path(config.model.name_or_path), config.model.revision)
    except ConfigError:
        reference = None
    images = any(find_benchmark(name).vqa for name in e.benchmarks)
    vllm = e.backend == "vllm" or (e.backend == "auto" and not (images and reference and reference.vision))
    sizes = reference.sharded_sizes if vllm and reference else None
    line = describe_layout(config, gpus, gpus_per_worker(config, gpus, sizes), sizes)
    backend = "vllm (auto: where vLLM is installed)" if vllm and e.backend == "auto" else ("vllm" if vllm else "hf")
    unknown = vllm and reference is None
    return f"backend {backend}: {line}" + (
        "; the model's config is not readable here, so tensor parallel is checked when the run starts" if unknown else "")
