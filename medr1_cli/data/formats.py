"""One loader per native release format, in a registry, each turning raw rows into QARecords.

Every format declares the fields its rows must have and how to recognise it from a row's keys, so a
source's format is detected from its content (`data.formats.<source>` forces one). Rows a format legitimately
leaves out (MedMCQA multi-answer questions, MMLU-Pro categories outside the medical ones) are
skipped and counted; rows that are wrong (a missing field, an answer that is not an option) are
errors that name the file and line — or, with `on_bad_item: skip`, skipped and counted too.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from medr1_cli.answers import LETTERS
from medr1_cli.data import omnimedvqa
from medr1_cli.data.record import Metadata, QARecord, content_id
from medr1_cli.data.sources import RawRow, RawSource
from medr1_cli.errors import DataError
from medr1_cli.suggest import did_you_mean


@dataclass(frozen=True)
class LoadOptions:
    seed: int = 42  # GPQA option shuffling
    mmlu_pro_categories: tuple[str, ...] = ("health", "biology")
    gpqa_domains: tuple[str, ...] = ("Biology",)
    medmcqa_cop: str = "auto"  # "auto" detects 0-based vs 1-based from the whole file; "0" / "1" force it
    on_bad_item: str = "error"  # or "skip"


@dataclass
class Loaded:
    records: list[QARecord]
    format: str
    skipped: Counter = field(default_factory=Counter)  # reason -> count


@dataclass(frozen=True)
class Format:
    name: str
    benchmark: str  # the benchmark its records belong to
    required: tuple[str, ...]
    looks_like: Callable[[dict], bool]
    parse: Callable[[list[RawRow], LoadOptions, Counter], list[QARecord]]
    summary: str


def _checked(row: RawRow, fmt: Format) -> dict:
    missing = [name for name in fmt.required if name not in row.data]
    if missing:
        raise DataError(
            f"{row.where}: missing field{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
            f"for format '{fmt.name}' ({fmt.summary}; rows need: {', '.join(fmt.required)})"
        )
    return row.data


def _bad(row: RawRow, message: str, options: LoadOptions, skipped: Counter, reason: str) -> None:
    if options.on_bad_item == "skip":
        skipped[reason] += 1
        return
    raise DataError(f"{row.where}: {message}", hint="set data.on_bad_item: skip to skip such rows and count them")


def _lettered(row: RawRow, data: dict, letter_field: str, options: LoadOptions, skipped: Counter):
    """({letter: text}, answer letter) from an `options` mapping and a letter field; None when the
    letter is not one of the options (an error, or a counted skip with on_bad_item: skip)."""
    choices = data["options"]
    if isinstance(choices, list):  # some re-releases store [{"key": "A", "value": "..."}]
        choices = {c["key"]: c["value"] for c in choices}
    choices = {str(k).strip().upper(): _text(v) for k, v in dict(choices).items()}
    letter = _text(data[letter_field]).upper()
    if letter not in choices:
        _bad(row, f"{letter_field} {letter!r} is not one of the options {sorted(choices)}", options, skipped,
             "answer not among the options")
        return None
    return choices, letter


def _letter_options(texts: list) -> dict[str, str]:
    return {LETTERS[i]: str(text).strip() for i, text in enumerate(texts)}


def _text(value) -> str:
    return "" if value is None else str(value).strip()


# ------------------------------------------------------------------------------ MedQA-USMLE
def _parse_medqa(rows, options, skipped):
    records = []
    for row in rows:
        data = _checked(row, FORMATS["medqa"])
        if not (read := _lettered(row, data, "answer_idx", options, skipped)):
            continue
        choices, letter = read
        question = _text(data["question"])
        records.append(QARecord(
            id=_text(data.get("id")) or content_id("medqa", question, *choices.values()),
            source="medqa", question=question, options=choices, answer=letter,
            metadata=Metadata(step=_text(data.get("meta_info")) or None, split=_text(data.get("split")) or None),
        ))
    return records


def _parse_medqa_hf(rows, options, skipped):
    records = []
    for row in rows:
        data = _checked(row, FORMATS["medqa-hf"])
        endings = [data[f"ending{i}"] for i in range(10) if f"ending{i}" in data]
        choices = _letter_options(endings)
        label = data["label"]
        if not isinstance(label, int) or not 0 <= label < len(choices):
            _bad(row, f"label {label!r} is not an index of the {len(choices)} endings", options, skipped,
                 "answer not among the options")
            continue
        question = " ".join(_text(data.get(k)) for k in ("sent1", "sent2") if _text(data.get(k)))
        records.append(QARecord(
            id=_text(data.get("id")) or content_id("medqa", question, *choices.values()),
            source="medqa", question=question, options=choices, answer=LETTERS[label],
        ))
    return records


# ---------------------------------------------------------------------------------- MedMCQA
def _medmcqa_base(rows: list[RawRow], options: LoadOptions) -> int:
    """Whether `cop` counts from 0 (the Hub) or 1 (the raw release), judged on the whole file."""
    if options.medmcqa_cop in ("0", "1"):
        return int(options.medmcqa_cop)
    values = {row.data.get("cop") for row in rows if isinstance(row.data.get("cop"), int)}
    if 0 in values and 4 in values:
        raise DataError(
            f"{rows[0].where.rsplit(':', 1)[0]}: MedMCQA 'cop' takes both 0 and 4, so it is neither "
            "0-based (Hub) nor 1-based (raw release)"
        )
    if 0 in values:
        return 0
    if 4 in values:
        return 1
    raise DataError(
        f"{rows[0].where.rsplit(':', 1)[0]}: MedMCQA 'cop' only takes values 1-3 here, so it cannot tell "
        "whether it counts from 0 (Hub release) or from 1 (raw release)",
        hint="set data.medmcqa_cop to 0 or 1 (the raw JSON release counts from 1)",
    )


def _parse_medmcqa(rows, options, skipped):
    base = _medmcqa_base(rows, options)
    records = []
    for row in rows:
        data = _checked(row, FORMATS["medmcqa"])
        if _text(data.get("choice_type")).lower() == "multi":
            skipped["multi-answer question (choice_type: multi)"] += 1
            continue
        choices = _letter_options([data[k] for k in ("opa", "opb", "opc", "opd")])
        cop = data["cop"]
        index = cop - base if isinstance(cop, int) else None
        if index is None or not 0 <= index < 4:
            _bad(row, f"cop {cop!r} is not a valid {base}-based option index", options, skipped,
                 "answer not among the options")
            continue
        records.append(QARecord(
            id=_text(data.get("id")) or content_id("medmcqa", _text(data["question"]), *choices.values()),
            source="medmcqa", question=_text(data["question"]), options=choices, answer=LETTERS[index],
            metadata=Metadata(subject=_text(data.get("subject_name")) or None, topic=_text(data.get("topic_name")) or None),
        ))
    return records


# --------------------------------------------------------------------------------- PubMedQA
PUBMEDQA_OPTIONS = {"A": "yes", "B": "no", "C": "maybe"}


def _parse_pubmedqa(rows, options, skipped):
    test_labels = _pubmedqa_test_labels(rows)
    records = []
    for row in rows:
        data = _checked(row, FORMATS["pubmedqa"])
        pmid = _text(data.get("_key") or data.get("pubid"))
        decision = test_labels.get(pmid, _text(data["final_decision"])).lower()
        letter = {text: letter for letter, text in PUBMEDQA_OPTIONS.items()}.get(decision)
        if letter is None:
            _bad(row, f"final_decision {decision!r} is not yes, no or maybe", options, skipped,
                 "answer not among the options")
            continue
        contexts, labels = data.get("CONTEXTS") or [], data.get("LABELS") or []
        context = "\n".join(
            f"{label.capitalize()}: {text}" if label else text
            for text, label in zip(contexts, [*labels, *[""] * len(contexts)])
        )
        question = f"Context:\n{context}\n\nQuestion: {_text(data['QUESTION'])}" if context else _text(data["QUESTION"])
        records.append(QARecord(
            id=f"pubmedqa-{pmid}" if pmid else content_id("pubmedqa", question),
            source="pubmedqa", question=question, options=dict(PUBMEDQA_OPTIONS), answer=letter,
            metadata=Metadata(split=("test" if pmid in test_labels else None) if test_labels else None),
        ))
    return records


def _parse_pubmedqa_hf(rows, options, skipped):
    """The Hub's layout (qiaojin/PubMedQA): lower-case fields, contexts nested under `context`."""
    as_release = []
    for row in rows:
        data = _checked(row, FORMATS["pubmedqa-hf"])
        context = data.get("context") or {}
        as_release.append(RawRow(row.where, {
            "_key": str(data.get("pubid", "")), "QUESTION": data["question"], "final_decision": data["final_decision"],
            "CONTEXTS": context.get("contexts", []), "LABELS": context.get("labels", []),
        }))
    return _parse_pubmedqa(as_release, options, skipped)


def _pubmedqa_test_labels(rows: list[RawRow]) -> dict[str, str]:
    """The official 500-item test labels, when `test_ground_truth.json` sits beside `ori_pqal.json`."""
    where = rows[0].where
    folder = Path(where.split(":")[0]).parent if ":" in where else None
    truth = folder / "test_ground_truth.json" if folder else None
    if not truth or not truth.is_file():
        return {}
    try:
        labels = json.loads(truth.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{truth}:{err.lineno}: invalid JSON ({err.msg})") from None
    return {str(k): str(v) for k, v in labels.items()}


# --------------------------------------------------------------------------------- MMLU-Pro
def _parse_mmlu_pro(rows, options, skipped):
    wanted = {c.lower() for c in options.mmlu_pro_categories}
    records = []
    for row in rows:
        data = _checked(row, FORMATS["mmlu_pro"])
        category = _text(data["category"]).lower()
        if category not in wanted:
            skipped[f"category not selected ({category})"] += 1
            continue
        choices = _letter_options([o for o in data["options"] if _text(o) not in ("", "N/A")])
        letter = _text(data["answer"]).upper()
        if letter not in choices:
            _bad(row, f"answer {letter!r} is not one of the options {sorted(choices)}", options, skipped,
                 "answer not among the options")
            continue
        records.append(QARecord(
            id=f"mmlu_pro-{data['question_id']}", source="mmlu_pro", question=_text(data["question"]),
            options=choices, answer=letter, metadata=Metadata(category=category, subject=_text(data.get("src")) or None),
        ))
    return records


# ------------------------------------------------------------------------------------- GPQA
def _parse_gpqa(rows, options, skipped):
    wanted = {d.lower() for d in options.gpqa_domains}
    records = []
    for row in rows:
        data = _checked(row, FORMATS["gpqa"])
        domain = _text(data["High-level domain"])
        if domain.lower() not in wanted:
            skipped[f"domain not selected ({domain})"] += 1
            continue
        record_id = _text(data.get("Record ID")) or content_id("gpqa", _text(data["Question"]))
        correct = _text(data["Correct Answer"])
        texts = [correct, *(_text(data[f"Incorrect Answer {i}"]) for i in (1, 2, 3))]
        # Seeded by the question's own id: the order does not depend on the file's row order.
        random.Random(f"{options.seed}:{record_id}").shuffle(texts)
        choices = _letter_options(texts)
        records.append(QARecord(
            id=f"gpqa-{record_id}", source="gpqa", question=_text(data["Question"]), options=choices,
            answer=LETTERS[texts.index(correct)],
            metadata=Metadata(subject=_text(data.get("Subdomain")) or None, category=domain),
        ))
    return records


# ------------------------------------------------------------------------------- MedXpertQA
_CHOICES_MARKER = re.compile(r"\s*Answer Choices:\s*(?=\(A\))")


def strip_embedded_options(question: str, choices: dict[str, str]) -> str | None:
    """The question without its trailing "Answer Choices: (A) … (J) …", when that text lists
    exactly these options; None when it does not (then the caller must not strip anything)."""
    match = _CHOICES_MARKER.search(question)
    if not match:
        return None
    listed = " ".join(f"({letter}) {text}" for letter, text in choices.items())
    embedded = " ".join(question[match.end():].split())
    return question[: match.start()].strip() if embedded == " ".join(listed.split()) else None


def _parse_medxpertqa(rows, options, skipped):
    records = []
    for row in rows:
        data = _checked(row, FORMATS["medxpertqa"])
        if not (read := _lettered(row, data, "label", options, skipped)):
            continue
        choices, letter = read
        question = _text(data["question"])
        stripped = strip_embedded_options(question, choices)
        if stripped is None and "Answer Choices:" in question:
            raise DataError(
                f"{row.where}: the question embeds answer choices that differ from its 'options' field; "
                "medr1 will not show the model two different option lists"
            )
        records.append(QARecord(
            id=_text(data["id"]), source="medxpertqa", question=stripped or question, options=choices, answer=letter,
            metadata=Metadata(
                question_type=_text(data.get("question_type")) or None,
                medical_task=_text(data.get("medical_task")) or None,
                body_system=_text(data.get("body_system")) or None,
                split="test",
            ),
        ))
    return records


# -------------------------------------------------------------------------- HuatuoGPT-o1 bundle
BUNDLE_SOURCES = {
    "MedMCQA_validation": "medmcqa",
    "MedQA_USLME_test": "medqa",  # sic: the bundle's own spelling
    "MedQA_USMLE_test": "medqa",
    "PubMedQA_test": "pubmedqa",
    "MMLU-Pro_Medical_test": "mmlu_pro",
    "GPQA_Medical_test": "gpqa",
}


def _parse_bundle(rows, options, skipped):
    records = []
    for index, row in enumerate(rows):
        data = _checked(row, FORMATS["huatuo-bundle"])
        group = data["_group"]
        benchmark = BUNDLE_SOURCES.get(group)
        if benchmark is None:
            raise DataError(
                f"{row.where}: unknown benchmark '{group}' in the HuatuoGPT-o1 bundle"
                f"{did_you_mean(group, BUNDLE_SOURCES)}; known: {', '.join(BUNDLE_SOURCES)}"
            )
        if not (read := _lettered(row, data, "answer_idx", options, skipped)):
            continue
        choices, letter = read
        question = _text(data["question"])
        # GPQA appears five times with different option orders: the id keeps the order apart.
        records.append(QARecord(
            id=content_id(benchmark, question, *choices.values()), source=benchmark, question=question,
            options=choices, answer=letter, metadata=Metadata(split=group),
        ))
    return records


FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        Format("medqa", "medqa", ("question", "options", "answer_idx"),
               lambda r: {"question", "options", "answer_idx"} <= r.keys() and "_group" not in r,
               _parse_medqa, "MedQA-USMLE JSONL"),
        Format("medqa-hf", "medqa", ("sent1", "ending0", "ending1", "label"),
               lambda r: {"sent1", "ending0", "label"} <= r.keys(), _parse_medqa_hf, "MedQA-USMLE -hf variant"),
        Format("medmcqa", "medmcqa", ("question", "opa", "opb", "opc", "opd", "cop"),
               lambda r: {"opa", "opb", "cop"} <= r.keys(), _parse_medmcqa, "MedMCQA"),
        Format("pubmedqa", "pubmedqa", ("QUESTION", "final_decision"),
               lambda r: {"QUESTION", "final_decision"} <= r.keys(), _parse_pubmedqa, "PubMedQA ori_pqal.json"),
        Format("pubmedqa-hf", "pubmedqa", ("pubid", "question", "final_decision"),
               lambda r: {"pubid", "question", "final_decision"} <= r.keys(), _parse_pubmedqa_hf,
               "PubMedQA on the Hub (qiaojin/PubMedQA)"),
        Format("mmlu_pro", "mmlu_pro", ("question_id", "question", "options", "answer", "category"),
               lambda r: {"question_id", "options", "category"} <= r.keys(), _parse_mmlu_pro, "MMLU-Pro"),
        Format("gpqa", "gpqa", ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2",
                                "Incorrect Answer 3", "High-level domain"),
               lambda r: {"Question", "Correct Answer"} <= r.keys(), _parse_gpqa, "GPQA CSV"),
        Format("medxpertqa", "medxpertqa", ("id", "question", "options", "label"),
               lambda r: {"question", "options", "label"} <= r.keys(), _parse_medxpertqa, "MedXpertQA Text JSONL"),
        Format("omnimedvqa", "omnimedvqa", ("image", "problem", "solution"),
               lambda r: {"image", "problem", "solution"} <= r.keys(), omnimedvqa.parse_med_r1,
               "Med-R1 / OmniMedVQA JSON (image, problem, solution)"),
        Format("omnimedvqa-qa", "omnimedvqa", ("question_id", "question", "gt_answer", "image_path", "option_A"),
               lambda r: {"gt_answer", "image_path", "option_A"} <= r.keys(), omnimedvqa.parse_omnimedvqa_qa,
               "OmniMedVQA QA JSON (image_path, option_A…, gt_answer)"),
        Format("huatuo-bundle", "bundle", ("_group", "question", "options", "answer_idx"),
               lambda r: "_group" in r and {"question", "options", "answer_idx"} <= r.keys(),
               _parse_bundle, "HuatuoGPT-o1 evaluation bundle"),
    )
}


def detect_format(source: RawSource) -> Format:
    first = source.rows[0]
    for fmt in FORMATS.values():
        if fmt.looks_like(first.data):
            return fmt
    keys = ", ".join(sorted(k for k in first.data if not k.startswith("_"))[:15])
    raise DataError(
        f"{first.where}: cannot tell the format from this row's fields ({keys})",
        hint=f"force the source's format with --format SOURCE=FORMAT (data.formats.<source>), one of: "
        f"{', '.join(FORMATS)}",
    )


def load_records(source: RawSource, *, format: str = "auto", options: LoadOptions | None = None) -> Loaded:
    """Parse every row of `source` with its (detected or forced) format."""
    options = options or LoadOptions()
    if format == "auto":
        fmt = detect_format(source)
    elif format in FORMATS:
        fmt = FORMATS[format]
    else:
        raise DataError(f"unknown format '{format}'{did_you_mean(format, FORMATS)}; known: {', '.join(FORMATS)}")
    skipped: Counter = Counter()
    unique: dict[str, QARecord] = {}
    for record in fmt.parse(source.rows, options, skipped):
        earlier = unique.get(record.id)
        if earlier is None:
            unique[record.id] = record
        elif earlier == record:  # releases do repeat a few questions verbatim
            skipped["exact duplicate of an earlier row"] += 1
        else:
            raise DataError(f"{source.spec}: id '{record.id}' is used by two different questions")
    return Loaded(list(unique.values()), fmt.name, skipped)
