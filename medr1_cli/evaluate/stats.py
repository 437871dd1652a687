"""Accuracy with honest uncertainty: Wilson and bootstrap intervals, paired comparisons."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Z95 = 1.959963984540054


def wilson(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (well behaved at 0 %, 100 % and small n)."""
    if n == 0:
        return (0.0, 0.0)
    p = correct / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap(values: Sequence[float], *, resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap 95 % interval of the mean of `values` (per-item scores).

    Per-item scores take a few distinct values (0/1, or -1/0/1 for paired differences), so a resample
    is fully described by how often each value is drawn: one multinomial draw per resample has exactly
    the distribution of drawing n items with replacement, at a cost independent of n.
    """
    n = len(values)
    if n == 0:
        return (0.0, 0.0)
    distinct, counts = np.unique(np.asarray(values, dtype=float), return_counts=True)
    draws = np.random.default_rng(seed).multinomial(n, counts / n, size=resamples)
    means = np.sort(draws @ distinct / n)
    return (float(means[int(0.025 * resamples)]), float(means[min(resamples - 1, int(0.975 * resamples))]))


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, resamples: int = 10_000, seed: int = 0):
    """Mean difference b − a over the same items, with its percentile bootstrap 95 % interval."""
    if len(a) != len(b):
        raise ValueError("paired comparison needs the same items in both runs")
    diffs = [y - x for x, y in zip(a, b)]
    return sum(diffs) / len(diffs) if diffs else 0.0, bootstrap(diffs, resamples=resamples, seed=seed)


def mcnemar(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Exact two-sided McNemar p-value: do the runs disagree more often in one direction?"""
    only_a = sum(1 for x, y in zip(a, b) if x and not y)
    only_b = sum(1 for x, y in zip(a, b) if y and not x)
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    tail = sum(math.comb(discordant, k) for k in range(min(only_a, only_b) + 1)) / 2**discordant
    return min(1.0, 2 * tail)
