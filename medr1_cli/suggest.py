"""Did-you-mean suggestions for names a user typed (config keys, choices, recipe names)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """" (did you mean 'x'?)" for the closest choice, or "" when nothing is close."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    # Abbreviations and long forms (eval / evaluation, lr / lr_scheduler) are too far apart for difflib.
    close = close or sorted(
        (c for c in choices if min(len(c), len(word)) >= 3 and (c.startswith(word) or word.startswith(c))),
        key=lambda c: abs(len(c) - len(word)),
    )
    return f" (did you mean '{close[0]}'?)" if close else ""
