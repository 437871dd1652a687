"""The canonical question record that crosses every module border (loaders → mixes → prompts → evaluation),
and the raw row a loader reads it from."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row of a source as read (`sources.read_source`), before a format's loader makes it a QARecord."""

    where: str  # "path:line" or "hub-id[split] row N": shown in every error about this row
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Metadata:
    """What a benchmark says about a question, under one set of names for every source."""

    subject: str | None = None  # MedMCQA subject_name, GPQA Subdomain
    topic: str | None = None  # MedMCQA topic_name
    step: str | None = None  # MedQA meta_info: "step1" or "step2&3"
    question_type: str | None = None  # MedXpertQA: "Reasoning" / "Understanding"; OmniMedVQA: its five types
    modality: str | None = None  # OmniMedVQA imaging modality (CT, MRI, X-Ray, …)
    medical_task: str | None = None  # MedXpertQA
    body_system: str | None = None  # MedXpertQA
    category: str | None = None  # MMLU-Pro category
    split: str | None = None  # the release split the item came from, when known
    difficulty: float | None = None  # 0 (easy) … 1 (hard), set by the curriculum step


@dataclass(frozen=True, slots=True)
class QARecord:
    """One multiple-choice question.

    `question` never contains the options: loaders strip options a release embeds in the question
    text (MedXpertQA), so every prompt lists them exactly once, in the same style.
    """

    id: str
    source: str
    question: str
    options: dict[str, str]  # letter -> text, in display order
    answer: str  # the correct letter, always a key of `options`
    metadata: Metadata = field(default_factory=Metadata)
    images: tuple[str, ...] = ()

    def as_row(self) -> dict:
        return {
            "id": self.id,
            "source": self.source,
            "question": self.question,
            "options": dict(self.options),
            "answer": self.answer,
            **asdict(self.metadata),
        }


def content_id(prefix: str, *parts: str) -> str:
    """A stable id from the content itself, for releases whose rows carry none (MedQA, the bundle)."""
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]
    return f"{prefix}-{digest}"
