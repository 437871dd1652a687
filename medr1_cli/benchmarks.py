"""The evaluation benchmarks, lm-eval style: one small declarative entry each — where its data comes
from, which records it keeps, what its results break down by, and the protocol hook that selects its
items. Config validation, prepare-data's decontamination and evaluation all read this one registry,
which imports only the data model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from medr1_cli.vqa.omnimedvqa import GROUPINGS, slug
from medr1_cli.data.record import QARecord
from medr1_cli.errors import ConfigError, DataError
from medr1_cli.suggest import did_you_mean

if TYPE_CHECKING:
    from medr1_cli.config import Medr1Config

# (records, config) -> (the records evaluated, what was chosen, said with the results)
Protocol = Callable[[list[QARecord], "Medr1Config"], tuple[list[QARecord], list[str]]]


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    sources: tuple[str, ...]  # record.source values it keeps (a bundle holds five benchmarks)
    default_data: tuple[str, ...]  # where its data comes from when eval.data does not say
    split: str  # the split of a folder or Hub dataset
    size: str  # the documented size, for `medr1 benchmarks`
    breakdown: tuple[str, ...] = ()  # Metadata fields results are broken down by
    vqa: tuple[str, str] | None = None  # (grouping, group): a Med-R1 test split written by prepare-data
    protocol: Protocol | None = None  # its owners' item selection, when a setting asks for one
    # what local copies name its file, where the Hub's split name differs (PubMedQA's and GPQA's only Hub
    # split is `train`, yet they are evaluation sets: MedAgents' and HuatuoGPT-o1's copies are test files)
    file_splits: tuple[str, ...] = ()

    @property
    def record_source(self) -> str | None:
        """What a file given for this benchmark holds (None for the demo, which mixes two)."""
        return self.sources[0] if len(self.sources) == 1 else None

    def select(self, records: list[QARecord], config: Medr1Config) -> tuple[list[QARecord], list[str]]:
        return self.protocol(records, config) if self.protocol else (records, [])


def pubmedqa_test_protocol(records: list[QARecord], config: Medr1Config) -> tuple[list[QARecord], list[str]]:
    """eval.pubmedqa_protocol 'test': the 500 official test questions of PQA-L, not all 1000."""
    if config.eval.pubmedqa_protocol != "test":
        return records, []
    test = [r for r in records if r.metadata.split == "test"]
    if not test:
        raise DataError(
            "eval.pubmedqa_protocol 'test' needs the official test labels: put test_ground_truth.json beside "
            "ori_pqal.json",
            hint="or use eval.pubmedqa_protocol: pqa-l (all 1000 labelled questions)",
        )
    return test, [f"official test protocol: {len(test)} of {len(records)} questions"]


def _vqa_benchmarks() -> tuple[Benchmark, ...]:
    """One benchmark per Med-R1 group: the test split prepare-data writes for it."""
    return tuple(
        Benchmark(f"vqa-{slug(group)}", f"VQA {group}", ("omnimedvqa",), (), "test",
                  f"{grouping} test split",
                  ("question_type",) if grouping == "modality" else ("modality",), vqa=(grouping, group))
        for grouping, groups in GROUPINGS.items() for group in groups
    )


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("medmcqa", "MedMCQA", ("medmcqa",), ("openlifescienceai/medmcqa",), "validation",
                  "4183 (validation)", ("subject",)),
        Benchmark("medqa", "MedQA-USMLE", ("medqa",), ("GBaker/MedQA-USMLE-4-options",), "test",
                  "1273 (4-option test)", ("step",)),
        Benchmark("pubmedqa", "PubMedQA", ("pubmedqa",), ("qiaojin/PubMedQA:pqa_labeled",), "train",
                  "1000 PQA-L (500 official test)", ("split",), protocol=pubmedqa_test_protocol, file_splits=("test",)),
        Benchmark("mmlu_pro_med", "MMLU-Pro Medical", ("mmlu_pro",), ("TIGER-Lab/MMLU-Pro",), "test",
                  "1535 (health 818 + biology 717)", ("category",)),
        Benchmark("gpqa_med", "GPQA Medical", ("gpqa",), ("Idavidrein/gpqa:gpqa_main",), "train",
                  "78 (Biology of GPQA main)", ("subject",), file_splits=("test",)),
        Benchmark("medxpertqa", "MedXpertQA", ("medxpertqa",), ("TsinghuaC3I/MedXpertQA:Text",), "test",
                  "2450 (1861 Reasoning + 589 Understanding)", ("question_type", "medical_task", "body_system")),
        Benchmark("demo", "Demo (held out)", ("medqa", "medxpertqa"), ("builtin:medqa", "builtin:medxpertqa"),
                  "test", "128 built-in questions less those the demo mix trains on", ("source",)),
        *_vqa_benchmarks(),
    )
}
# The six text benchmarks of the reference evaluation: eval.benchmarks' default.
TEXT_BENCHMARKS = ("medmcqa", "medqa", "pubmedqa", "mmlu_pro_med", "gpqa_med", "medxpertqa")


def find_benchmark(name: str) -> Benchmark:
    if name in BENCHMARKS:
        return BENCHMARKS[name]
    raise ConfigError(f"unknown benchmark '{name}'{did_you_mean(name, BENCHMARKS)}; known: {', '.join(BENCHMARKS)}")
