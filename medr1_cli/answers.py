"""The one answer extractor, shared by the accuracy rewards and by evaluation.

A model is trained toward exactly what it is judged on, so both call `extract_answer`. The rules,
in order (DESIGN §2.4), never guess:

1. Only the text after the last `</think>` is the final answer. A completion that opened `<think>`
   (or, with `require_think`, was expected to think) but never closed it is *truncated*. A
   completion whose `<think>` was pre-filled by the chat template has no opening tag; its
   `</think>` still splits reasoning from answer.
2. The last complete `<answer>…</answer>`.
3. Else the last `\\boxed{…}` (also `\\boxed{\\text{B}}`, `\\boxed{B. text}`).
4. Else the last "answer is / answer:" phrase, tolerant of markdown and punctuation
   (`**B**`, `(B)`, `B.`, `B) text`).
5. Else the whole final text is a bare answer: a letter, a letter with its option text, or exactly
   one option's text.
6. Otherwise *unparseable*: scored wrong, counted separately.

Once a rule finds an answer span, that span decides: unreadable content is unparseable, a letter
that is not an option of this question is wrong, and several different letters are wrong.
Option texts count too, so PubMedQA's yes / no / maybe answers map to their letters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Rule = Literal["answer_tag", "boxed", "answer_phrase", "bare_answer"]
Status = Literal["answered", "truncated", "unparseable", "invalid_letter", "several_letters"]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BARE_ANSWER_MAX_CHARS = 300  # a longer final text is prose, not a bare answer


@dataclass(frozen=True, slots=True)
class Extraction:
    """What a completion answered. `letter` is set only for a valid, unambiguous answer."""

    letter: str | None
    status: Status
    rule: Rule | None = None
    detail: str = ""

    @property
    def truncated(self) -> bool:
        return self.status == "truncated"

    @property
    def unparseable(self) -> bool:
        return self.status == "unparseable"

    def is_correct(self, solution: str) -> bool:
        return self.letter is not None and self.letter == solution.strip().upper()


OptionsLike = Mapping[str, str] | Sequence[str]


def normalise_options(options: OptionsLike) -> dict[str, str]:
    """Options as {letter: text}; a plain list gets letters A, B, C, … in order."""
    if isinstance(options, Mapping):
        return {str(k).strip().upper(): str(v) for k, v in options.items() if v is not None}
    return {LETTERS[i]: str(text) for i, text in enumerate(options)}


def extract_answer(completion: str, options: OptionsLike, *, require_think: bool = False) -> Extraction:
    """Find the answer letter in `completion` for a question with these `options`.

    `require_think`: the model was asked to think first (or the template pre-filled `<think>`), so
    a completion without `</think>` ran out of budget mid-thought and is truncated.
    """
    choices = options if isinstance(options, dict) else normalise_options(options)
    text = completion or ""

    close = text.rfind("</think>")
    if close >= 0:
        final = text[close + len("</think>") :]
    elif require_think or "<think>" in text:
        return Extraction(None, "truncated", detail="no </think>: the reasoning never ended")
    else:
        final = text

    start = final.rfind("<answer>")
    if start >= 0:
        end = final.find("</answer>", start)
        if end >= 0:
            return _judge(final[start + len("<answer>") : end], choices, "answer_tag")

    boxed = _last_boxed(final)
    if boxed is not None:
        return _judge(boxed, choices, "boxed")

    phrase = _last_answer_phrase(final, choices)
    if phrase is not None:
        return phrase

    if len(final) <= _BARE_ANSWER_MAX_CHARS and final.strip():
        verdict = _judge(final, choices, "bare_answer", exact_text=True, letter_needs_delimiter=True)
        if verdict.status != "unparseable":
            return verdict
    return Extraction(None, "unparseable", detail="no answer tag, \\boxed{}, answer phrase or bare answer")


# ------------------------------------------------------------------------------ the spans
def _last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{…}`, with nested braces balanced."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, index = 1, start + len("\\boxed{")
    while index < len(text):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return _strip_latex(text[start + len("\\boxed{") : index])
        index += 1
    return None  # unbalanced: the box never closed


_LATEX_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm|mathbf|textit|mbox)\s*\{([^{}]*)\}")


def _strip_latex(content: str) -> str:
    return _LATEX_WRAPPER.sub(r"\1", content).replace("\\", " ")


# "answer" followed by an optional verb and separators, markdown allowed anywhere in between.
_PHRASE_TAIL = re.compile(
    r"[\s*_]*(?:(?:is|was|would\s+be|will\s+be|should\s+be|choice|option)\b[\s*_]*)?"
    r"(?:(?:therefore|thus|clearly|likely|probably|definitely|most\s+likely)\b[\s*_]*)?"
    r"[:=\-–—]?[\s*_]*(?:(?:option|choice)\b[\s*_]*)?",
    re.IGNORECASE,
)


def _last_answer_phrase(text: str, choices: dict[str, str]) -> Extraction | None:
    """The last "answer is X" / "answer: X" whose X is readable, scanning from the end."""
    lowered = text.lower()
    position = len(lowered)
    while (position := lowered.rfind("answer", 0, position)) >= 0:
        tail = _PHRASE_TAIL.match(text, position + len("answer"))
        remainder = text[tail.end() : tail.end() + 200].split("\n", 1)[0]
        if tail.end() > position + len("answer") and remainder.strip():
            verdict = _judge(remainder, choices, "answer_phrase", exact_text=False)
            if verdict.status != "unparseable":
                return verdict
    return None


# ----------------------------------------------------------------------- reading a span
_MARKDOWN = str.maketrans("", "", "*_`")
# A letter at the start: "B", "(B)", "[B]", "B.", "B)", "B:", "B - text", "B text", "option B".
_LEADING_LETTER = re.compile(r"^[\s(\[{]*([A-Za-z])(?![A-Za-z0-9])[)\]}]?\s*(?:([.:)\-–—,]|$)|(\s+\S))")
# A second letter joined to the first: "B and C", "B, C", "B/C", "B or (C)".
_SECOND_LETTER = re.compile(r"^\s*(?:,|and|or|&|/|\+)\s*[(\[]?([A-Z])(?![A-Za-z0-9])")
_NOT_WORD = re.compile(r"[^\w\s]")
_PRONOUN_I = re.compile(
    r"I\s+(?:think|believe|am|would|will|guess|feel|can|cannot|can't|don't|do|need|have|suspect|choose|pick)\b"
)


def _judge(
    span: str,
    choices: dict[str, str],
    rule: Rule,
    *,
    exact_text: bool = True,
    letter_needs_delimiter: bool = False,
) -> Extraction:
    """Read the answer in `span`: a leading letter, or an option's text (whole span or its start).

    `letter_needs_delimiter`: for a bare final text, "A 45-year-old…" is prose, while "A." or
    "A) Iron" is an answer.
    """
    cleaned = span.translate(_MARKDOWN).strip()
    match = _LEADING_LETTER.match(cleaned)
    if match:
        raw = match.group(1)
        followed_by_words = match.group(3) is not None
        # A lowercase letter followed by words is an article or a word ("a deficiency"), and so is
        # "I think…"; neither is an answer.
        is_word = followed_by_words and (
            raw.islower() or letter_needs_delimiter or (raw == "I" and _PRONOUN_I.match(cleaned))
        )
        if not is_word:
            letter = raw.upper()
            second = _SECOND_LETTER.match(cleaned[match.end(1) :].lstrip(")]}.:"))
            if second and second.group(1) != letter:
                return Extraction(None, "several_letters", rule, f"both {letter} and {second.group(1)}")
            if letter not in choices:
                valid = f"{min(choices)}–{max(choices)}" if choices else "none"
                return Extraction(None, "invalid_letter", rule, f"{letter} is not an option ({valid})")
            return Extraction(letter, "answered", rule)

    text_match = _option_by_text(cleaned, choices, whole=exact_text)
    if text_match:
        return Extraction(text_match, "answered", rule, "matched the option's text")

    if rule in ("answer_tag", "boxed"):  # "<answer>The answer is B</answer>"
        inner = _last_answer_phrase(cleaned, choices)
        if inner is not None:
            return Extraction(inner.letter, inner.status, rule, inner.detail)
    return Extraction(None, "unparseable", rule, f"could not read an option in {span.strip()[:60]!r}")


def _normalise_text(text: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", text.lower()).split())


def _option_by_text(span: str, choices: dict[str, str], *, whole: bool) -> str | None:
    """The letter whose option text is the whole span (or, with whole=False, begins it).

    When several options begin the span ("Vitamin B" and "Vitamin B12"), the longest wins; when two
    options have the same text, neither does.
    """
    said = _normalise_text(span)
    if not said:
        return None
    matches = []
    for letter, option in choices.items():
        expected = _normalise_text(option)
        if expected and (said == expected or (not whole and (said + " ").startswith(expected + " "))):
            matches.append((len(expected), letter))
    if not matches:
        return None
    matches.sort(reverse=True)
    if len(matches) > 1 and matches[0][0] == matches[1][0]:
        return None
    return matches[0][1]
