"""Synthetic files in the layouts of the real releases, at any size, for tests and benchmarks:
MedQA-USMLE JSONL, MedXpertQA (the Hub's rows and its GitHub evaluation input) and the HuatuoGPT-o1
evaluation bundle with its five benchmarks at their real sizes and repetition patterns.

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


def write_medxpertqa(path: Path, n: int, *, seed: int = 0, reasoning_share: float = 0.76, layout: str = "hub",
                     mismatched: tuple[int, ...] = ()) -> Path:
    """MedXpertQA Text rows. `layout` "hub" stores options as {A: text} and the label as "J"; "eval-input"
    (MedXpertQA's GitHub evaluation input) as [{letter, content}] and ["J"]. Rows numbered in
    `mismatched` embed a choice list that differs from their options in one option, as 2 real rows do."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            options = {letter: _sentence(rng, 4) + f" x{i}{letter}" for letter in "ABCDEFGHIJ"}
            shown = {**options, "C": options["C"] + " (revised)"} if i in mismatched else options
            embedded = " ".join(f"({k}) {v}" for k, v in shown.items())
            label = rng.choice("ABCDEFGHIJ")
            row = {
                "id": f"Text-{i}",
                "question": f"Expert case {i}: {_sentence(rng, rng.randint(60, 120))}.\nAnswer Choices: {embedded}",
                "options": options if layout == "hub" else [{"letter": k, "content": v} for k, v in options.items()],
                "label": label if layout == "hub" else [label],
                "medical_task": rng.choice(["Diagnosis", "Treatment", "Basic Medicine"]),
                "body_system": rng.choice(["Cardiovascular", "Respiratory", "Nervous"]),
                "question_type": "Reasoning" if rng.random() < reasoning_share else "Understanding",
            }
            handle.write(json.dumps(row) + "\n")
    return path


# The bundle's groups and sizes (HuatuoGPT-o1's evaluation data): 8,381 rows in all.
BUNDLE_SIZES = {"MedMCQA_validation": 4183, "MedQA_USLME_test": 1273, "PubMedQA_test": 1000,
                "MMLU-Pro_Medical_test": 1535, "GPQA_Medical_test": 390}
MMLU_PRO_DISTINCT_TEXTS, MMLU_PRO_EXACT_REPEATS = 1317, 95  # 1,535 rows = 1,440 distinct rows + 95 exact repeats


def _bundle_item(rng: random.Random, question: str, texts: list[str], correct: str | None = None) -> dict:
    letters = "ABCDEFGHIJ"[: len(texts)]
    options = dict(zip(letters, texts))
    letter = letters[texts.index(correct)] if correct is not None else rng.choice(letters)
    return {"question": question, "options": options, "answer_idx": letter, "answer": options[letter]}


def write_bundle(path: Path, *, seed: int = 0, scale: float = 1.0) -> Path:
    """A bundle-shaped JSON object {group: [{question, options, answer_idx, answer}]} with the real
    groups, sizes (times `scale`) and repetition: MMLU-Pro Medical repeats question texts (some with
    other options, 95 rows exactly), GPQA holds each question five times with shuffled options, and
    PubMedQA questions carry their abstract as context (~1.5 KB)."""
    rng = random.Random(seed)
    size = {group: max(1, round(n * scale)) for group, n in BUNDLE_SIZES.items()}

    def options(i: int, n: int, tag: str) -> list[str]:
        return [_sentence(rng, 3) + f" {tag}{i}{k}" for k in range(n)]

    mmlu_texts = max(1, round(MMLU_PRO_DISTINCT_TEXTS * scale))
    repeats = min(round(MMLU_PRO_EXACT_REPEATS * scale), mmlu_texts)
    mmlu = [_bundle_item(rng, f"Which statement {i} about {_sentence(rng, 25)}?", options(i, 10, "u"))
            for i in range(mmlu_texts)]
    mmlu += [_bundle_item(rng, mmlu[i]["question"], options(i, 10, "v"))  # the same text, other options
             for i in range(size["MMLU-Pro_Medical_test"] - mmlu_texts - repeats)]
    mmlu += [dict(mmlu[i]) for i in range(repeats)]
    gpqa = []
    for i in range(size["GPQA_Medical_test"] // 5):
        question, texts = f"Graduate question {i}: {_sentence(rng, 90)}?", options(i, 4, "g")
        for _ in range(5):
            gpqa.append(_bundle_item(rng, question, rng.sample(texts, k=4), correct=texts[0]))
    bundle = {
        "MedMCQA_validation": [_bundle_item(rng, f"Item {i}: {_sentence(rng, 18)}?", options(i, 4, "m"))
                               for i in range(size["MedMCQA_validation"])],
        "MedQA_USLME_test": [_bundle_item(rng, f"Case {i}: {_sentence(rng, 120)}. Most likely diagnosis?",
                                          options(i, 4, "q")) for i in range(size["MedQA_USLME_test"])],
        "PubMedQA_test": [_bundle_item(rng, f"{_sentence(rng, 200)}\nStudy {i}: {_sentence(rng, 12)}?",
                                       ["yes", "no", "maybe"]) for i in range(size["PubMedQA_test"])],
        "MMLU-Pro_Medical_test": mmlu,
        "GPQA_Medical_test": gpqa,
    }
    path.write_text(json.dumps(bundle, ensure_ascii=False, indent=2), encoding="utf-8")
    return path
