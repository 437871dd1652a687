"""A benchmark's items for an evaluation: read from eval.data or the entry's default data, its
protocol applied, repeated questions counted (or dropped, eval.dedup) and training items left out."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from medr1_cli.benchmarks import Benchmark
from medr1_cli.config import Medr1Config
from medr1_cli.data.decontam import words
from medr1_cli.data.formats import load_records, question_id
from medr1_cli.data.prepare import load_options, prepared_folder
from medr1_cli.data.record import QARecord
from medr1_cli.data.sources import read_source, read_text
from medr1_cli.errors import DataError
from medr1_cli.layout import MANIFEST_NAME, VQA_PREPARED_DIR, VQA_TEST_FILE
from medr1_cli.vqa.omnimedvqa import slug


@dataclass
class BenchmarkData:
    benchmark: Benchmark
    records: list[QARecord]
    specs: list[str]
    excluded: int  # items left out because the model trained on them
    skipped: dict[str, int]
    notes: list[str]  # protocol choices and repairs, printed with the results
    layouts: list[str]  # the row layout read from each spec
    rows: int  # items the data holds for this benchmark, before de-duplication and exclusion
    distinct: int  # distinct questions among them (same text and the same options, in any order)
    deduplicated: bool  # whether repeated questions were scored once (eval.dedup)


def training_ids(config: Medr1Config) -> tuple[set[str], str | None]:
    """Ids to leave out: eval.exclude_manifest, else the manifest of the config's own prepared mix."""
    path = Path(config.eval.exclude_manifest) if config.eval.exclude_manifest else (
        prepared_folder(config) / MANIFEST_NAME
    )
    if not path.is_file():
        if config.eval.exclude_manifest:
            raise DataError(f"eval.exclude_manifest: {path} {'is a folder' if path.is_dir() else 'does not exist'}",
                            hint=f"give the {MANIFEST_NAME} that prepare-data wrote")
        return set(), None
    setting = "eval.exclude_manifest" if config.eval.exclude_manifest else "the prepared mix's manifest"
    try:
        manifest = json.loads(read_text(path))  # a byte that is not UTF-8 is named with its line
    except json.JSONDecodeError as err:
        raise DataError(f"{setting}: {path}:{err.lineno} is not a JSON manifest ({err})",
                        hint=f"give the {MANIFEST_NAME} that prepare-data wrote") from None
    ids = manifest.get("training_ids") if isinstance(manifest, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise DataError(f"{setting}: {path} has no list of training_ids; it is not a prepare-data manifest",
                        hint=f"give the {MANIFEST_NAME} that prepare-data wrote")
    return set(ids), str(path)


def vqa_test_file(benchmark: Benchmark, config: Medr1Config) -> Path:
    """The test split of a Med-R1 group, from the prepared folder of this config (or, when the config
    trains on another grouping, any prepared folder of the benchmark's grouping: test splits do not
    depend on which group trains)."""
    grouping, group = benchmark.vqa
    name = VQA_TEST_FILE.format(group=slug(group))
    if config.data.is_vqa and config.data.vqa.split_by == grouping and (own := prepared_folder(config) / name).is_file():
        return own
    # a vqa config reads its own mix's splits; any other reads whichever VQA mix was prepared, if only one was
    mix = config.data.dataset if config.data.is_vqa else "*"
    prepared = sorted(Path(config.data.output_dir).glob(
        f"{VQA_PREPARED_DIR.format(dataset=mix, split_by=grouping, group='*')}/{name}"))
    mixes = sorted({path.parent.name.partition(f"-{grouping}-")[0] for path in prepared})
    if len(mixes) > 1:
        raise DataError(f"benchmark '{benchmark.name}': {config.data.output_dir} holds the {name} of several VQA mixes "
                        f"({', '.join(mixes)})", hint=f"evaluate with the config of the mix you mean (data.dataset), or "
                        f"point eval.data.{benchmark.name} at one of them")
    if not prepared:
        dataset = config.data.dataset if config.data.is_vqa else "omnimedvqa"
        raise DataError(
            f"benchmark '{benchmark.name}': no {name} in {config.data.output_dir}",
            hint=f"run `medr1 prepare-data --dataset {dataset} --split-by {grouping}` with the same "
            f"data.output_dir first, or point eval.data.{benchmark.name} at a Med-R1 JSON file",
        )
    return prepared[0]


def load_benchmark(benchmark: Benchmark, config: Medr1Config, exclude: set[str]) -> BenchmarkData:
    if benchmark.name in config.eval.data:
        specs = [config.eval.data[benchmark.name]]
    elif benchmark.vqa:
        specs = [str(vqa_test_file(benchmark, config))]
    else:
        specs = list(benchmark.default_data)
    # A file given for one benchmark holds that benchmark's records, whatever its layout (the generic
    # {question, options, answer_idx} layout holds any benchmark's; the bundle names one per group).
    records: list[QARecord] = []
    skipped: dict[str, int] = {}
    layouts: list[str] = []
    repairs: list[str] = []
    for spec in specs:
        try:
            raw = read_source(spec, split=benchmark.split)
        except DataError as err:
            local = Path(spec).expanduser().exists()
            raise DataError(f"benchmark '{benchmark.name}': {err.message}",
                            hint=err.hint if local and err.hint else _data_hint(benchmark, spec)) from None
        try:
            # Evaluation sets keep repeated rows: their owners score every row (eval.dedup says otherwise).
            loaded = load_records(raw, options=load_options(config), benchmark=benchmark.record_source,
                                  keep_duplicates=True)
        except DataError as err:
            raise DataError(f"benchmark '{benchmark.name}': {err.message}", hint=err.hint or _data_hint(benchmark, spec)) \
                from None
        layouts.append(loaded.format)
        repairs += loaded.note_lines()
        kept = [r for r in loaded.records if r.source in benchmark.sources]
        if raw.files and any(r.images for r in kept):
            # Relative image paths start at data.vqa.image_root (Med-R1's own files name paths from the
            # OmniMedVQA root), else at the file that names them (the test splits prepare-data writes).
            own_file = benchmark.name in config.eval.data
            root = Path(config.data.vqa.image_root).expanduser() if own_file and config.data.vqa.image_root \
                else raw.files[0].parent
            kept = [replace(r, images=tuple(str(root / i) for i in r.images)) for r in kept]
        records += kept
        for reason, count in loaded.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + count
    records, notes = benchmark.select(records, config)
    rows = len(records)
    records, distinct, dedup_notes = _deduplicate(benchmark, records, config)
    allowed = [r for r in records if question_id(r.id) not in exclude]  # a repeat of a training item is one too
    excluded = len(records) - len(allowed)
    kept = allowed[: config.eval.limit] if config.eval.limit else allowed
    if not kept:
        raise DataError(
            f"benchmark '{benchmark.name}' has no items left ({rows} read from {', '.join(specs)}, "
            f"{excluded} excluded as training items)"
        )
    return BenchmarkData(benchmark, kept, specs, excluded, skipped, notes + dedup_notes + repairs, layouts, rows,
                         distinct, benchmark.name in config.eval.dedup)


def _data_hint(benchmark: Benchmark, spec: str) -> str:
    if Path(spec).expanduser().exists():
        return f"fix the file, or point eval.data.{benchmark.name} at another one (`medr1 benchmarks` lists the layouts read)"
    return (f"point eval.data.{benchmark.name} at a local file or folder (e.g. --set "
            f"eval.data.{benchmark.name}=path/to/{benchmark.name}.jsonl)")


def _deduplicate(benchmark: Benchmark, records: list[QARecord], config: Medr1Config) -> tuple[list[QARecord], int, list[str]]:
    """Repeated questions — the same text with the same options, in any order — are scored once only
    for the benchmarks in eval.dedup; otherwise every row counts, as the benchmark's owners count
    (MMLU-Pro repeats some questions, and its published tables score each row). Either way it is said."""
    first: dict[tuple, QARecord] = {}
    for record in records:
        key = (" ".join(words(record.question)), frozenset(" ".join(words(t)) for t in record.options.values()))
        first.setdefault(key, record)
    distinct = len(first)
    if distinct == len(records):
        return records, distinct, []
    if benchmark.name in config.eval.dedup:
        kept = {id(r) for r in first.values()}
        return [r for r in records if id(r) in kept], distinct, [
            f"{len(records)} rows hold {distinct} distinct questions: each is scored once (eval.dedup)"]
    return records, distinct, [
        f"{len(records)} rows hold {distinct} distinct questions: every row is scored, as the benchmark's owners "
        f"count (add {benchmark.name} to eval.dedup to score each question once)"]
