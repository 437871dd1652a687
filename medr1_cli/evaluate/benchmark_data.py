"""A benchmark's items for an evaluation: read from eval.data or the entry's default data, its
protocol applied, repeated questions counted (or dropped, eval.dedup) and training items left out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from medr1_cli.benchmarks import Benchmark
from medr1_cli.config import Medr1Config
from medr1_cli.data.decontam import words
from medr1_cli.data.formats import load_records, question_id
from medr1_cli.data.prepare import load_options, prepared_folder
from medr1_cli.data.record import QARecord
from medr1_cli.data.sources import read_source
from medr1_cli.errors import DataError
from medr1_cli.layout import MANIFEST_NAME, VQA_PREPARED_DIR, VQA_TEST_FILE, lineage_file
from medr1_cli.lineage import Lineage, data_changes, read_lineage
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


@dataclass(frozen=True)
class Exclusion:
    """The items an evaluation leaves out as the model's training items, and where that list came from."""

    lineage: Lineage | None
    origin: str  # "eval.exclude_manifest", "the model's lineage", "the config's prepared mix" or "none"
    notes: tuple[str, ...] = ()  # e.g. the config's prepared mix is not the one the model trained on

    @property
    def ids(self) -> frozenset[str]:
        return self.lineage.training_ids if self.lineage else frozenset()

    def describe(self) -> dict[str, Any]:
        """What results.json records: the origin, and the file with its digest and its count of ids."""
        return {"from": self.origin, **(self.lineage.describe() if self.lineage else {"training_ids": 0}),
                "notes": list(self.notes)}

    def sentence(self) -> str:
        if self.lineage is None:
            return ("no training manifest: no item is left out as a training item (the model has no lineage, the "
                    "config's mix is not prepared, and eval.exclude_manifest names none)")
        return (f"leaving out the {len(self.ids)} training items of {self.origin} ({self.lineage.path}, sha256 "
                f"{self.lineage.sha256[:12]})")


def exclusion_for(config: Medr1Config) -> Exclusion:
    """Which training items to leave out: eval.exclude_manifest always; else the evaluated model's own
    lineage (its run's manifest, kept by checkpoints and exports); else, for a model medr1 did not
    train, the config's prepared mix. The prepared folder is a last resort because any later
    prepare-data rewrites it: a run's own record cannot go stale."""
    if config.eval.exclude_manifest:
        return Exclusion(read_lineage(Path(config.eval.exclude_manifest), "eval.exclude_manifest"),
                         "eval.exclude_manifest")
    prepared = prepared_folder(config) / MANIFEST_NAME
    own = lineage_file(config.model.name_or_path)
    if own is not None:
        lineage = read_lineage(Path(own), "the model's lineage")
        notes = ()
        if prepared.is_file():
            changes = data_changes(lineage.manifest, read_lineage(prepared, "the prepared mix's manifest").manifest)
            if changes:
                notes = (f"the config's prepared mix {prepared} is not the data this model trained on "
                         f"({'; '.join(changes)}): the model's own training items are left out",)
        return Exclusion(lineage, "the model's lineage", notes)
    if prepared.is_file():
        return Exclusion(read_lineage(prepared, "the prepared mix's manifest"), "the config's prepared mix")
    return Exclusion(None, "none")


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


def load_benchmark(benchmark: Benchmark, config: Medr1Config, exclude: frozenset[str]) -> BenchmarkData:
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
            raw = read_source(spec, split=benchmark.split, file_splits=benchmark.file_splits)
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
