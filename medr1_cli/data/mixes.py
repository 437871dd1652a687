"""Seeded sampling without replacement, and stratified train / held-out splits of evaluation sets."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from medr1_cli.data.record import QARecord
from medr1_cli.errors import DataError


@dataclass
class Pick:
    source: str
    requested: int | float | str
    available: int
    chosen: list[QARecord]


def amount_to_count(amount: int | float | str, available: int) -> int:
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
    excluded: int = 0,
) -> Pick:
    """Choose `amount` records of `pool` at random, seeded per source and independent of file order.

    With `stratify_by` (a Metadata field), each group keeps its share of the pool. `excluded` only
    explains an error: how many candidates were removed before sampling (overlap with evaluation
    sets, prompts too long).
    """
    count = amount_to_count(amount, len(pool))
    if count > len(pool):
        removed = f" ({excluded} more were removed before sampling)" if excluded else ""
        raise DataError(
            f"source '{source}': asked for {count} questions but only {len(pool)} are available{removed}",
            hint=f"lower data.mixes.<mix>.{source}, or use a fraction or 'all'",
        )
    if count <= 0:
        raise DataError(f"source '{source}': the requested amount {amount!r} selects no question")
    ordered = sorted(pool, key=lambda r: r.id)
    rng = random.Random(f"{seed}:{source}")
    if stratify_by is None:
        chosen = rng.sample(ordered, count)
    else:
        chosen = _stratified(ordered, count, stratify_by, rng)
    return Pick(source, amount, len(pool), chosen)


def _stratified(ordered: list[QARecord], count: int, key: str, rng: random.Random) -> list[QARecord]:
    groups: dict[str, list[QARecord]] = defaultdict(list)
    for record in ordered:
        groups[str(getattr(record.metadata, key) or "unknown")].append(record)
    # Largest-remainder quotas: every group gets floor(share), the biggest remainders one more.
    exact = {name: count * len(members) / len(ordered) for name, members in groups.items()}
    quotas = {name: int(value) for name, value in exact.items()}
    by_remainder = sorted(groups, key=lambda name: (-(exact[name] - quotas[name]), name))
    for name in by_remainder[: count - sum(quotas.values())]:
        quotas[name] += 1
    chosen = []
    for name in sorted(groups):
        chosen.extend(rng.sample(groups[name], quotas[name]))
    return chosen
