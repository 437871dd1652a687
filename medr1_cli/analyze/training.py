"""The figures of a training run, per step and over the run, from its recorded completions.

Steps are numbered as TRL's log numbers them: completions recorded at global step s (before the
update) are what optimizer step s + 1 learned from, and its log entry is labelled s + 1. So step 1
is the first step in every plot and table, and the figures line up with trainer_state.json.

Per step, from the recorded rollouts (every rank's file):
* reward: mean over completions of Σ weight × value over the rewards that applied (a None is left
  out), completions with no applicable reward left out — TRL's own `reward` figure.
* each reward: the mean of its values where it applied (TRL's `rewards/<name>/mean`).
* mean length: completion tokens.
* format compliance: share of completions whose logged `format` (or `format_lenient`) reward is
  above 0 — the logged value knows whether the chat template pre-filled `<think>`. A run trained
  without a format reward is scored with the strict `format` reward of medr1_cli.rewards, with
  `<think>` expected when the run's template asks for it.
* truncated: share of completions that used all of train.grpo.max_completion_length tokens, i.e.
  were cut off instead of ending (TRL's `completions/clipped_ratio` counts the same, up to a
  completion whose end-of-sequence token is exactly its last allowed one).
* reflective: share of completions with at least one reflective phrase, and phrases per completion.
* zero variance: share of groups (one prompt's completions at one step) whose total rewards are all
  equal — GRPO learns nothing from them (TRL's frac_reward_zero_std); and, where an `accuracy` reward
  judges them, the shares of groups all correct (too easy) and all wrong (too hard).

Over the run, the trend: the mean reward of the first third of the steps against the last third
(⌊steps / 3⌋ steps each), their difference and its 95 % percentile-bootstrap interval. The unit
resampled is a group — one prompt's completions at one step, whose rewards are not independent of
each other — within each third, with a fixed seed, so the same run always gives the same interval.
A run read from TRL's log alone resamples its per-step means instead.

A run without rollout files (recorded by older medr1 versions) is read from TRL's log history
instead: the same series as far as TRL logs them; no scatter, no phrases.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from medr1_cli.analyze.inputs import Row, Run
from medr1_cli.analyze.reflection import PhraseMatcher
from medr1_cli.rewards import FormatReward

FORMAT_REWARDS = ("format", "format_lenient")
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _sums(x: list[float], y: list[float]) -> tuple[float, float, float] | None:
    """Centred sums of squares and products (Sxx, Syy, Sxy); None for fewer than 2 points."""
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    return (sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y),
            sum((a - mx) * (b - my) for a, b in zip(x, y)))


def pearson(x: list[float], y: list[float]) -> float | None:
    """Pearson's r; None when it is undefined (fewer than 2 points, or a constant variable)."""
    sums = _sums(x, y)
    if sums is None or sums[0] == 0 or sums[1] == 0:
        return None
    sxx, syy, sxy = sums
    return sxy / math.sqrt(sxx * syy)


def slope(x: list[float], y: list[float]) -> float | None:
    """Least-squares slope of y on x."""
    sums = _sums(x, y)
    return None if sums is None or sums[0] == 0 else sums[2] / sums[0]


@dataclass
class Scored:
    """One completion with what the analysis derives from it."""

    row: Row
    total: float | None
    formatted: bool | None
    truncated: bool | None
    phrases: Counter
    spans: list[tuple[int, int, str]]

    @property
    def correct(self) -> bool | None:
        value = self.row.rewards.get("accuracy")
        return None if value is None else value > 0


@dataclass
class TrainingAnalysis:
    source: str  # "completions" or "trainer log"
    reward_names: list[str]
    weights: dict[str, float]
    format_source: str
    per_step: list[dict[str, Any]]
    overall: dict[str, Any]
    reward_length: dict[str, Any] | None
    reflection: dict[str, Any] | None
    scored: list[Scored] = field(default_factory=list)
    trend: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "reward_names": self.reward_names, "weights": self.weights,
            "format_source": self.format_source, "per_step": self.per_step, "overall": self.overall,
            "trend": self.trend, "reward_vs_length": self.reward_length, "reflection": self.reflection,
        }


def analyze_training(run: Run, phrases: PhraseMatcher) -> TrainingAnalysis:
    if run.rows:
        return _from_completions(run, phrases)
    return _from_log(run)


def total_reward(rewards: dict[str, float | None], weights: dict[str, float]) -> float | None:
    applied = [(weights.get(name, 1.0), v) for name, v in rewards.items() if v is not None]
    return sum(w * v for w, v in applied) if applied else None


def _from_completions(run: Run, phrases: PhraseMatcher) -> TrainingAnalysis:
    names = list(dict.fromkeys(name for row in run.rows for name in row.rewards))
    weights = {name: (run.weights or {}).get(name, 1.0) for name in names}
    if run.weights is not None and (unknown := [n for n in names if n not in run.weights]):
        run.notes.append(f"rewards {unknown} are not in the run's train.rewards: weighted 1")
    format_name = next((n for n in FORMAT_REWARDS if n in names), None)
    if format_name:
        format_source = f"the logged '{format_name}' reward > 0"
        computed = None
    else:
        format_source = f"medr1's strict format check ({'<think>…</think>' if run.thinks else 'no think block'}, then <answer>…</answer>)"
        checker = FormatReward(think=run.thinks)
        computed = checker.score(None, [row.completion for row in run.rows], None, {})
    scored = []
    for index, row in enumerate(run.rows):
        if format_name:
            value = row.rewards.get(format_name)
            formatted = None if value is None else value > 0
        else:
            formatted = computed[index] > 0
        truncated = (None if row.tokens is None or run.max_completion_length is None
                     else row.tokens >= run.max_completion_length)
        spans = phrases.spans(row.completion)
        scored.append(Scored(row, total_reward(row.rewards, weights), formatted, truncated,
                             Counter(p for _, _, p in spans), spans))

    by_step: dict[int, list[Scored]] = defaultdict(list)
    for item in scored:
        by_step[item.row.step + 1].append(item)
    per_step = [{"step": step, **_figures(items, names)} for step, items in sorted(by_step.items())]
    overall = _figures(scored, names)
    units: dict[int, list[list[float]]] = {}  # per step: the totals of each group (a lone row without id is its own)
    for step, items in sorted(by_step.items()):
        groups: dict[Any, list[float]] = defaultdict(list)
        for index, s in enumerate(items):
            if s.total is not None:
                groups[s.row.id if s.row.id is not None else ("row", index)].append(s.total)
        units[step] = list(groups.values())

    pairs = [(float(s.row.tokens), s.total) for s in scored if s.row.tokens is not None and s.total is not None]
    lengths, totals = [p[0] for p in pairs], [p[1] for p in pairs]
    reward_length = {"n": len(pairs), "pearson_r": pearson(lengths, totals), "slope_per_token": slope(lengths, totals),
                     "mean_length": mean(lengths), "mean_reward": mean(totals)}
    trend = reward_trend(per_step, [units[p["step"]] for p in per_step], "group (one prompt's completions at one step)")
    return TrainingAnalysis("completions", names, weights, format_source, per_step, overall, reward_length,
                            _reflection(scored, phrases), scored, trend)


def _pooled_mean(units: list[list[float]]) -> float:
    return sum(sum(u) for u in units) / sum(len(u) for u in units)


def bootstrap_difference(first: list[list[float]], last: list[list[float]], *, resamples: int = BOOTSTRAP_RESAMPLES,
                         seed: int = BOOTSTRAP_SEED, level: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap interval of mean(last) − mean(first), where each side is a list of units
    (lists of values) resampled with replacement within its side and pooled into a mean of values."""
    rng = random.Random(seed)
    diffs = sorted(_pooled_mean(rng.choices(last, k=len(last))) - _pooled_mean(rng.choices(first, k=len(first)))
                   for _ in range(resamples))
    tail = (1 - level) / 2
    return _quantile(diffs, tail), _quantile(diffs, 1 - tail)


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def reward_trend(per_step: list[dict[str, Any]], units: list[list[list[float]]], unit: str) -> dict[str, Any] | None:
    """First third of the steps against the last third: mean reward of each (pooled over their
    units' values), the difference last − first with its 95 % bootstrap interval, and the mean
    zero-variance share of each third. None for a run of fewer than 3 steps."""
    third = len(per_step) // 3
    if third == 0:
        return None
    first, last = [u for us in units[:third] for u in us], [u for us in units[-third:] for u in us]
    first, last = [u for u in first if u], [u for u in last if u]
    if not first or not last:
        return None
    low, high = bootstrap_difference(first, last)

    def zero(steps: list[dict[str, Any]]) -> float | None:
        return mean([p["zero_variance"] for p in steps if p.get("zero_variance") is not None])

    first_mean, last_mean = _pooled_mean(first), _pooled_mean(last)
    return {
        "steps_per_third": third,
        "first_steps": [per_step[0]["step"], per_step[third - 1]["step"]],
        "last_steps": [per_step[-third]["step"], per_step[-1]["step"]],
        "first_mean": first_mean, "last_mean": last_mean, "difference": last_mean - first_mean,
        "difference_ci95": [low, high], "rises": low > 0, "falls": high < 0,
        "unit": unit, "units": [len(first), len(last)], "resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED,
        "zero_variance_first_third": zero(per_step[:third]), "zero_variance_last_third": zero(per_step[-third:]),
    }


def _figures(items: list[Scored], names: list[str]) -> dict[str, Any]:
    def share(flags: list[bool | None]) -> float | None:
        known = [f for f in flags if f is not None]
        return sum(known) / len(known) if known else None

    return {
        "completions": len(items),
        "reward": mean([s.total for s in items if s.total is not None]),
        "rewards": {n: mean([s.row.rewards[n] for s in items if s.row.rewards.get(n) is not None]) for n in names},
        "mean_length": mean([float(s.row.tokens) for s in items if s.row.tokens is not None]),
        "format_compliance": share([s.formatted for s in items]),
        "truncated": share([s.truncated for s in items]),
        "reflective": share([bool(s.phrases) for s in items]),
        "phrases_per_completion": mean([float(sum(s.phrases.values())) for s in items]),
        **group_shares(items),
    }


def group_shares(items: list[Scored]) -> dict[str, float | None]:
    """Over groups — one prompt's completions at one step — the share whose total rewards are all equal
    (their advantages are all zero, so GRPO learns nothing from them; TRL logs it as frac_reward_zero_std),
    and, among groups the accuracy reward judges, the shares all correct and all wrong."""
    groups: dict[tuple, list[Scored]] = defaultdict(list)
    for s in items:
        if s.row.id is not None and s.total is not None:
            groups[(s.row.step, s.row.id)].append(s)
    sized = [members for members in groups.values() if len(members) > 1]
    return {
        "zero_variance": (sum(max(s.total for s in m) - min(s.total for s in m) < 1e-9 for m in sized) / len(sized)
                          if sized else None),
        **accuracy_outcomes([s.row for s in items if s.total is not None]),
    }


def accuracy_outcomes(rows: list[Row]) -> dict[str, float | None]:
    """Among groups (one prompt's completions at one step) the `accuracy` reward judged: the shares
    answered correctly by every completion (too easy) and by none (too hard)."""
    groups: dict[tuple, list[float | None]] = defaultdict(list)
    for row in rows:
        if row.id is not None:
            groups[(row.step, row.id)].append(row.rewards.get("accuracy"))
    judged = [[v > 0 for v in values] for values in groups.values()
              if len(values) > 1 and all(v is not None for v in values)]
    return {"all_correct": sum(all(c) for c in judged) / len(judged) if judged else None,
            "all_wrong": sum(not any(c) for c in judged) / len(judged) if judged else None}


def _reflection(scored: list[Scored], phrases: PhraseMatcher) -> dict[str, Any]:
    """How often reflective phrases appear, and how accuracy differs with and without them."""
    occurrences: Counter = Counter()
    completions_with: Counter = Counter()
    for s in scored:
        occurrences.update(s.phrases)
        completions_with.update(set(s.phrases))
    judged = [s for s in scored if s.correct is not None]
    with_phrase = [s.correct for s in judged if s.phrases]
    without = [s.correct for s in judged if not s.phrases]
    return {
        "phrases": list(phrases.phrases),
        "completions": len(scored),
        "with_phrase": sum(1 for s in scored if s.phrases),
        "share": mean([float(bool(s.phrases)) for s in scored]),
        "occurrences": {p: occurrences[p] for p in phrases.phrases if occurrences[p]},
        "completions_with": {p: completions_with[p] for p in phrases.phrases if completions_with[p]},
        "accuracy_source": "the logged 'accuracy' reward > 0" if judged else None,
        "accuracy_with_phrase": mean([float(c) for c in with_phrase]),
        "n_with_phrase": len(with_phrase),
        "accuracy_without_phrase": mean([float(c) for c in without]),
        "n_without_phrase": len(without),
        "count_accuracy_r": pearson([float(sum(s.phrases.values())) for s in judged], [float(s.correct) for s in judged]),
    }


def _from_log(run: Run) -> TrainingAnalysis:
    """The same series from TRL's log entries (one per logging step, averaged over its steps)."""
    entries = [e for e in run.log_history if "reward" in e and "step" in e]
    names = list(dict.fromkeys(
        key[len("rewards/"):-len("/mean")] for e in entries for key in e if key.startswith("rewards/") and key.endswith("/mean")
    ))
    format_name = next((n for n in FORMAT_REWARDS if n in names), None)
    per_step = []
    for e in entries:
        per_step.append({
            "step": e["step"], "completions": None, "reward": e["reward"],
            "rewards": {n: e.get(f"rewards/{n}/mean") for n in names},
            "mean_length": e.get("completions/mean_length"),
            # format and format_lenient are 0/1 rewards: their mean is the share that complied
            "format_compliance": e.get(f"rewards/{format_name}/mean") if format_name else None,
            "truncated": e.get("completions/clipped_ratio"),
            "reflective": None, "phrases_per_completion": None, "zero_variance": e.get("frac_reward_zero_std"),
        })

    def run_mean(key: str, inner: str | None = None) -> float | None:
        values = [(p[key] if inner is None else p[key][inner]) for p in per_step]
        return mean([v for v in values if v is not None])

    overall = {
        "completions": None, "reward": run_mean("reward"), "rewards": {n: run_mean("rewards", n) for n in names},
        "mean_length": run_mean("mean_length"), "format_compliance": run_mean("format_compliance"),
        "truncated": run_mean("truncated"), "reflective": None, "phrases_per_completion": None,
        "zero_variance": run_mean("zero_variance"),
    }
    run.notes.append(f"no completions recorded: figures are TRL's logged means from {run.trainer_state} "
                     "(no reward-vs-length scatter, no reflective phrases)")
    weights = {n: (run.weights or {}).get(n, 1.0) for n in names}
    source = f"the logged '{format_name}' reward mean" if format_name else "not available (no format reward logged)"
    trend = reward_trend(per_step, [[[p["reward"]]] for p in per_step], "step (its logged mean reward)")
    return TrainingAnalysis("trainer log", names, weights, source, per_step, overall, None, None, trend=trend)
