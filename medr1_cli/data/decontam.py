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
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from medr1_cli.data.record import QARecord

_NON_WORD = re.compile(r"[^0-9a-z]+")


def words(text: str) -> list[str]:
    return _NON_WORD.sub(" ", text.lower()).split()


@dataclass(frozen=True)
class Overlap:
    kind: str  # "exact" or "ngram"
    eval_id: str


Origin = tuple[str, ...]  # what a set was read from (RawSource.origin): resolved files, or a Hub id and split


@dataclass(frozen=True)
class Item:
    """Which question a record is, to tell an evaluation item from a copy of it: the benchmark the
    record is assigned to and its id — a release's own id names its question in every copy of the set
    (the Hub's MedXpertQA and a local download of it, `./a.jsonl` and `a.jsonl`). An id made from the
    question's text (MedQA has none of its own) is the same for a verbatim copy in any file, so there
    the file read is part of which item it is."""

    benchmark: str
    id: str
    origin: Origin | None = None  # set only for ids made from the content

    @classmethod
    def of(cls, record: QARecord, origin: Origin, by_content: Collection[str]) -> Item:
        """`record`, read from `origin`; `by_content`: the ids its loader made from the content."""
        return cls(record.source, record.id, origin if record.id in by_content else None)


class EvalIndex:
    """Every evaluation question's normalised text and word n-grams, for fast membership tests."""

    def __init__(self, items: Iterable[tuple[Item, QARecord]], n: int = 13, min_share: float = 0.5):
        """`items`: every evaluation question, with which item it is."""
        self.n = n
        self.min_share = min_share
        self.exact: dict[str, list[Item]] = {}
        self.ngrams: dict[int, Item] = {}
        self.size = 0
        for item, record in items:
            tokens = words(record.question)
            self.exact.setdefault(" ".join(tokens), []).append(item)
            for i in range(len(tokens) - n + 1):
                self.ngrams.setdefault(hash(tuple(tokens[i : i + n])), item)
            self.size += 1

    def find(self, record: QARecord, itself: Item | None = None) -> Overlap | None:
        """The evaluation question that `record` (the item `itself`) copies. An item is not a copy of
        itself: a source that is also an evaluation set (MedXpertQA) is indexed too, and only copies of
        its items elsewhere count."""
        tokens = words(record.question)
        others = [item for item in self.exact.get(" ".join(tokens), ()) if item != itself]
        if others:
            return Overlap("exact", others[0].id)
        total = len(tokens) - self.n + 1
        if total <= 0:
            return None
        hits = Counter(
            hit for i in range(total)
            if (hit := self.ngrams.get(hash(tuple(tokens[i : i + self.n])))) is not None and hit != itself
        )
        if sum(hits.values()) / total >= self.min_share:
            return Overlap("ngram", hits.most_common(1)[0][0].id)
        return None
