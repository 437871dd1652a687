"""One loader per row layout, in a registry, each turning raw rows into QARecords.

A *layout* says how a row parses; the *benchmark* a file is assigned to (`eval.data.<name>`,
`data.sources.<name>`) says what its records are. Native releases (MedMCQA's `opa…cop`, PubMedQA's
`ori_pqal.json`, MMLU-Pro, GPQA's CSV, MedXpertQA) belong to one benchmark each; the generic layout
`{question, options, answer_idx}` — MedQA-USMLE's own release, MedAgents-style collections,
HuatuoGPT-o1's split files, many Hub mirrors — holds any benchmark's questions, and the bundle names
its benchmark per group. A file's layout is detected from its first row (`data.formats.<source>`
forces one).

Rows outside a benchmark's medical subset (MMLU-Pro categories and GPQA domains not selected) are
skipped and counted; every other row is a question, counted as its owners count it (MedMCQA's
`choice_type: multi` rows have one correct option, `cop`, and are kept). Rows that are wrong — a
missing field, an answer that is not an option (or is MMLU-Pro's "N/A" padding), a value of the wrong
type — are *defects*: every defect of a file is reported at once with its file and line, or, with
`on_bad_item: skip`, skipped and counted by reason.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from medr1_cli.answers import LETTERS
from medr1_cli.vqa import omnimedvqa
from medr1_cli.data.record import Metadata, QARecord, RawRow, content_id
from medr1_cli.data.sources import RawSource, read_text
from medr1_cli.errors import DataError, RowDefect
from medr1_cli.suggest import did_you_mean

# The benchmarks a record can belong to (QARecord.source), and the benchmark names people also use.
RECORD_SOURCES = ("medqa", "medmcqa", "pubmedqa", "mmlu_pro", "gpqa", "medxpertqa", "omnimedvqa")
_SOURCE_ALIASES = {"mmlu_pro_med": "mmlu_pro", "gpqa_med": "gpqa", "mmlu-pro": "mmlu_pro"}
FORMAT_ALIASES = {"medqa": "generic"}  # the generic layout is MedQA-USMLE's own; older configs name it so
DEFECTS_SHOWN = 20
REPEAT_MARK = "#"  # an exact repeat's id: its question's id + "#2", "#3", … (evaluation sets keep repeats)


def question_id(record_id: str) -> str:
    """The id of the question a record asks, whether the record is the question or one of its repeats."""
    return record_id.split(REPEAT_MARK, 1)[0]


def benchmark_of_source(name: str) -> str | None:
    """The benchmark a source's records belong to, from its name: `medmcqa`, `gpqa_med`, or a name
    that starts or ends with one after - or _ (`demo-medqa`, `medxpertqa_r`); None when the name says
    nothing, or names two."""
    found = set()
    for known in (*RECORD_SOURCES, *_SOURCE_ALIASES):
        if name == known or any(name.endswith(sep + known) or name.startswith(known + sep) for sep in "-_"):
            found.add(_SOURCE_ALIASES.get(known, known))
    return found.pop() if len(found) == 1 else None


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
    notes: dict[str, list[str]] = field(default_factory=dict)  # repairs made -> where (file:line)
    benchmark: str | None = None  # what the records are (None: the bundle's several benchmarks)
    # ids made from the question's own text, not given by the release: a verbatim copy in another file
    # has the same id, so such an id cannot tell an item from its copy (decontamination asks)
    by_content: set[str] = field(default_factory=set)

    def note_lines(self, shown: int = 3) -> list[str]:
        return [f"{reason}: {len(wheres)} row(s) ({', '.join(wheres[:shown])}{', …' if len(wheres) > shown else ''})"
                for reason, wheres in self.notes.items()]


@dataclass
class ParseContext:
    options: LoadOptions
    benchmark: str  # what the records are: the assignment, else the layout's own benchmark
    skipped: Counter
    notes: dict[str, list[str]]
    state: Any = None  # what the layout worked out from the whole file (MedMCQA's cop base, PubMedQA's test labels)
    by_content: set[str] = field(default_factory=set)  # Loaded.by_content

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def named_by_content(self, record_id: str) -> str:
        """`record_id`, made from the content (the row has no id of its own), remembered as such."""
        self.by_content.add(record_id)
        return record_id

    def note(self, reason: str, row: RawRow) -> None:
        self.notes.setdefault(reason, []).append(row.where)


@dataclass(frozen=True)
class Format:
    name: str
    benchmark: str | None  # the benchmark its records belong to; None: the assignment decides
    required: tuple[str, ...]
    looks_like: Callable[[dict], bool]
    parse_row: Callable[[RawRow, dict, ParseContext], QARecord | None]  # None: skipped (counted by it)
    summary: str
    setup: Callable[[list[RawRow], LoadOptions], Any] | None = None


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _letter_options(texts: list) -> dict[str, str]:
    if len(texts) > len(LETTERS):
        raise RowDefect(f"{len(texts)} options; at most {len(LETTERS)} (A–{LETTERS[-1]}) are supported")
    return {LETTERS[i]: _text(text) for i, text in enumerate(texts)}


def _options_of(value) -> dict[str, str]:
    """{letter: text} from every way releases store options: a mapping, a list of texts, a list of
    {"key", "value"} or of {"letter", "content"} (MedXpertQA's evaluation input)."""
    if isinstance(value, dict):
        return {_text(k).upper(): _text(v) for k, v in value.items()}
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        for key, text in (("letter", "content"), ("key", "value")):
            if all(key in item and text in item for item in value):
                return {_text(item[key]).upper(): _text(item[text]) for item in value}
        raise RowDefect("'options' is a list of objects without letter/content (or key/value) fields",
                        "options not readable")
    if isinstance(value, list):
        return _letter_options(value)
    raise RowDefect(f"'options' is a {type(value).__name__}; expected an object of letter -> text or a list",
                    "options not readable")


def _answer_letter(value, field_name: str, choices: dict[str, str]) -> str:
    """The answer letter from a letter field, which some releases store as a one-element list (`["J"]`)."""
    if isinstance(value, list):
        if len(value) != 1:
            raise RowDefect(f"{field_name} {value!r} names {len(value)} answers; a question needs exactly one",
                            "not exactly one answer")
        value = value[0]
    letter = _text(value).upper()
    if letter not in choices:
        raise RowDefect(f"{field_name} {letter!r} is not one of the options {sorted(choices)}",
                        "answer not among the options")
    return letter


_CHOICES_MARKER = re.compile(r"\s*Answer Choices:\s*(?=\(A\))")


def strip_embedded_options(question: str, choices: dict[str, str]) -> str | None:
    """The question without its trailing "Answer Choices: (A) … (J) …", when that text lists
    exactly these options; None when it does not."""
    match = _CHOICES_MARKER.search(question)
    if not match:
        return None
    listed = " ".join(f"({letter}) {text}" for letter, text in choices.items())
    embedded = " ".join(question[match.end():].split())
    return question[: match.start()].strip() if embedded == " ".join(listed.split()) else None


EMBEDDED_MISMATCH = "embedded choice list differs from the options field; the options field (which the label refers to) is shown"


def _question_without_choices(row: RawRow, question: str, choices: dict[str, str], ctx: ParseContext) -> str:
    """MedXpertQA (and its re-releases) embed "Answer Choices: (A) …" in the question; every prompt
    lists the options itself, so the embedded list is cut. Where it disagrees with `options` (2 of
    the 2,450 MedXpertQA Text rows), the `options` field is the one the label refers to: it is kept,
    the embedded list is cut all the same, and the row is noted."""
    match = _CHOICES_MARKER.search(question)
    if not match:
        return question
    stripped = strip_embedded_options(question, choices)
    if stripped is None:
        ctx.note(EMBEDDED_MISMATCH, row)
        return question[: match.start()].strip()
    return stripped


# ------------------------------------------------------------------ the generic layout (any benchmark)
# Releases that carry a benchmark's own id (MedAgents' `realidx`, an `id`) keep it under the name the
# native loader gives it, so one question has one id whichever file it comes from. MedQA-USMLE has no
# official id: its questions are named by their content.
_NATIVE_ID_PREFIX = {"medmcqa": "", "medxpertqa": "", "pubmedqa": "pubmedqa-", "mmlu_pro": "mmlu_pro-", "gpqa": "gpqa-"}


def _generic_id(benchmark: str, data: dict, question: str, choices: dict[str, str], ctx: ParseContext) -> str:
    given = _text(data.get("id"))
    if benchmark in _NATIVE_ID_PREFIX:
        native = given or _text(data.get("realidx"))
        if native:
            prefix = _NATIVE_ID_PREFIX[benchmark]
            return native if native.startswith(prefix) else prefix + native
    return given or ctx.named_by_content(content_id(benchmark, question, *choices.values()))


def _generic_metadata(benchmark: str, data: dict) -> Metadata:
    return Metadata(
        step=_text(data.get("meta_info")) or None,
        subject=_text(data.get("subject_name") or data.get("src") or data.get("Subdomain")) or None,
        topic=_text(data.get("topic_name")) or None,
        category=_text(data.get("category")).lower() or None,
        question_type=_text(data.get("question_type")) or None,
        medical_task=_text(data.get("medical_task")) or None,
        body_system=_text(data.get("body_system")) or None,
        split=_text(data.get("split")) or ("test" if benchmark == "medxpertqa" else None),
    )


def _parse_generic(row: RawRow, data: dict, ctx: ParseContext) -> QARecord | None:
    benchmark = ctx.benchmark
    choices = _options_of(data["options"])
    if benchmark == "mmlu_pro":
        category = _text(data.get("category")).lower()
        if category and category not in {c.lower() for c in ctx.options.mmlu_pro_categories}:
            ctx.skip(f"category not selected ({category})")
            return None
        choices, letter = _without_padding(list(choices.values()), _gold_position(data, "answer_idx", choices))
    else:
        letter = _answer_letter(data["answer_idx"], "answer_idx", choices)
    question = _question_without_choices(row, _text(data["question"]), choices, ctx)
    if not question:
        raise RowDefect("'question' is empty", "empty question")
    return QARecord(
        id=_generic_id(benchmark, data, question, choices, ctx), source=benchmark, question=question, options=choices,
        answer=letter, metadata=_generic_metadata(benchmark, data),
    )


def _parse_medqa_hf(row: RawRow, data: dict, ctx: ParseContext) -> QARecord | None:
    choices = _letter_options([data[f"ending{i}"] for i in range(10) if f"ending{i}" in data])
    label = data["label"]
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < len(choices):
        raise RowDefect(f"label {label!r} is not an index of the {len(choices)} endings", "answer not among the options")
    question = " ".join(_text(data.get(k)) for k in ("sent1", "sent2") if _text(data.get(k)))
    # the -hf release's `id` is a row position (test-00000): MedQA questions are named by content everywhere
    return QARecord(
        id=ctx.named_by_content(content_id("medqa", question, *choices.values())),
        source="medqa", question=question, options=choices, answer=LETTERS[label],
    )


# ---------------------------------------------------------------------------------- MedMCQA
def _medmcqa_base(rows: list[RawRow], options: LoadOptions) -> int:
    """Whether `cop` counts from 0 (the Hub) or 1 (the raw release), judged on the whole file."""
    if options.medmcqa_cop in ("0", "1"):
        return int(options.medmcqa_cop)
    values = {row.data.get("cop") for row in rows if isinstance(row.data.get("cop"), int)}
    where = rows[0].where.rsplit(":", 1)[0] if rows else "MedMCQA"
    if 0 in values and 4 in values:
        raise DataError(
            f"{where}: MedMCQA 'cop' takes both 0 and 4, so it is neither 0-based (Hub) nor 1-based (raw release)",
            hint="set data.medmcqa_cop to 0 or 1 to say which, and the rows that disagree are reported",
        )
    if 0 in values:
        return 0
    if 4 in values:
        return 1
    raise DataError(
        f"{where}: MedMCQA 'cop' only takes values 1-3 here, so it cannot tell whether it counts from 0 "
        "(Hub release) or from 1 (raw release)",
        hint="set data.medmcqa_cop to 0 or 1 (the raw JSON release counts from 1)",
    )


def _parse_medmcqa(row: RawRow, data: dict, ctx: ParseContext) -> QARecord | None:
    # `choice_type: multi` rows are kept: they too have one correct option (`cop`), and MedMCQA's
    # owners, the HuatuoGPT-o1 bundle and lm-eval all count them (validation = 4,183 rows with them).
    base = ctx.state
    choices = _letter_options([data[k] for k in ("opa", "opb", "opc", "opd")])
    cop = data["cop"]
    index = cop - base if isinstance(cop, int) and not isinstance(cop, bool) else None
    if index is None or not 0 <= index < 4:
        raise RowDefect(f"cop {cop!r} is not a valid {base}-based option index", "answer not among the options")
    question = _text(data["question"])
    return QARecord(
        id=_text(data.get("id")) or ctx.named_by_content(content_id("medmcqa", question, *choices.values())),
        source="medmcqa", question=question, options=choices, answer=LETTERS[index],
        metadata=Metadata(subject=_text(data.get("subject_name")) or None, topic=_text(data.get("topic_name")) or None),
    )


# --------------------------------------------------------------------------------- PubMedQA
PUBMEDQA_OPTIONS = {"A": "yes", "B": "no", "C": "maybe"}
_PUBMEDQA_LETTER = {text: letter for letter, text in PUBMEDQA_OPTIONS.items()}


def _pubmedqa_record(row: RawRow, pmid: str, question_text, decision, contexts, labels, ctx: ParseContext) -> QARecord:
    test_labels = ctx.state or {}
    decision = test_labels.get(pmid, _text(decision)).lower()
    letter = _PUBMEDQA_LETTER.get(decision)
    if letter is None:
        raise RowDefect(f"final_decision {decision!r} is not yes, no or maybe", "answer not among the options")
    if not isinstance(contexts, list) or not isinstance(labels, list):
        raise RowDefect("CONTEXTS and LABELS must be lists", "malformed row")
    context = "\n".join(
        f"{_text(label).capitalize()}: {_text(text)}" if label else _text(text)
        for text, label in zip(contexts, [*labels, *[""] * len(contexts)])
    )
    question = f"Context:\n{context}\n\nQuestion: {_text(question_text)}" if context else _text(question_text)
    return QARecord(
        id=f"pubmedqa-{pmid}" if pmid else ctx.named_by_content(content_id("pubmedqa", question)),
        source="pubmedqa", question=question, options=dict(PUBMEDQA_OPTIONS), answer=letter,
        metadata=Metadata(split=("test" if pmid in test_labels else None) if test_labels else None),
    )


def _parse_pubmedqa(row: RawRow, data: dict, ctx: ParseContext) -> QARecord | None:
    pmid = _text(data.get("_key") or data.get("pubid"))
    return _pubmedqa_record(row, pmid, data["QUESTION"], data["final_decision"], data.get("CONTEXTS") or [],
                            data.get("LABELS") or [], ctx)


def _parse_pubmedqa_hf(row: RawRow, data: dict, ctx: ParseContext) -> QARecord | None:
    """The Hub's layout (qiaojin/PubMedQA): lower-case fields, contexts nested under `context`."""
    context = data.get("context") or {}
    if not isinstance(context, dict):
        raise RowDefect(f"'context' is a {type(context).__name__}; expected an object with contexts and labels")
    return _pubmedqa_record(row, _text(data.get("pubid")), data["question"], data["final_decision"],
                            context.get("contexts", []), context.get("labels", []), ctx)


def _pubmedqa_test_labels(rows: list[RawRow], options: LoadOptions) -> dict[str, str]:
    """The official 500-item test labels, when `test_ground_truth.json` sits beside `ori_pqal.json`."""
    where = rows[0].where if rows else ""
    folder = Path(where.split(":")[0]).parent if ":" in where else None
    truth = folder / "test_ground_truth.json" if folder else None
    if not truth or not truth.is_file():
        return {}
    try:
        labels = json.loads(read_text(truth))
    except json.JSONDecodeError as err:
        raise DataError(f"{truth}:{err.lineno}: invalid JSON ({err.msg})") from None
    if not isinstance(labels, dict):
        raise DataError(f"{truth}: expected an object of PMID -> yes/no/maybe, got {type(labels).__name__}")
    return {str(k): str(v) for k, v in labels.items()}


# --------------------------------------------------------------------------------- MMLU-Pro
_PADDING = ("", "N/A")  # MMLU-Pro pads short option lists with "N/A"; they are not options


def _gold_position(data: dict, letter_field: str, choices: dict[str, str]) -> int:
    """Where the gold option sits in the release's own option list, before any padding is cut:
    `answer_index` where the row has it, else its answer letter's place."""
    letter = _answer_letter(data[letter_field], letter_field, choices)
    position = list(choices).index(letter)
    index = data.get("answer_index")
    if index is None:
        return position
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(choices):
        raise RowDefect(f"answer_index {index!r} is not an index of the {len(choices)} options",
                        "answer not among the options")
    if index != position:  # two golds: which one the owners score cannot be told
        raise RowDefect(f"{letter_field} {letter!r} and answer_index {index} (option {list(choices)[index]}) disagree",
                        "answer and answer_index disagree")
    return index


def _without_padding(texts: list[str], gold: int) -> tuple[dict[str, str], str]:
    """The options without MMLU-Pro's "N/A" padding, re-lettered, and the gold's new letter: the options
    after a cut one move up a letter, so the gold is followed by its place in the list, not its old letter."""
    if texts[gold] in _PADDING:
        raise RowDefect(f"the answer, option {LETTERS[gold]}, is {texts[gold]!r}: padding, not an option",
                        "answer is an N/A or empty option")
    kept = [i for i, text in enumerate(texts) if text not in _PADDING]
    return _letter_options([texts[i] for i in kept]), LETTERS[kept.index(gold)]


def _parse_mmlu_pro(row: RawRow, data: dict, ctx: ParseContext) -> QARecord | None:
    category = _text(data["category"]).lower()
    if category not in {c.lower() for c in ctx.options.mmlu_pro_categories}:
        ctx.skip(f"category not selected ({category})")
        return None
    if not isinstance(data["options"], list):
        raise RowDefect(f"'options' is a {type(data['options']).__name__}; MMLU-Pro rows hold a list",
                        "options not readable")
    listed = _letter_options(data["options"])  # the release's own letters, padding included
    choices, letter = _without_padding(list(listed.values()), _gold_position(data, "answer", listed))
    return QARecord(
        id=f"mmlu_pro-{_text(data['question_id'])}", source="mmlu_pro", question=_text(data["question"]),
        options=choices, answer=letter, metadata=Metadata(category=category, subject=_text(data.get("src")) or None),
    )


# ------------------------------------------------------------------------------------- GPQA
def _parse_gpqa(row: RawRow, data: dict, ctx: ParseContext) -> QARecord | None:
    domain = _text(data["High-level domain"])
    if domain.lower() not in {d.lower() for d in ctx.options.gpqa_domains}:
        ctx.skip(f"domain not selected ({domain})")
        return None
    given = _text(data.get("Record ID"))
    record_id = given or content_id("gpqa", _text(data["Question"]))
    if not given:
        ctx.named_by_content(f"gpqa-{record_id}")
    correct = _text(data["Correct Answer"])
    texts = [correct, *(_text(data[f"Incorrect Answer {i}"]) for i in (1, 2, 3))]
    # Seeded by the question's own id: the order does not depend on the file's row order.
    random.Random(f"{ctx.options.seed}:{record_id}").shuffle(texts)
    return QARecord(
        id=f"gpqa-{record_id}", source="gpqa", question=_text(data["Question"]), options=_letter_options(texts),
        answer=LETTERS[texts.index(correct)],
        metadata=Metadata(subject=_text(data.get("Subdomain")) or None, category=domain),
    )


# ------------------------------------------------------------------------------- MedXpertQA
def _parse_medxpertqa(row: RawRow, data: dict, ctx: ParseContext) -> QARecord | None:
    """The Hub's rows (`options` {A..J}, `label` "J") and MedXpertQA's own evaluation input
    (`options` [{letter, content}], `label` ["J"])."""
    choices = _options_of(data["options"])
    letter = _answer_letter(data["label"], "label", choices)
    question = _question_without_choices(row, _text(data["question"]), choices, ctx)
    return QARecord(
        id=_text(data["id"]), source="medxpertqa", question=question, options=choices, answer=letter,
        metadata=Metadata(
            question_type=_text(data.get("question_type")) or None,
            medical_task=_text(data.get("medical_task")) or None,
            body_system=_text(data.get("body_system")) or None,
            split="test",
        ),
    )


# -------------------------------------------------------------------------- HuatuoGPT-o1 bundle
BUNDLE_SOURCES = {
    "MedMCQA_validation": "medmcqa",
    "MedQA_USLME_test": "medqa",  # sic: the bundle's own spelling
    "MedQA_USMLE_test": "medqa",
    "PubMedQA_test": "pubmedqa",
    "MMLU-Pro_Medical_test": "mmlu_pro",
    "GPQA_Medical_test": "gpqa",
}


def _bundle_groups(rows: list[RawRow]) -> None:
    for group in dict.fromkeys(row.data["_group"] for row in rows):
        if group not in BUNDLE_SOURCES:
            where = next(row.where for row in rows if row.data["_group"] == group)
            raise DataError(
                f"{where}: unknown benchmark '{group}' in the HuatuoGPT-o1 bundle"
                f"{did_you_mean(group, BUNDLE_SOURCES)}; known: {', '.join(BUNDLE_SOURCES)}"
            )


def _parse_bundle(row: RawRow, data: dict, ctx: ParseContext) -> QARecord | None:
    benchmark = BUNDLE_SOURCES[data["_group"]]
    # The bundle's rows carry no ids: content ids, so GPQA's five option orders stay five items.
    record = _parse_generic(row, data, replace(ctx, benchmark=benchmark))
    return record and replace(record, metadata=replace(record.metadata, split=data["_group"]))


FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        Format("huatuo-bundle", None, ("_group", "question", "options", "answer_idx"),
               lambda r: "_group" in r and {"question", "options", "answer_idx"} <= r.keys(),
               _parse_bundle, "HuatuoGPT-o1 evaluation bundle {benchmark: [{question, options, answer_idx}]}"),
        Format("medqa-hf", "medqa", ("sent1", "ending0", "ending1", "label"),
               lambda r: {"sent1", "ending0", "label"} <= r.keys(), _parse_medqa_hf, "MedQA-USMLE -hf variant"),
        Format("medmcqa", "medmcqa", ("question", "opa", "opb", "opc", "opd", "cop"),
               lambda r: {"opa", "opb", "cop"} <= r.keys(), _parse_medmcqa, "MedMCQA (opa…opd, cop)",
               setup=_medmcqa_base),
        Format("pubmedqa", "pubmedqa", ("QUESTION", "final_decision"),
               lambda r: {"QUESTION", "final_decision"} <= r.keys(), _parse_pubmedqa, "PubMedQA ori_pqal.json",
               setup=_pubmedqa_test_labels),
        Format("pubmedqa-hf", "pubmedqa", ("pubid", "question", "final_decision"),
               lambda r: {"pubid", "question", "final_decision"} <= r.keys(), _parse_pubmedqa_hf,
               "PubMedQA on the Hub (qiaojin/PubMedQA)", setup=_pubmedqa_test_labels),
        Format("mmlu_pro", "mmlu_pro", ("question_id", "question", "options", "answer", "category"),
               lambda r: {"question_id", "options", "category", "answer"} <= r.keys() and "answer_idx" not in r,
               _parse_mmlu_pro, "MMLU-Pro (question_id, options list, answer letter)"),
        Format("gpqa", "gpqa", ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2",
                                "Incorrect Answer 3", "High-level domain"),
               lambda r: {"Question", "Correct Answer"} <= r.keys(), _parse_gpqa, "GPQA CSV"),
        Format("medxpertqa", "medxpertqa", ("id", "question", "options", "label"),
               lambda r: {"question", "options", "label"} <= r.keys(), _parse_medxpertqa,
               "MedXpertQA Text JSONL (Hub rows or its GitHub evaluation input)"),
        Format("omnimedvqa", "omnimedvqa", ("image", "problem", "solution"),
               lambda r: {"image", "problem", "solution"} <= r.keys(), omnimedvqa.parse_med_r1,
               "Med-R1 / OmniMedVQA JSON (image, problem, solution)"),
        Format("omnimedvqa-qa", "omnimedvqa", ("question_id", "question", "gt_answer", "image_path", "option_A"),
               lambda r: {"gt_answer", "image_path", "option_A"} <= r.keys(), omnimedvqa.parse_omnimedvqa_qa,
               "OmniMedVQA QA JSON (image_path, option_A…, gt_answer)"),
        Format("generic", None, ("question", "options", "answer_idx"),
               lambda r: {"question", "options", "answer_idx"} <= r.keys(), _parse_generic,
               "{question, options, answer_idx} JSON/JSONL: MedQA-USMLE's release, MedAgents, HuatuoGPT-o1 "
               "split files, Hub mirrors — of any benchmark"),
    )
}


def layouts_for(benchmark: str) -> list[str]:
    """The row layouts a file given for `benchmark` may be in."""
    own = [fmt.name for fmt in FORMATS.values() if fmt.benchmark == benchmark]
    if benchmark == "omnimedvqa":
        return own
    return [*own, "generic", *(["huatuo-bundle"] if benchmark in BUNDLE_SOURCES.values() else [])]


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


def find_format(name: str) -> Format:
    name = FORMAT_ALIASES.get(name, name)
    if name in FORMATS:
        return FORMATS[name]
    raise DataError(f"unknown format '{name}'{did_you_mean(name, FORMATS)}; known: {', '.join(FORMATS)}")


def load_records(
    source: RawSource,
    *,
    format: str = "auto",
    options: LoadOptions | None = None,
    benchmark: str | None = None,
    keep_duplicates: bool = False,
) -> Loaded:
    """Parse every row of `source` with its (detected or forced) layout, as records of `benchmark`
    (the benchmark the file was assigned to; None: the layout's own, MedQA for the generic layout).

    Exact duplicate rows are dropped and counted (a training pool), or with `keep_duplicates` kept
    as items of their own, the repeats' ids suffixed `#2`, `#3`, … (an evaluation set is scored as
    its owners publish it)."""
    options = options or LoadOptions()
    fmt = detect_format(source) if format == "auto" else _forced(source, find_format(format))
    rows = _rows_for(source, fmt, benchmark)
    state = fmt.setup(rows, options) if fmt.setup is not None else None
    ctx = ParseContext(options, benchmark or fmt.benchmark or "medqa", Counter(), {}, state)
    parsed: list[tuple[RawRow, QARecord]] = []
    defects: list[tuple[RawRow, RowDefect]] = []
    for row in rows:
        try:
            record = _parse_row(row, fmt, ctx)
        except RowDefect as defect:
            defects.append((row, defect))
        else:
            if record is not None:
                parsed.append((row, record))
    records = _unique(parsed, ctx, defects, keep_duplicates)
    _report_defects(source, fmt, defects, ctx)
    several = fmt.name == "huatuo-bundle" and benchmark is None
    return Loaded(records, fmt.name, ctx.skipped, ctx.notes, benchmark=None if several else ctx.benchmark,
                  by_content={record.id for record in records if question_id(record.id) in ctx.by_content})


def _forced(source: RawSource, fmt: Format) -> Format:
    """A forced layout must fit the file: checked on its first row, before any whole-file step
    (MedMCQA's cop base) can complain about a field the file does not have."""
    first = source.rows[0]
    missing = [name for name in fmt.required if name not in first.data]
    if missing:
        keys = ", ".join(sorted(k for k in first.data if not k.startswith("_"))[:15])
        detected = next((f.name for f in FORMATS.values() if f.looks_like(first.data)), None)
        raise DataError(
            f"{first.where}: the format '{fmt.name}' was asked for, but this row lacks its field(s) "
            f"{', '.join(missing)} (it has {keys})",
            hint=f"the rows look like the '{detected}' format: drop the forced format (data.formats) or choose "
            f"'{detected}'" if detected else f"choose one of: {', '.join(FORMATS)}",
        )
    return fmt


def _rows_for(source: RawSource, fmt: Format, benchmark: str | None) -> list[RawRow]:
    """The rows that hold `benchmark`'s records; a native release of another benchmark is an error."""
    if fmt.name == "huatuo-bundle":
        _bundle_groups(source.rows)
    if benchmark not in RECORD_SOURCES:
        return source.rows
    if fmt.name == "huatuo-bundle":
        rows = [row for row in source.rows if BUNDLE_SOURCES[row.data["_group"]] == benchmark]
        if not rows:
            groups = ", ".join(dict.fromkeys(row.data["_group"] for row in source.rows))
            raise DataError(f"{source.spec} is a HuatuoGPT-o1 bundle with no {benchmark} group (it holds: {groups})",
                            hint=f"point the {benchmark} entry at a {benchmark} file")
        return rows
    if fmt.benchmark is not None and fmt.benchmark != benchmark:
        raise DataError(
            f"{source.spec} is in the {fmt.summary} format, which holds {fmt.benchmark} questions, but it is "
            f"given as the data of {benchmark}",
            hint=f"point the {benchmark} entry at a {benchmark} file (`medr1 benchmarks` lists what each reads)",
        )
    return source.rows


_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def _parse_row(row: RawRow, fmt: Format, ctx: ParseContext) -> QARecord | None:
    missing = [name for name in fmt.required if name not in row.data]
    if missing:
        raise RowDefect(
            f"missing field{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} for format "
            f"'{fmt.name}' ({fmt.summary}; rows need: {', '.join(fmt.required)})",
            "missing field",
        )
    try:
        return fmt.parse_row(row, row.data, ctx)
    except RowDefect:
        raise
    except _MALFORMED as err:  # a value of a type the release never has: a defect of this row, not a crash
        raise RowDefect(f"malformed row ({type(err).__name__}: {err})") from None


def _unique(parsed: list[tuple[RawRow, QARecord]], ctx: ParseContext, defects: list, keep: bool) -> list[QARecord]:
    by_id: dict[str, QARecord] = {}
    repeats: Counter = Counter()
    for row, record in parsed:
        earlier = by_id.get(record.id)
        if earlier is None:
            by_id[record.id] = record
        elif earlier != record:
            defects.append((row, RowDefect(f"id '{record.id}' is already used by a different question",
                                           "id used by two different questions")))
        elif keep:
            repeats[record.id] += 1
            repeat = replace(record, id=f"{record.id}{REPEAT_MARK}{repeats[record.id] + 1}")
            by_id[repeat.id] = repeat
        else:
            ctx.skip("exact duplicate of an earlier row")
    return list(by_id.values())


def _report_defects(source: RawSource, fmt: Format, defects: list[tuple[RawRow, RowDefect]], ctx: ParseContext) -> None:
    if not defects:
        return
    if ctx.options.on_bad_item == "skip":
        for _, defect in defects:
            ctx.skip(defect.reason)
        return
    reasons = Counter(defect.reason for _, defect in defects)
    lines = [f"  {row.where}: {defect.message}" for row, defect in defects[:DEFECTS_SHOWN]]
    if len(defects) > DEFECTS_SHOWN:
        lines.append(f"  … and {len(defects) - DEFECTS_SHOWN} more")
    counted = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
    raise DataError(
        f"{source.spec}: {len(defects)} defective row(s) of {len(source.rows)} in the {fmt.name} format "
        f"({counted}):\n" + "\n".join(lines),
        hint="fix those rows, or set data.on_bad_item: skip (--set data.on_bad_item=skip) to skip them; the "
        "skipped rows are counted by reason in the summary and the manifest",
    )
