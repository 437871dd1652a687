"""The evaluation benchmarks: small declarative entries saying where each one's data comes from,
which records it keeps, and what it breaks results down by."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from medr1_cli.config import Medr1Config
from medr1_cli.data.formats import load_records
from medr1_cli.data.prepare import MANIFEST_NAME, load_options, prepared_folder
from medr1_cli.data.record import QARecord
from medr1_cli.data.sources import read_source
from medr1_cli.errors import ConfigError, DataError
from medr1_cli.suggest import did_you_mean


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    sources: tuple[str, ...]  # record.source values it keeps (a bundle holds five benchmarks)
    default_data: tuple[str, ...]  # where its data comes from when eval.data does not say
    split: str  # the split of a folder or Hub dataset
    size: str  # the documented size, for `medr1 benchmarks`
    breakdown: tuple[str, ...] = ()  # Metadata fields results are broken down by


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("medmcqa", "MedMCQA", ("medmcqa",), ("openlifescienceai/medmcqa",), "validation",
                  "4183 (validation)", ("subject",)),
        Benchmark("medqa", "MedQA-USMLE", ("medqa",), ("GBaker/MedQA-USMLE-4-options",), "test",
                  "1273 (4-option test)", ("step",)),
        Benchmark("pubmedqa", "PubMedQA", ("pubmedqa",), ("qiaojin/PubMedQA:pqa_labeled",), "train",
                  "1000 PQA-L (500 official test)", ("split",)),
        Benchmark("mmlu_pro_med", "MMLU-Pro Medical", ("mmlu_pro",), ("TIGER-Lab/MMLU-Pro",), "test",
                  "1535 (health 818 + biology 717)", ("category",)),
        Benchmark("gpqa_med", "GPQA Medical", ("gpqa",), ("Idavidrein/gpqa:gpqa_main",), "train",
                  "78 (Biology of GPQA main)", ("subject",)),
        Benchmark("medxpertqa", "MedXpertQA", ("medxpertqa",), ("TsinghuaC3I/MedXpertQA:Text",), "test",
                  "2450 (1861 Reasoning + 589 Understanding)", ("question_type", "medical_task", "body_system")),
        Benchmark("demo", "Demo (held out)", ("medqa", "medxpertqa"), ("builtin:medqa", "builtin:medxpertqa"),
                  "test", "128 built-in questions less those the demo mix trains on", ("source",)),
    )
}


def find_benchmark(name: str) -> Benchmark:
    if name in BENCHMARKS:
        return BENCHMARKS[name]
    raise ConfigError(f"unknown benchmark '{name}'{did_you_mean(name, BENCHMARKS)}; known: {', '.join(BENCHMARKS)}")


@dataclass
class BenchmarkData:
    benchmark: Benchmark
    records: list[QARecord]
    specs: list[str]
    excluded: int  # items left out because the model trained on them
    skipped: dict[str, int]
    notes: list[str]  # protocol choices, printed with the results


def training_ids(config: Medr1Config) -> tuple[set[str], str | None]:
    """Ids to leave out: eval.exclude_manifest, else the manifest of the config's own prepared mix."""
    path = Path(config.eval.exclude_manifest) if config.eval.exclude_manifest else (
        prepared_folder(config) / MANIFEST_NAME
    )
    if not path.is_file():
        if config.eval.exclude_manifest:
            raise DataError(f"eval.exclude_manifest: {path} does not exist")
        return set(), None
    return set(json.loads(path.read_text(encoding="utf-8"))["training_ids"]), str(path)


def load_benchmark(benchmark: Benchmark, config: Medr1Config, exclude: set[str]) -> BenchmarkData:
    specs = [config.eval.data[benchmark.name]] if benchmark.name in config.eval.data else list(benchmark.default_data)
    records: list[QARecord] = []
    skipped: dict[str, int] = {}
    for spec in specs:
        try:
            raw = read_source(spec, split=benchmark.split)
        except DataError as err:
            raise DataError(
                f"benchmark '{benchmark.name}': {err.message}",
                hint=f"point eval.data.{benchmark.name} at a local file or folder (e.g. --set "
                f"eval.data.{benchmark.name}=path/to/{benchmark.name}.jsonl)",
            ) from None
        loaded = load_records(raw, options=load_options(config))
        records += [r for r in loaded.records if r.source in benchmark.sources]
        for reason, count in loaded.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + count
    records, notes = _apply_protocol(benchmark, records, config)
    allowed = [r for r in records if r.id not in exclude]
    excluded = len(records) - len(allowed)
    kept = allowed[: config.eval.limit] if config.eval.limit else allowed
    if not kept:
        raise DataError(
            f"benchmark '{benchmark.name}' has no items left ({len(records)} read from {', '.join(specs)}, "
            f"{excluded} excluded as training items)"
        )
    return BenchmarkData(benchmark, kept, specs, excluded, skipped, notes)


def _apply_protocol(benchmark: Benchmark, records: list[QARecord], config: Medr1Config) -> tuple[list[QARecord], list[str]]:
    """Benchmark-specific item selection, each said in the output."""
    from medr1_cli.data.decontam import words

    if benchmark.name == "pubmedqa" and config.eval.pubmedqa_protocol == "test":
        test = [r for r in records if r.metadata.split == "test"]
        if not test:
            raise DataError(
                "eval.pubmedqa_protocol 'test' needs the official test labels: put test_ground_truth.json beside "
                "ori_pqal.json",
                hint="or use eval.pubmedqa_protocol: pqa-l (all 1000 labelled questions)",
            )
        return test, [f"official test protocol: {len(test)} of {len(records)} questions"]
    if benchmark.name == "gpqa_med" and config.eval.gpqa_dedup:
        seen: set[str] = set()
        unique = []
        for record in records:
            key = " ".join(words(record.question))
            if key not in seen:
                seen.add(key)
                unique.append(record)
        if len(unique) < len(records):
            return unique, [f"{len(records)} items are {len(unique)} distinct questions: each is scored once"]
    return records, []
