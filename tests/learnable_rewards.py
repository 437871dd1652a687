"""Rewards for the learning tests, used as rewards of a user's own (`tests.learnable_rewards:NAME`).

The tiny random model answers nothing, so no medical reward has variance for it to learn from. This
one is dense and depends on every token the model chooses: the share of the completion's token ids
that are even. A policy gradient that pairs each reward with its own completion raises it quickly;
one that mixes rewards up between completions (a wrong pairing, groups mixed across ranks or
accumulation steps) does not.
"""

from __future__ import annotations


def even_tokens(prompts=None, completions=None, completion_ids=None, **columns) -> list[float]:
    return [sum(1 for token in ids if token % 2 == 0) / len(ids) if len(ids) else 0.0 for ids in completion_ids]
