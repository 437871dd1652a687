"""Reflective ("self-verification") phrases in completions: the R1-Zero "aha moment" made countable.

A phrase matches as whole words, case-insensitively. Inside a phrase, a space matches any run of
whitespace and a hyphen is optional and may also be a space, so "double-check" finds "double check"
and "doublecheck", and "re-check" finds "recheck". All phrases are searched in one pass with the
longest first, so "let me re-check" is one match, not also a "re-check" inside it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# Phrases models use when they stop to check their own reasoning (the reference study's
# "self-validation"); "wait" and "hmm" are DeepSeek-R1-Zero's own markers.
DEFAULT_PHRASES: tuple[str, ...] = (
    "wait",
    "hmm",
    "actually",
    "let me check",
    "let me re-check",
    "let me verify",
    "let me think again",
    "verify",
    "double-check",
    "re-examine",
    "re-evaluate",
    "reconsider",
    "on second thought",
    "i made a mistake",
    "that's not right",
)


def _phrase_pattern(phrase: str) -> str:
    words = []
    for word in phrase.strip().split():
        words.append("[-\\s]?".join(re.escape(part) for part in word.split("-")))
    body = r"\s+".join(words)
    # \b only where the phrase begins/ends with a word character; "that's not right." still ends well.
    start = r"\b" if re.match(r"\w", phrase.strip()) else ""
    end = r"\b" if re.search(r"\w$", phrase.strip()) else ""
    return f"{start}{body}{end}"


@dataclass(frozen=True)
class PhraseMatcher:
    phrases: tuple[str, ...]

    def __post_init__(self) -> None:
        cleaned = tuple(dict.fromkeys(p.strip().lower() for p in self.phrases if p.strip()))
        if not cleaned:
            raise ValueError("no reflective phrases to look for")
        object.__setattr__(self, "phrases", cleaned)
        ordered = sorted(range(len(cleaned)), key=lambda i: -len(cleaned[i]))
        group = "|".join(f"(?P<p{i}>{_phrase_pattern(cleaned[i])})" for i in ordered)
        object.__setattr__(self, "_regex", re.compile(group, re.IGNORECASE))

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, phrase) of every non-overlapping match, in text order."""
        found = []
        for match in self._regex.finditer(text):
            index = int(match.lastgroup[1:])
            found.append((match.start(), match.end(), self.phrases[index]))
        return found

    def counts(self, text: str) -> Counter:
        return Counter(phrase for _, _, phrase in self.spans(text))


def matcher(phrases: list[str] | tuple[str, ...] | None) -> PhraseMatcher:
    return PhraseMatcher(tuple(phrases) if phrases else DEFAULT_PHRASES)


def excerpt(text: str, spans: list[tuple[int, int, str]], width: int = 600) -> tuple[str, list[tuple[int, int]], bool, bool]:
    """A window of at most `width` characters around the first match, with the match offsets shifted
    into it, and whether text was cut at the start / end."""
    if len(text) <= width:
        return text, [(s, e) for s, e, _ in spans], False, False
    first = spans[0][0] if spans else 0
    start = max(0, min(first - width // 4, len(text) - width))
    end = start + width
    kept = [(s - start, e - start) for s, e, _ in spans if s >= start and e <= end]
    return text[start:end], kept, start > 0, end < len(text)
