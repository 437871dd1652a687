"""Difficulty and ordering of training items: none, easy-to-hard, or interleaved easy and hard.

Difficulty comes from a grading file (1 − pass rate of a reference model) where it has the item,
else from metadata: MedXpertQA is harder than MedQA, MedXpertQA Reasoning harder than
Understanding, MedQA step 2&3 harder than step 1.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from medr1_cli.data.record import QARecord
from medr1_cli.data.sources import read_text
from medr1_cli.errors import DataError

# The first row of a file `medr1 grade` writes holds, under this key, how it measured the pass rates.
HEADER_KEY = "medr1_grading"
_BY_SOURCE = {"medqa": 0.3, "medxpertqa": 0.8}
_ADJUST = {("step", "step1"): -0.1, ("step", "step2&3"): 0.1,
           ("question_type", "Understanding"): -0.1, ("question_type", "Reasoning"): 0.1}


def metadata_difficulty(record: QARecord) -> float:
    score = _BY_SOURCE.get(record.source, 0.5)
    for (key, value), delta in _ADJUST.items():
        if getattr(record.metadata, key) == value:
            score += delta
    return round(score, 3)


@dataclass(frozen=True)
class Grading:
    rates: dict[str, float]  # id -> pass rate
    header: dict[str, Any]  # how `medr1 grade` measured them (empty for a file of one's own)
    path: str


def read_grading_file(path: str | Path) -> Grading:
    """id -> pass rate in [0, 1], from JSONL rows {"id": ..., "pass_rate": ...} (after the header line
    `medr1 grade` writes); every defective row is reported at once."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"data.grading_file: {path} is a folder, not a JSONL file of {{\"id\", \"pass_rate\"}}")
    if not path.is_file():
        raise DataError(f"data.grading_file: {path} does not exist", hint="write one with `medr1 grade`")
    rates: dict[str, float] = {}
    header: dict[str, Any] = {}
    problems: list[str] = []
    for number, line in enumerate(read_text(path).split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise TypeError(f"a JSON {type(row).__name__}, not an object")
            if HEADER_KEY in row:
                header = dict(row[HEADER_KEY])
                continue
            rate = float(row["pass_rate"])
            item = str(row["id"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            problems.append(f"{path}:{number}: expected {{\"id\": ..., \"pass_rate\": 0..1}} ({type(err).__name__}: {err})")
            continue
        if not 0.0 <= rate <= 1.0:
            problems.append(f"{path}:{number}: pass_rate {rate} is outside 0..1")
        elif item in rates:
            problems.append(f"{path}:{number}: id {item} is graded twice")
        else:
            rates[item] = rate
    if problems:
        shown = "\n".join(problems[:20]) + (f"\n… {len(problems) - 20} more" if len(problems) > 20 else "")
        raise DataError(f"data.grading_file: {len(problems)} defective row(s):\n{shown}")
    return Grading(rates, header, str(path))


def with_difficulty(records: list[QARecord], grading: dict[str, float] | None) -> tuple[list[QARecord], int]:
    """Records with `metadata.difficulty` set; also how many came from the grading file."""
    graded = 0
    out = []
    for record in records:
        if grading and record.id in grading:
            difficulty = round(1.0 - grading[record.id], 6)
            graded += 1
        else:
            difficulty = metadata_difficulty(record)
        out.append(replace(record, metadata=replace(record.metadata, difficulty=difficulty)))
    return out, graded


def order(records: list[QARecord], mode: str, *, seed: int, batch_size: int) -> list[QARecord]:
    """Shuffle (none), sort by difficulty (easy-to-hard), or interleave so every run of
    `batch_size` items mixes easy and hard ones. Ties are broken by a seeded shuffle."""
    rng = random.Random(f"{seed}:order")
    shuffled = sorted(records, key=lambda r: r.id)
    rng.shuffle(shuffled)
    if mode == "none":
        return shuffled
    ranked = sorted(shuffled, key=lambda r: r.metadata.difficulty)  # stable: ties keep the shuffle
    if mode == "easy-to-hard":
        return ranked
    if mode == "interleave":
        return _interleave(ranked, batch_size, rng)
    raise DataError(f"unknown curriculum '{mode}'; allowed: none, easy-to-hard, interleave")


def _interleave(ranked: list[QARecord], batch_size: int, rng: random.Random) -> list[QARecord]:
    half = len(ranked) // 2
    easy, hard = ranked[:half], ranked[half:]
    rng.shuffle(easy)
    rng.shuffle(hard)
    out: list[QARecord] = []
    while easy or hard:
        size = min(batch_size, len(easy) + len(hard))
        # Hard items in proportion to what is left, but at least one of each while both remain.
        n_hard = round(size * len(hard) / (len(easy) + len(hard)))
        if size >= 2 and easy and hard:
            n_hard = min(max(n_hard, 1), size - 1)
        n_hard = min(n_hard, len(hard))
        n_easy = min(size - n_hard, len(easy))
        batch = [hard.pop() for _ in range(n_hard)] + [easy.pop() for _ in range(n_easy)]
        rng.shuffle(batch)
        out.extend(batch)
    return out
