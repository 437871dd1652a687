"""`medr1 grade`: how often a model solves each candidate of a training mix (pass@k), measured with the
evaluation engine — the same backends, data-parallel workers, resumable completion store and extractor —
asked as training asks (the training template, system prompt and TRL's sampling settings).

GRPO learns nothing from a group whose completions all get the same reward: an item the model always
or never solves costs a full rollout and teaches nothing. The grading file this writes lets
prepare-data keep the items within a pass-rate band (`data.pass_rate_band`) and order a curriculum by
measured difficulty (`data.grading_file`).

The grading file is JSONL: a header line {"medr1_grading": {model, template, sampling, k, …}} that
prepare-data checks against its own config, then one row per item:
{"id", "source", "pass_rate", "k", "unparseable", "truncated", "mean_tokens"}.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medr1_cli import __version__
from medr1_cli.answers import extract_answer
from medr1_cli.config import Medr1Config
from medr1_cli.data.curriculum import HEADER_KEY
from medr1_cli.data.prepare import load_options, load_source
from medr1_cli.data.prompts import TEMPLATES
from medr1_cli.data.record import QARecord
from medr1_cli.errors import ConfigError
from medr1_cli.evaluate.generate import (
    CompletionStore, backend_for, model_fingerprint, sample_requests, settings_fingerprint, superseded_note,
)
from medr1_cli.fsutil import atomic_write_text, check_not_training_outputs, check_writable_folder
from medr1_cli.layout import COMPLETIONS_NAME, GRADING_DIR
from medr1_cli.models import describe_model_reference, resolve_model_path

# Pass-rate bins of the printed histogram: never solved, then quarters, then always solved.
BINS = (("0", lambda r: r == 0.0), ("(0, .25]", lambda r: 0 < r <= 0.25), ("(.25, .5]", lambda r: 0.25 < r <= 0.5),
        ("(.5, .75]", lambda r: 0.5 < r <= 0.75), ("(.75, 1)", lambda r: 0.75 < r < 1), ("1", lambda r: r == 1.0))


def default_output(config: Medr1Config) -> Path:
    return Path(config.data.output_dir) / GRADING_DIR / f"{config.data.dataset}.jsonl"


def grading_settings(config: Medr1Config, k: int, store_folder: Path) -> Medr1Config:
    """The config evaluation's engine generates with: training's template and TRL's sampling, k samples."""
    from trl import GRPOConfig

    defaults = {f.name: f.default for f in dataclasses.fields(GRPOConfig)}
    grpo = config.train.grpo
    sampling = {key: grpo.get(key, defaults[key]) for key in ("temperature", "top_p", "max_completion_length")}
    if sampling["temperature"] <= 0:
        raise ConfigError("train.grpo.temperature is 0: every sample would be the same, and a pass rate needs k "
                          "different ones", hint="grade with the temperature training samples at (TRL's default 1.0)")
    e = config.eval.model_copy(update={
        "template": config.data.template, "system_prompt": config.data.system_prompt, "protocol": "medr1",
        "temperature": sampling["temperature"], "top_p": sampling["top_p"],
        "max_new_tokens": sampling["max_completion_length"], "n_samples": k, "output_dir": str(store_folder),
    })
    return config.model_copy(update={"eval": e})


def candidates(config: Medr1Config, limit: int | None) -> dict[str, list[QARecord]]:
    """Every candidate of the mix's sources (before sampling), or a seeded `limit` of each."""
    options = load_options(config)
    pools = {}
    for name in config.data.mixes[config.data.dataset]:
        records = sorted(load_source(name, config.data.sources[name], config, options)[0].records, key=lambda r: r.id)
        if limit is not None and limit < len(records):
            random.Random(f"{config.data.seed}:grade:{name}").shuffle(records)
            records = sorted(records[:limit], key=lambda r: r.id)
        pools[name] = records
    return pools


def run_grade(config: Medr1Config, *, k: int, output: Path | None = None, limit: int | None = None,
              console: Console | None = None) -> dict[str, Any]:
    from medr1_cli.evaluate.run import generate_missing

    console = console or Console(highlight=False)
    if k < 2:
        raise ConfigError(f"--k {k}: a pass rate that tells learnable items apart needs at least 2 samples per item",
                          hint="GRPO's num_generations is the natural choice")
    if config.eval.engine != "native":
        raise ConfigError("medr1 grade generates with the native engine (hf or vllm backends)",
                          hint="leave eval.engine at native for grading")
    output = Path(output) if output else default_output(config)
    if output.suffix != ".jsonl" or output.is_dir():
        # the completion store goes in the folder of the file's name without .jsonl, beside the file
        raise ConfigError(f"--output {output}: {'is a folder' if output.is_dir() else 'does not end in .jsonl'}",
                          hint=f"give the grading file's path, e.g. "
                          f"{output / 'grading.jsonl' if output.is_dir() else output.with_suffix('.jsonl')}")
    store_folder = output.with_suffix("")  # grading/<dataset>/completions.jsonl beside grading/<dataset>.jsonl
    check_writable_folder(output.parent, "--output")
    check_not_training_outputs(store_folder, "--output", flag="--output", name="grading",
                               run_dir=config.train.output_dir,
                               subject=f"--output {output}: its completion store would go in {store_folder}, which",
                               why=f"its {COMPLETIONS_NAME} would sit among the run's files, where analyze reads that "
                               "name as the run's rollout log (the name older runs gave it)",
                               hint=f"give another grading file, e.g. --output {default_output(config)}")
    describe_model_reference(config.model.name_or_path, revision=config.model.revision)
    settings = grading_settings(config, k, store_folder)
    pools = candidates(config, limit)
    total = sum(len(p) for p in pools.values())
    if not total:
        raise ConfigError(f"the mix {config.data.dataset} has no candidates to grade")

    model_path = resolve_model_path(config.model.name_or_path)
    backend = backend_for(settings, model_path)
    model_id = model_fingerprint(model_path, config.model.revision)
    settings_id = settings_fingerprint(settings, backend)
    store = CompletionStore(store_folder / COMPLETIONS_NAME)
    requests = dict(zip(pools, sample_requests({f"grade:{name}": records for name, records in pools.items()},
                                               settings, model_id, settings_id, k).values(), strict=True))
    missing = {name: [r for r in reqs if r.key not in store.done] for name, reqs in requests.items()}
    if note := superseded_note(store, missing):
        console.print(f"[yellow]{escape(note)}[/]")
    console.print(f"grading {total} candidates × {k} samples with {escape(config.model.name_or_path)} (template "
                  f"{settings.eval.template}, temperature {settings.eval.temperature}, top_p {settings.eval.top_p}, "
                  f"{settings.eval.max_new_tokens} new tokens): {sum(len(m) for m in missing.values())} to generate, "
                  f"the rest reused from {escape(str(store.path))}")
    backend_name, _ = generate_missing(missing, {}, settings, model_path, store, store_folder,
                                       f"{model_id}-{settings_id}", console)
    store.fold_shards()

    thinks = TEMPLATES[settings.eval.template].thinks
    samples: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for name, reqs in requests.items():
        for r in reqs:
            samples[name, r.item_id].append(store.done[r.key])
    rows = [_grade_item(name, record, samples[name, record.id], thinks) for name, records in pools.items()
            for record in records]
    header = {HEADER_KEY: {
        "medr1_version": __version__, "model": config.model.name_or_path, "revision": config.model.revision,
        "model_fingerprint": model_id, "dataset": config.data.dataset, "template": settings.eval.template,
        "system_prompt": settings.eval.system_prompt, "temperature": settings.eval.temperature,
        "top_p": settings.eval.top_p, "max_new_tokens": settings.eval.max_new_tokens, "k": k, "limit": limit,
        "backend": backend_name, "items": len(rows),
    }}
    atomic_write_text(output, "\n".join(json.dumps(row, ensure_ascii=False) for row in [header, *rows]) + "\n")
    summary = histogram(rows)
    _print(console, summary, output, k)
    return {"output": str(output), "items": len(rows), "k": k, "per_source": summary, "rows": rows}


def _grade_item(source: str, record: QARecord, samples: list[dict], thinks: bool) -> dict[str, Any]:
    verdicts = [extract_answer(s["completion"], record.options, require_think=thinks) for s in samples]
    n = len(samples)
    return {"id": record.id, "source": source, "pass_rate": sum(v.is_correct(record.answer) for v in verdicts) / n,
            "k": n, "unparseable": sum(v.unparseable for v in verdicts) / n,
            "truncated": sum(bool(s["hit_limit"]) for s in samples) / n,
            "mean_tokens": sum(s["tokens"] for s in samples) / n}


def histogram(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per source: items per pass-rate bin, and the share GRPO could not learn from (pass rate 0 or 1)."""
    by_source: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        by_source[row["source"]].append(row["pass_rate"])
    return {source: {"items": len(rates), "bins": {label: sum(test(r) for r in rates) for label, test in BINS},
                     "zero_advantage": sum(r in (0.0, 1.0) for r in rates) / len(rates),
                     "mean_pass_rate": sum(rates) / len(rates)}
            for source, rates in by_source.items()}


def _print(console: Console, summary: dict[str, dict[str, Any]], output: Path, k: int) -> None:
    table = Table(title=f"pass rates over {k} samples per item")
    for column in ("source", "items", *(label for label, _ in BINS), "mean", "zero-advantage"):
        table.add_column(column, justify="left" if column == "source" else "right")
    for source, s in summary.items():
        table.add_row(escape(source), str(s["items"]), *(str(s["bins"][label]) for label, _ in BINS),
                      f"{s['mean_pass_rate']:.2f}", f"{100 * s['zero_advantage']:.0f} %")
    console.print(table)
    console.print("zero-advantage: items every sample solves (1) or none does (0) — every completion of their "
                  "group gets the same reward, so GRPO learns nothing from them")
    console.print(f"grading file: [cyan]{escape(str(output))}[/]; keep the learnable ones with "
                  f"`medr1 prepare-data --set data.grading_file={escape(str(output))} --set "
                  "data.pass_rate_band=[0.1,0.9]`")
