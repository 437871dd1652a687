"""Seeded sampling without replacement, stratified for sources that are also evaluation sets.

Candidates are examined lazily in a seeded random order and only until the quota is met, so costly
checks (tokenizing a prompt, searching the evaluation index) run on a little more than the chosen
items, not on the whole source — and the result is still a uniform sample of the items that pass.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from medr1_cli.data.record import QARecord
from medr1_cli.errors import DataError

# Given candidates, says which may be used (and records why the others may not).
Accept = Callable[[list[QARecord]], list[bool]]


@dataclass
class Pick:
    source: str
    requested: int | float | str
    available: int  # candidates in the source
    examined: int  # candidates checked before the quota was met
    chosen: list[QARecord]


def amount_to_count(amount: int | float | str, available: int) -> int:
    """An amount is a count, a fraction of the source (counted before filtering), or 'all' (every
    candidate that passes the checks)."""
    if amount == "all":
        return available
    if isinstance(amount, float):
        return round(amount * available)
    return int(amount)


def pick(
    source: str,
    pool: list[QARecord],
    amount: int | float | str,
    *,
    seed: int,
    stratify_by: str | None = None,
    accept: Accept | None = None,
) -> Pick:
    """Choose `amount` records of `pool`, seeded per source and independent of the file's row order.

    With `stratify_by` (a Metadata field) each group keeps its share of the pool. `accept` filters
    candidates (overlap with evaluation sets, prompt length); rejected ones are replaced by the next
    in the seeded order.
    """
    count = amount_to_count(amount, len(pool))
    if count <= 0:
        raise DataError(f"source '{source}': the requested amount {amount!r} selects no question")
    if count > len(pool):
        raise DataError(
            f"source '{source}': asked for {count} questions but only {len(pool)} are available",
            hint=f"lower data.mixes.<mix>.{source}, or use a fraction or 'all'",
        )
    ordered = sorted(pool, key=lambda r: r.id)
    rng = random.Random(f"{seed}:{source}")
    groups: dict[str, list[QARecord]] = defaultdict(list)
    for record in ordered:
        groups[str(getattr(record.metadata, stratify_by) or "unknown") if stratify_by else "all"].append(record)
    quotas = _quotas({name: len(members) for name, members in groups.items()}, count)
    chosen: list[QARecord] = []
    examined = 0
    for name in sorted(groups):
        rejected = 0
        candidates = groups[name][:]
        rng.shuffle(candidates)
        taken: list[QARecord] = []
        while len(taken) < quotas[name] and candidates:
            # Check a few more than needed at once: accept() is cheaper in batches.
            batch_size = quotas[name] - len(taken) + 8 + (quotas[name] - len(taken)) // 8
            batch, candidates = candidates[:batch_size], candidates[batch_size:]
            verdicts = accept(batch) if accept else [True] * len(batch)
            for record, ok in zip(batch, verdicts, strict=True):
                examined += 1
                if not ok:
                    rejected += 1
                elif len(taken) < quotas[name]:
                    taken.append(record)
        if len(taken) < quotas[name] and amount != "all":  # 'all' means all that pass the checks
            share = f"group {stratify_by}={name} needs {quotas[name]} of them" if stratify_by else "they are needed"
            raise DataError(
                f"source '{source}': asked for {count} questions; {share}, but only {len(groups[name]) - rejected} "
                f"of its {len(groups[name])} candidates are usable ({rejected} removed: overlap with evaluation "
                "sets, prompts too long, or pass rates outside data.pass_rate_band)",
                hint=f"lower data.mixes.<mix>.{source}, raise data.max_prompt_tokens, widen data.pass_rate_band, or "
                "use a fraction or 'all'",
            )
        chosen.extend(taken)
    return Pick(source, amount, len(pool), examined, chosen)


def _quotas(sizes: dict[str, int], count: int) -> dict[str, int]:
    """Largest-remainder shares: every group gets floor(share), the biggest remainders one more."""
    total = sum(sizes.values())
    exact = {name: count * size / total for name, size in sizes.items()}
    quotas = {name: int(value) for name, value in exact.items()}
    by_remainder = sorted(sizes, key=lambda name: (-(exact[name] - quotas[name]), name))
    for name in by_remainder[: count - sum(quotas.values())]:
        quotas[name] += 1
    return quotas
