"""Is a training question also an evaluation question? Normalised exact match, or a large share of
its long word n-grams found in evaluation questions.

A single shared 13-gram is not enough: exam questions share stock stems ("which of the following is
the most appropriate next step in management of this patient" is 15 words), so one hit would flag
unrelated questions. A copied question keeps most of its n-grams even when a number or a name is
changed, so the share of hits separates the two.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from medr1_cli.data.record import QARecord

_NON_WORD = re.compile(r"[^0-9a-z]+")


def words(text: str) -> list[str]:
    return _NON_WORD.sub(" ", text.lower()).split()


@dataclass(frozen=True)
class Overlap:
    kind: str  # "exact" or "ngram"
    eval_id: str


Item = tuple[str, str]  # (the set's source spec, item id)


class EvalIndex:
    """Every evaluation question's normalised text and word n-grams, for fast membership tests."""

    def __init__(self, sets: Iterable[tuple[str, Iterable[QARecord]]], n: int = 13, min_share: float = 0.5):
        """`sets`: (source spec, records) of each evaluation set."""
        self.n = n
        self.min_share = min_share
        self.exact: dict[str, list[Item]] = {}
        self.ngrams: dict[int, Item] = {}
        self.size = 0
        for spec, records in sets:
            for record in records:
                tokens = words(record.question)
                item = (spec, record.id)
                self.exact.setdefault(" ".join(tokens), []).append(item)
                for i in range(len(tokens) - n + 1):
                    self.ngrams.setdefault(hash(tuple(tokens[i : i + n])), item)
                self.size += 1

    def find(self, record: QARecord, spec: str = "") -> Overlap | None:
        """The evaluation question that `record` (read from source `spec`) copies. An item is not a
        copy of itself: a source that is also an evaluation set (MedXpertQA) is indexed too, and only
        copies of its items elsewhere count."""
        itself = (spec, record.id)
        tokens = words(record.question)
        others = [item for item in self.exact.get(" ".join(tokens), ()) if item != itself]
        if others:
            return Overlap("exact", others[0][1])
        total = len(tokens) - self.n + 1
        if total <= 0:
            return None
        hits = Counter(
            hit for i in range(total)
            if (hit := self.ngrams.get(hash(tuple(tokens[i : i + self.n])))) is not None and hit != itself
        )
        if sum(hits.values()) / total >= self.min_share:
            return Overlap("ngram", hits.most_common(1)[0][0][1])
        return None
