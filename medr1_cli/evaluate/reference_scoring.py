"""The reference evaluator's scoring rule, re-implemented from its description, to put a figure
comparable with published tables beside medr1's own — and to show how much of such a figure is guessing.

The rule (HuatuoGPT-o1's evaluation, which produced the bundle's published numbers), as medr1 applies it:

1. An empty completion is dropped from the denominator.
2. The reply is cut at its last "## Final Response" followed by a blank line; the part after it is read.
3. "answer is" — lowercase, then optional spaces and a capital letter A–N, whatever follows it (so
   "answer is Amiodarone" reads A, and a letter past the options counts as wrong): the first and the last.
4. Else a capital option letter standing alone — between non-word characters, the character after it
   used up (in "B/C" only B counts) — except "A" followed by a space, the article ("A 45-year-old
   man"): the first and the last. Like the reference, this reads the
   pronoun "I" as option I where a question has nine or more options.
5. Else the options whose text the reply contains: as "last", the one whose last mention comes
   latest; as "first", the one whose first mention comes latest (the reference's own quirk).
6. Else the option most similar to the reply (difflib's ratio of option against reply, the latest
   option winning a tie) — it never says "no answer".

A benchmark's figure is the higher of the accuracy of the first matches and that of the last
matches, which biases it upward. medr1's headline stays its own extractor, which never guesses.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

Source = Literal["answer_is", "lone_letter", "option_text", "closest"]
SOURCES: tuple[Source, ...] = ("answer_is", "lone_letter", "option_text", "closest")
_FINAL_RESPONSE = "## Final Response\n\n"
_ANSWER_IS = re.compile(r"answer is\s*([A-N])")
_LETTERS = "ABCDEFGHIJKLMN"  # the reference reads letters up to N, the first as many as the question has options
_CJK = "\u4e00-\u9fff"


def _lone_letter(count: int) -> re.Pattern:
    """A letter between non-word characters (or CJK ones, or the text's ends), not the article "A ". The
    character after it is consumed, as in the reference, so in "B/C" the C has no separator left before it."""
    return re.compile(rf"(?:^|\W|[{_CJK}])(?![aA] )([{_LETTERS[:count]}])(?:\W|[{_CJK}]|$)")


@dataclass(frozen=True)
class ReferenceVerdict:
    first: str
    last: str
    source: Source


def reference_verdict(completion: str, options: dict[str, str]) -> ReferenceVerdict | None:
    """The letters the reference rule reads (first and last match), or None for an empty completion."""
    text = (completion or "").strip()
    if not text:
        return None
    cut = text.rfind(_FINAL_RESPONSE)
    if cut >= 0:
        text = text[cut + len(_FINAL_RESPONSE):]
    letters = _ANSWER_IS.findall(text)
    if letters:
        return ReferenceVerdict(letters[0], letters[-1], "answer_is")
    lone = [m[1] for m in _lone_letter(len(options)).finditer(text)]
    if lone:
        return ReferenceVerdict(lone[0], lone[-1], "lone_letter")
    lowered = text.lower()
    named = [letter for letter, t in options.items() if t.lower() in lowered]
    if named:  # max() keeps the earliest option on a tie, as the reference's stable sort does
        return ReferenceVerdict(max(named, key=lambda letter: lowered.find(options[letter].lower())),
                                max(named, key=lambda letter: lowered.rfind(options[letter].lower())), "option_text")
    # the option is difflib's first sequence and the reply its second, as in the reference (difflib's junk
    # heuristic applies to the second); difflib indexes the second once, so one matcher serves every option
    matcher = difflib.SequenceMatcher(None, "", lowered)
    ratios = []
    for order, letter in enumerate(options):
        matcher.set_seq1(options[letter].lower())
        ratios.append((matcher.ratio(), order, letter))
    closest = max(ratios)[2]
    return ReferenceVerdict(closest, closest, "closest")


def reference_figures(verdicts: list[tuple[ReferenceVerdict | None, str]]) -> dict:
    """The reference-compatible accuracy of (verdict, gold letter) pairs, with how its answers were obtained."""
    scored = [(v, gold) for v, gold in verdicts if v is not None]
    n = len(scored)
    first = sum(v.first == gold for v, gold in scored) / n if n else 0.0
    last = sum(v.last == gold for v, gold in scored) / n if n else 0.0
    return {
        "accuracy": max(first, last), "first_match_accuracy": first, "last_match_accuracy": last,
        "n": n, "dropped_empty": len(verdicts) - n,
        "answers_by": {source: sum(v.source == source for v, _ in scored) for source in SOURCES},
    }
