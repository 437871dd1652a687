"""Medical VQA records: the Med-R1 JSON release (`image`, `problem` with "A)x, B)y" options,
`solution` "<answer> C </answer>") and OmniMedVQA's own QA files (`image_path`, `option_A…`,
`gt_answer`), with the eight imaging modalities and five question types under canonical names."""

from __future__ import annotations

import re
from pathlib import Path

from medr1_cli.data.record import Metadata, QARecord, RawRow, content_id
from medr1_cli.errors import RowDefect

MODALITIES = ("CT", "MRI", "X-Ray", "Ultrasound", "Dermoscopy", "Fundus Photography", "OCT", "Microscopy")
QUESTION_TYPES = ("Modality Recognition", "Anatomy Identification", "Disease Diagnosis", "Lesion Grading",
                  "Other Biological Attributes")
GROUPINGS = {"modality": MODALITIES, "question-type": QUESTION_TYPES}

# OmniMedVQA spells modalities as "CT(Computed Tomography)", "MR (Mag-netic Resonance Imaging)",
# "OCT (Optical Coherence Tomography", "Microscopy Images", …: matched by their first word, which must
# end there (so "MR (…" and "MRI" are MRI, but "mrl" or "CTA" are nothing).
_MODALITY_WORDS = {"ct": "CT", "mr": "MRI", "mri": "MRI", "x-ray": "X-Ray", "xray": "X-Ray", "x ray": "X-Ray",
                   "ultrasound": "Ultrasound", "us": "Ultrasound", "dermoscopy": "Dermoscopy",
                   "fundus": "Fundus Photography", "oct": "OCT", "microscopy": "Microscopy"}
_MODALITY_WORD = re.compile(r"^(x[ -]?ray|[a-z]+)(?![a-z])")
_OPTION_MARK = re.compile(r"(?<![A-Za-z0-9])([A-H])\)\s*")
_WHERE_SUFFIX = re.compile(r"(:\d+| item \d+)$")  # RawRow.where is "file:line" or "file item N"
_ANSWER_TAG = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.IGNORECASE | re.DOTALL)


def canonical_modality(text: str | None) -> str | None:
    if not text:
        return None
    word = _MODALITY_WORD.match(" ".join(text.lower().replace("_", " ").split()))
    return _MODALITY_WORDS.get(word.group(1)) if word else None


def canonical_question_type(text: str | None) -> str | None:
    if not text:
        return None
    low = " ".join(text.lower().replace("_", " ").replace("-", " ").split())
    return next((name for name in QUESTION_TYPES if name.lower() == low), None)


def group_name(grouping: str, text: str) -> str | None:
    """`text` (a config value, a file name) as one of the grouping's canonical names."""
    if grouping == "modality":
        return canonical_modality(text)
    return canonical_question_type(text)


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def split_problem(problem: str) -> tuple[str, dict[str, str]] | None:
    """(question, {letter: option}) from Med-R1's problem text "…? A)CT, B)MRI, C)X-Ray"; None when the
    text does not end with a run of options lettered A, B, C, … in order."""
    marks = list(_OPTION_MARK.finditer(problem))
    starts = [i for i, mark in enumerate(marks) if mark.group(1) == "A"]
    if not starts:
        return None
    run = [marks[starts[-1]]]
    for mark in marks[starts[-1] + 1:]:  # an "X)" inside an option's text that breaks the sequence stays text
        if ord(mark.group(1)) == ord(run[-1].group(1)) + 1:
            run.append(mark)
    options = {here.group(1): problem[here.end(): after.start() if after else len(problem)].strip().rstrip(",;").strip()
               for here, after in zip(run, [*run[1:], None])}
    question = problem[: run[0].start()].strip()
    return (question, options) if len(run) >= 2 and question and all(options.values()) else None


def answer_letter(solution: str, options: dict[str, str]) -> str | None:
    """The letter in "<answer> C </answer>" (or the option text itself)."""
    match = _ANSWER_TAG.search(solution)
    inner = (match.group(1) if match else solution).strip().rstrip(".").strip()
    if inner.upper() in options:
        return inner.upper()
    by_text = {text.lower(): letter for letter, text in options.items()}
    return by_text.get(inner.lower())


def _groups(row: RawRow, data: dict) -> tuple[str | None, str | None]:
    """Modality and question type from the row's fields, else from its file's name (Med-R1's split
    files are named after their group)."""
    file = Path(_WHERE_SUFFIX.sub("", row.where)).stem
    modality = canonical_modality(data.get("modality") or data.get("modality_type")) or canonical_modality(file)
    kind = canonical_question_type(data.get("question_type")) or canonical_question_type(file)
    return modality, kind


def parse_med_r1(row: RawRow, data: dict, ctx) -> QARecord:
    split = split_problem(str(data["problem"]))
    if split is None:
        raise RowDefect(f"cannot find lettered options (A)…, B)…) at the end of 'problem': "
                        f"{str(data['problem'])[:120]!r}", "options not readable")
    question, choices = split
    letter = answer_letter(str(data["solution"]), choices)
    if letter is None:
        raise RowDefect(f"solution {data['solution']!r} names none of the options {sorted(choices)}",
                        "answer not among the options")
    modality, kind = _groups(row, data)
    image = str(data["image"])
    return QARecord(
        id=str(data.get("id") or content_id("vqa", image, question)), source="omnimedvqa", question=question,
        options=choices, answer=letter, metadata=Metadata(modality=modality, question_type=kind), images=(image,),
    )


def parse_omnimedvqa_qa(row: RawRow, data: dict, ctx) -> QARecord:
    choices = {letter: str(data[f"option_{letter}"]).strip() for letter in "ABCDEFGH"
               if str(data.get(f"option_{letter}") or "").strip()}
    letter = answer_letter(str(data["gt_answer"]), choices)
    if letter is None:
        raise RowDefect(f"gt_answer {data['gt_answer']!r} is none of the options {choices}",
                        "answer not among the options")
    modality, kind = _groups(row, data)
    return QARecord(
        id=str(data["question_id"]), source="omnimedvqa", question=str(data["question"]).strip(), options=choices,
        answer=letter, metadata=Metadata(modality=modality, question_type=kind, subject=data.get("dataset")),
        images=(str(data["image_path"]),),
    )
