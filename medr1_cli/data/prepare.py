"""`medr1 prepare-data`: native files -> a seeded, decontaminated, prompt-ready training set.

Steps, each reported in the manifest: read every source of the mix in its native format; index
the evaluation sets named in `eval.data`; drop candidates that overlap them (or stop / warn) and
prompts that are too long; sample each source seeded and without replacement (stratified for
sources that are also evaluation sets, whose other items are recorded as held out), checking
candidates lazily in the seeded order so only those examined are tokenized; set difficulty
and order; render prompts; write the HF dataset, a JSONL copy, `manifest.json` and the resolved
config into `<data.output_dir>/<dataset>/`, all at once or not at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medr1_cli import __version__
from medr1_cli.benchmarks import BENCHMARKS
from medr1_cli.config import Medr1Config
from medr1_cli.data.curriculum import Grading, order, read_grading_file, with_difficulty
from medr1_cli.data.decontam import EvalIndex, Item, Origin
from medr1_cli.data.formats import Loaded, LoadOptions, benchmark_of_source, load_records
from medr1_cli.data.mixes import pick
from medr1_cli.data.prepared import row_of, write_prepared
from medr1_cli.data.prompts import build_prompt
from medr1_cli.data.record import QARecord
from medr1_cli.data.sources import RawSource, read_source
from medr1_cli.errors import DataError
from medr1_cli.fsutil import atomic_directory, check_not_training_outputs, check_writable_folder
from medr1_cli.layout import DATASET_DIR, JSONL_NAME, MANIFEST_NAME, RESOLVED_CONFIG_NAME, VQA_PREPARED_DIR
from medr1_cli.models import resolve_model_path
from medr1_cli.models.loading import load_tokenizer
from medr1_cli.vqa.omnimedvqa import slug
from medr1_cli.vqa.splits import prepare_vqa, training_group


def load_options(config: Medr1Config) -> LoadOptions:
    data = config.data
    return LoadOptions(
        seed=data.seed,
        mmlu_pro_categories=tuple(data.mmlu_pro_categories),
        gpqa_domains=tuple(data.gpqa_domains),
        medmcqa_cop=data.medmcqa_cop,
        on_bad_item=data.on_bad_item,
    )


@dataclass
class SourceReport:
    name: str
    spec: str
    format: str = ""
    inputs: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    loaded: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    dropped_overlap: int = 0
    dropped_too_long: int = 0
    dropped_pass_rate: int = 0  # graded outside data.pass_rate_band
    pass_rates: dict[str, int] | None = None  # candidates per pass-rate band (below, within, above, ungraded)
    requested: Any = None
    available: int = 0
    examined: int = 0  # candidates checked (overlap, prompt length) before the quota was met
    chosen: list[str] = field(default_factory=list)
    held_out: list[str] = field(default_factory=list)
    stratified_by: str | None = None
    benchmark: str | None = None  # what the source's records are (from its name, e.g. medqa, demo-medxpertqa)
    notes: list[str] = field(default_factory=list)  # repairs made while reading, with where


@dataclass
class PrepareResult:
    output_dir: Path
    rows: int
    manifest: dict[str, Any]


def prepared_folder(config: Medr1Config) -> Path:
    """Where prepare-data writes this config's training set (and train and evaluate look for it)."""
    data = config.data
    if data.is_vqa:  # one folder per grouping and training group
        group = slug(training_group(config))
        return Path(data.output_dir) / VQA_PREPARED_DIR.format(dataset=data.dataset, split_by=data.vqa.split_by, group=group)
    return Path(data.output_dir) / data.dataset


def prepare_data(config: Medr1Config, console: Console | None = None) -> PrepareResult:
    console = console or Console(highlight=False)
    data = config.data
    check_writable_folder(prepared_folder(config), "data.output_dir")
    check_not_training_outputs(prepared_folder(config), "data.output_dir", flag="-o", name="data",
                               run_dir=config.train.output_dir, why="prepare-data replaces that folder whole, with "
                               "everything in it", hint="choose another data.output_dir (-o) or another dataset name")
    if data.is_vqa:
        return _prepare_vqa(config, console)
    started = time.perf_counter()
    mix = data.mixes[data.dataset]
    options = load_options(config)
    reports: dict[str, SourceReport] = {}
    pools: dict[str, list[QARecord]] = {}
    read_from: dict[str, tuple[Origin, set[str]]] = {}  # each source's origin and content-made ids, for Item.of

    with console.status("reading sources …"):
        for name in mix:
            spec = data.sources[name]
            loaded, raw = load_source(name, spec, config, options)
            if any(record.images for record in loaded.records):  # a text mix would drop them, silently
                raise DataError(f"data.sources.{name} ({spec}) holds questions with images ({loaded.format} format), "
                                f"and mix '{data.dataset}' is text (data.kind)",
                                hint="set data.kind: vqa to build Med-R1's per-group splits from it")
            reports[name] = SourceReport(
                name, spec, loaded.format, raw.fingerprints() if raw.files else [{"hub": raw.hub}],
                len(raw.rows), len(loaded.records), dict(sorted(loaded.skipped.items())),
                stratified_by=data.holdout.get(name), benchmark=loaded.benchmark, notes=loaded.note_lines(),
            )
            pools[name] = loaded.records
            read_from[name] = (raw.origin(), loaded.by_content)
    console.print(f"[green]✓[/] read {len(mix)} source(s): {sum(len(p) for p in pools.values())} questions")

    index, eval_sets = _evaluation_index(config, options, console)
    dropped: list[dict[str, Any]] = []
    warnings: list[str] = [
        f"data.sources.{name} names no benchmark, so its {r.format} rows were read as MedQA-USMLE questions; name "
        f"the source after its benchmark (e.g. {name}-medmcqa) to read them as that benchmark's"
        for name, r in reports.items() if r.format == "generic" and benchmark_of_source(name) is None
    ]
    if index is None:
        warnings.append("eval.data names no evaluation set: training items were not checked for contamination")

    grading = read_grading_file(data.grading_file) if data.grading_file else None
    if grading is not None:
        warnings += _grading_warnings(grading, config, pools)
    band = data.pass_rate_band
    prompt_tokens = _prompt_token_counter(config, console)
    chosen_all: list[QARecord] = []
    chosen_by_source: dict[str, list[QARecord]] = {}
    token_counts: dict[str, int] = {}
    for name, amount in mix.items():
        report, pool = reports[name], pools[name]

        def accept(candidates: list[QARecord], report: SourceReport = report, name: str = name) -> list[bool]:
            verdicts = []
            counts = prompt_tokens(candidates) if prompt_tokens else [None] * len(candidates)
            for record, count in zip(candidates, counts, strict=True):
                overlap = index.find(record, Item.of(record, *read_from[name])) \
                    if index and data.on_overlap == "drop" else None
                rate = grading.rates.get(record.id) if grading is not None and band else None
                if rate is not None and not band[0] <= rate <= band[1]:
                    report.dropped_pass_rate += 1
                    dropped.append(_dropped(record, "pass rate outside data.pass_rate_band",
                                            f"{rate:g} not in [{band[0]:g}, {band[1]:g}]"))
                elif overlap:
                    report.dropped_overlap += 1
                    dropped.append(_dropped(record, "overlaps an evaluation set",
                                            f"{overlap.kind} match with {overlap.eval_id}"))
                elif count is not None and count > data.max_prompt_tokens:
                    report.dropped_too_long += 1
                    dropped.append(_dropped(record, "prompt too long", f"{count} > {data.max_prompt_tokens} tokens"))
                else:
                    if count is not None:
                        token_counts[record.id] = count
                    verdicts.append(True)
                    continue
                verdicts.append(False)
            return verdicts

        chosen = pick(name, pool, amount, seed=data.seed, stratify_by=report.stratified_by, accept=accept)
        report.requested, report.available, report.examined = amount, chosen.available, chosen.examined
        report.chosen = sorted(r.id for r in chosen.chosen)
        if report.stratified_by:
            picked = set(report.chosen)
            report.held_out = sorted(r.id for r in pool if r.id not in picked)
        chosen_all.extend(chosen.chosen)
        chosen_by_source[name] = chosen.chosen
        if grading is not None and band:
            report.pass_rates = _band_counts(pool, grading.rates, band)

    if index and data.on_overlap in ("error", "warn"):
        overlapping = [(r, hit) for name, records in chosen_by_source.items() for r in records
                       if (hit := index.find(r, Item.of(r, *read_from[name])))]
        if overlapping and data.on_overlap == "error":
            listed = "; ".join(f"{r.id} ({hit.kind} match with {hit.eval_id})" for r, hit in overlapping[:10])
            raise DataError(
                f"{len(overlapping)} training item(s) overlap an evaluation set: {listed}",
                hint="data.on_overlap: drop replaces them with other candidates",
            )
        for record, hit in overlapping:
            warnings.append(f"{record.id} overlaps {hit.eval_id} ({hit.kind} match) and was kept (on_overlap: warn)")

    graded_records, graded = with_difficulty(chosen_all, grading.rates if grading else None)
    ordered = order(graded_records, data.curriculum, seed=data.seed, batch_size=data.curriculum_batch_size)
    if not ordered:
        raise DataError("the mix selected no question")
    rows = [row_of(record, config, token_counts.get(record.id)) for record in ordered]

    manifest = {
        "medr1_version": __version__,
        "dataset": data.dataset,
        "seed": data.seed,
        "template": data.template,
        "curriculum": data.curriculum,
        "rows": len(rows),
        "sources": {name: _report_dict(r) for name, r in reports.items()},
        "evaluation_sets": eval_sets,
        "decontamination": {
            "mode": data.on_overlap,
            "ngram": data.overlap_ngram,
            "min_share": data.overlap_min_share,
            "evaluation_items": index.size if index else 0,
            "dropped": sum(r.dropped_overlap for r in reports.values()),
        },
        "max_prompt_tokens": data.max_prompt_tokens,
        "difficulty": {"from_grading_file": graded, "from_metadata": len(ordered) - graded,
                       "grading_file": data.grading_file, "pass_rate_band": list(band) if band else None,
                       "graded_ids": sorted(r.id for r in ordered if grading and r.id in grading.rates),
                       "grading": grading.header if grading else None},
        "dropped": dropped,
        "warnings": warnings,
        "training_ids": [record.id for record in ordered],
        "held_out_ids": sorted(i for r in reports.values() for i in r.held_out),
    }
    output = prepared_folder(config)
    with atomic_directory(output, replace=True) as tmp:  # all files at once, or none
        write_prepared(tmp, rows, manifest, config)
    _print_summary(console, reports, output, len(rows), warnings, time.perf_counter() - started)
    return PrepareResult(output, len(rows), manifest)


def _prepare_vqa(config: Medr1Config, console: Console) -> PrepareResult:
    data = config.data
    source = data.vqa_source
    spec = data.sources[source]
    with console.status("reading the VQA source …"):
        raw = read_source(spec, split=data.splits.get(source))
        loaded = load_records(raw, format=data.formats.get(source, "auto"), options=load_options(config))
    if not all(record.images for record in loaded.records):
        raise DataError(f"data.sources.{source} ({spec}) is in the {loaded.format} format, which has no images",
                        hint="point it at a Med-R1 / OmniMedVQA JSON file (image, problem, solution)")
    if data.vqa.image_root:
        root = Path(data.vqa.image_root).expanduser()
    elif raw.files:
        root = raw.files[0].parent
    else:
        raise DataError(f"{spec} is a Hub dataset: set data.vqa.image_root to where its images are")
    report = {"spec": spec, "format": loaded.format, "inputs": raw.fingerprints() if raw.files else [{"hub": raw.hub}],
              "rows": len(raw.rows), "loaded": len(loaded.records), "skipped": dict(loaded.skipped),
              "image_root": str(root)}
    output = prepared_folder(config)
    rows, manifest = prepare_vqa(config, loaded.records, root, report, output, console)
    return PrepareResult(output, rows, manifest)


def load_source(name: str, spec: str, config: Medr1Config, options: LoadOptions) -> tuple[Loaded, RawSource]:
    """A mix source's records: the source's name says which benchmark they are (`medmcqa`,
    `demo-medqa`); a name that says none keeps the layout's own (MedQA-USMLE for the generic layout)."""
    try:
        raw = read_source(spec, split=config.data.splits.get(name))
        loaded = load_records(raw, format=config.data.formats.get(name, "auto"), options=options,
                              benchmark=benchmark_of_source(name))
    except DataError as err:
        raise DataError(f"data.sources.{name}: {err.message}", hint=err.hint) from None
    return loaded, raw


def _grading_warnings(grading: Grading, config: Medr1Config, pools: dict[str, list[QARecord]]) -> list[str]:
    """A grading file of other items is an error; one measured another way is worth a warning."""
    candidates = {r.id for pool in pools.values() for r in pool}
    known = candidates & grading.rates.keys()
    if not known:
        example = ", ".join(sorted(grading.rates)[:3])
        raise DataError(f"data.grading_file: none of its {len(grading.rates)} ids ({example}, …) is a candidate of "
                        f"mix {config.data.dataset}", hint="grade this mix: medr1 grade -c CONFIG (same data.dataset "
                        "and sources)")
    warnings = []
    header = grading.header
    for key, mine in (("template", config.data.template), ("model", config.model.name_or_path)):
        if header.get(key) is not None and header[key] != mine:
            warnings.append(f"data.grading_file was graded with {key} {header[key]}, this config uses {mine}: its pass "
                            "rates describe another setting")
    if len(known) < len(candidates):
        warnings.append(f"data.grading_file grades {len(known)} of the mix's {len(candidates)} candidates; the others "
                        "keep metadata difficulty" + (" and pass the pass-rate band" if config.data.pass_rate_band else ""))
    return warnings


def _band_counts(pool: list[QARecord], rates: dict[str, float], band: tuple[float, float]) -> dict[str, int]:
    counts = {"below": 0, "within": 0, "above": 0, "ungraded": 0}
    for record in pool:
        rate = rates.get(record.id)
        key = "ungraded" if rate is None else "below" if rate < band[0] else "above" if rate > band[1] else "within"
        counts[key] += 1
    return counts


def _dropped(record: QARecord, reason: str, detail: str) -> dict[str, str]:
    return {"id": record.id, "source": record.source, "reason": reason, "detail": detail}


def _report_dict(report: SourceReport) -> dict[str, Any]:
    out = {k: v for k, v in vars(report).items() if k != "name"}
    if not report.stratified_by:
        out.pop("held_out")
    return out


def _evaluation_index(config: Medr1Config, options: LoadOptions, console: Console) -> tuple[EvalIndex | None, dict]:
    """Index of every evaluation set in eval.data. A set that is also a source of the mix
    (MedXpertQA) is indexed too: its own items do not count against themselves, but a copy of one
    of them in another source does."""
    described: dict[str, Any] = {}
    items: list[tuple[Item, QARecord]] = []
    with console.status("indexing evaluation sets …"):
        for bench, spec in config.eval.data.items():
            benchmark = BENCHMARKS[bench]
            try:
                # the split evaluate will score
                raw = read_source(spec, split=benchmark.split, file_splits=benchmark.file_splits)
                loaded = load_records(raw, options=options, benchmark=benchmark.record_source)
            except DataError as err:
                raise DataError(f"eval.data.{bench}: {err.message}", hint=err.hint) from None
            # which item each is: by benchmark and id, not by how eval.data spells the file (Item)
            items += [(Item.of(record, raw.origin(), loaded.by_content), record) for record in loaded.records]
            described[bench] = {"spec": spec, "format": loaded.format, "items": len(loaded.records),
                                "inputs": raw.fingerprints() if raw.files else [{"hub": raw.hub}]}
        index = (
            EvalIndex(items, n=config.data.overlap_ngram, min_share=config.data.overlap_min_share) if items else None
        )
    if index:
        console.print(f"[green]✓[/] indexed {index.size} evaluation questions from {len(described)} set(s)")
    return index, described


def _prompt_token_counter(config: Medr1Config, console: Console):
    """A function giving each record's prompt length in tokens with the model's chat template, or
    None when data.max_prompt_tokens is null."""
    if config.data.max_prompt_tokens is None:
        return None
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    with console.status(f"loading the tokenizer of {config.model.name_or_path} …"):
        tokenizer = load_tokenizer(config.model, resolve_model_path(config.model.name_or_path))
    if not tokenizer.chat_template:
        raise DataError(
            f"the tokenizer of {config.model.name_or_path} has no chat template, so prompt lengths cannot be measured",
            hint="set model.chat_template to a Jinja template file, or data.max_prompt_tokens: null",
        )

    def count(records: list[QARecord]) -> list[int]:
        texts = [
            tokenizer.apply_chat_template(
                build_prompt(r, config.data.template, config.data.system_prompt), tokenize=False,
                add_generation_prompt=True,
            )
            for r in records
        ]
        encoded = tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
        return [len(ids) for ids in encoded]

    return count


def _print_summary(console, reports, output: Path, rows: int, warnings: list[str], seconds: float) -> None:
    table = Table(title=f"prepared {rows} training questions in {seconds:.1f} s")
    banded = any(r.pass_rates is not None for r in reports.values())
    columns = ("source", "format", "questions", "skipped", "overlap", "too long", *(("pass rate",) if banded else ()),
               "chosen", "held out")
    for column in columns:
        text = column in ("source", "format")
        table.add_column(column, justify="left" if text else "right", no_wrap=text)
    for r in reports.values():
        table.add_row(
            r.name, r.format, str(r.loaded), str(sum(r.skipped.values())), str(r.dropped_overlap),
            str(r.dropped_too_long), *((str(r.dropped_pass_rate),) if banded else ()), str(len(r.chosen)),
            str(len(r.held_out)) if r.stratified_by else "—",
        )
    console.print(table)
    for r in reports.values():
        if r.pass_rates is not None:
            console.print(f"{escape(r.name)}: candidates by graded pass rate — " + ", ".join(
                f"{count} {band}" for band, count in r.pass_rates.items()) + " the band")
    for r in reports.values():
        if r.skipped:
            listed = ", ".join(f"{count} {reason}" for reason, count in r.skipped.items())
            console.print(f"{escape(r.name)}: skipped {escape(listed)}")
        for note in r.notes:
            console.print(f"{escape(r.name)}: {escape(note)}")
    for warning in warnings[:5]:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    if len(warnings) > 5:
        console.print(f"[yellow]… {len(warnings) - 5} more warnings in the manifest[/]")
    console.print(f"outputs: [cyan]{escape(str(output))}[/] ({DATASET_DIR}/, {JSONL_NAME}, {MANIFEST_NAME}, {RESOLVED_CONFIG_NAME})")
