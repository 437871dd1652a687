"""Synthetic files in the native MedQA and MedXpertQA formats, at any size, for tests and benchmarks.

The questions are random word salad with a unique number, so they never collide with each other or
with a real benchmark; only their shape (fields, option counts, metadata mix) is realistic.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

_WORDS = (
    "patient presents fever cough dyspnea chest pain fatigue anemia serum sodium potassium elevated "
    "decreased murmur edema jaundice biopsy lesion infiltrate nodule history smoking diabetes "
    "hypertension examination laboratory imaging shows reveals likely diagnosis management"
).split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(_WORDS, k=n))


def write_medqa(path: Path, n: int, *, seed: int = 0, start: int = 0) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(start, start + n):
            options = {letter: _sentence(rng, 3) + f" {i}{letter}" for letter in "ABCD"}
            letter = rng.choice("ABCD")
            row = {
                "question": f"Case {i}: a {rng.randint(18, 90)}-year-old {_sentence(rng, rng.randint(40, 90))}. "
                "Which of the following is the most likely diagnosis?",
                "answer": options[letter],
                "options": options,
                "meta_info": rng.choice(["step1", "step2&3"]),
                "answer_idx": letter,
                "metamap_phrases": rng.choices(_WORDS, k=5),
            }
            handle.write(json.dumps(row) + "\n")
    return path


def write_medxpertqa(path: Path, n: int, *, seed: int = 0, reasoning_share: float = 0.76) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            options = {letter: _sentence(rng, 4) + f" x{i}{letter}" for letter in "ABCDEFGHIJ"}
            embedded = " ".join(f"({k}) {v}" for k, v in options.items())
            row = {
                "id": f"Text-{i}",
                "question": f"Expert case {i}: {_sentence(rng, rng.randint(60, 120))}. Answer Choices: {embedded}",
                "options": options,
                "label": rng.choice("ABCDEFGHIJ"),
                "medical_task": rng.choice(["Diagnosis", "Treatment", "Basic Medicine"]),
                "body_system": rng.choice(["Cardiovascular", "Respiratory", "Nervous"]),
                "question_type": "Reasoning" if rng.random() < reasoning_share else "Understanding",
            }
            handle.write(json.dumps(row) + "\n")
    return path
