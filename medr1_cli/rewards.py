"""GRPO reward functions with TRL's signature, in a registry by name.

TRL calls every reward as `reward(prompts=…, completions=…, completion_ids=…, **dataset_columns,
trainer_state=…, log_metric=…)` and expects one float per completion, or None where the reward does
not apply (TRL then ignores it for that completion). Completions are strings, or lists of messages
for conversational data. Rewards are dataclass instances — their fields are their options (set in
`train.reward_options.<name>`) and they pickle, which TRL's asynchronous rollout workers need.
TRL names each reward's metrics `rewards/<name>/mean|std` after the callable's `__name__`.

The accuracy-based rewards read answers with `medr1_cli.answers.extract_answer`, the same code
that scores evaluation, so a model is trained toward exactly what it is judged on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal, get_type_hints

from medr1_cli.answers import extract_answer, normalise_options
from medr1_cli.errors import ConfigError, DataError
from medr1_cli.suggest import did_you_mean

Rewards = list[float | None]


def completion_text(completion: Any) -> str:
    """The generated text of a plain or conversational completion (text blocks of VLM messages too)."""
    if isinstance(completion, str):
        return completion
    parts = []
    for message in completion:
        content = message.get("content", "")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(block.get("text", "") for block in content if block.get("type") == "text")
    return "".join(parts)


@dataclass
class Reward:
    """Base class: subclasses set `name`, `summary`, `value_range`, `columns` and implement `score`."""

    name: ClassVar[str]
    summary: ClassVar[str]
    value_range: ClassVar[str]
    columns: ClassVar[tuple[str, ...]] = ()  # dataset columns this reward reads
    needs_token_ids: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self.__name__ = self.name  # TRL labels the metrics with it

    def __call__(self, prompts=None, completions=None, completion_ids=None, **columns) -> Rewards:
        if completions is None:
            raise TypeError(f"reward '{self.name}' needs `completions`")
        missing = [c for c in self.columns if c not in columns]
        if missing:
            raise DataError(
                f"reward '{self.name}' needs the dataset column(s) {missing}; the batch has "
                f"{sorted(k for k in columns if k not in ('trainer_state', 'log_extra', 'log_metric'))}",
                hint="prepare the data with `medr1 prepare-data`, which writes `solution` and `options`",
            )
        if self.needs_token_ids and completion_ids is None:
            raise TypeError(f"reward '{self.name}' measures length in tokens and needs `completion_ids`")
        texts = [completion_text(c) for c in completions]
        return self.score(prompts, texts, completion_ids, columns)

    def score(self, prompts, texts: list[str], completion_ids, columns: Mapping[str, Any]) -> Rewards:
        raise NotImplementedError


def _judged(reward: Any, texts: list[str], columns: Mapping[str, Any]) -> list[bool | None]:
    """Correctness of each completion (None where the item has no solution), logging how many
    completions never closed their reasoning or were unreadable when TRL offers `log_metric`."""
    verdicts: list[bool | None] = []
    unfinished = unparseable = 0
    for text, solution, options in zip(texts, columns["solution"], columns["options"], strict=True):
        if not solution:
            verdicts.append(None)
            continue
        result = extract_answer(text, normalise_options(options), require_think=reward.require_think)
        unfinished += result.unclosed_think
        unparseable += result.unparseable
        verdicts.append(result.is_correct(solution))
    if (log_metric := columns.get("log_metric")) and texts:
        log_metric("answers/unclosed_think_frac", unfinished / len(texts))
        log_metric("answers/unparseable_frac", unparseable / len(texts))
    return verdicts


_REQUIRE_THINK_HELP = (
    "Count a completion that never closes its reasoning (no </think>, no final-answer heading) as wrong. Set it "
    "when the prompt asks the model to think first (template r1) or the chat template pre-fills <think>."
)


@dataclass
class AccuracyReward(Reward):
    name: ClassVar[str] = "accuracy"
    summary: ClassVar[str] = "1 when the extracted answer letter equals `solution`, else 0 (unparseable = 0)"
    value_range: ClassVar[str] = "{0, 1}"
    columns: ClassVar[tuple[str, ...]] = ("solution", "options")

    require_think: bool = field(default=False, metadata={"help": _REQUIRE_THINK_HELP})

    def score(self, prompts, texts, completion_ids, columns):
        return [None if ok is None else float(ok) for ok in _judged(self, texts, columns)]


_THINK = r"<think>\n?(?:(?!</?think>).)+?\n?</think>"
_ANSWER = r"<answer>(?:(?!</?answer>).)+?</answer>"
# The answer each prompt template asks for (medr1_cli.data.prompts), as the format rewards check it:
# tag — <answer>…</answer> (r1, no-think); boxed — \boxed{X} (boxed); phrase — "The answer is X."
# (plain; "the correct answer is" too). Both of the others need a single option letter, as their
# templates ask; all three are forms medr1_cli.answers.extract_answer reads in evaluation.
_ANSWER_FORMS = {
    "tag": _ANSWER,
    "boxed": r"\\boxed\{\s*[A-Z]\s*\}",
    "phrase": r"(?i:\bthe\s+(?:correct\s+)?answer\s+is)[ \t]*:?[ \t]*\(?[A-Z]\)?(?![A-Za-z0-9])\.?",
}
TEMPLATE_ANSWER_FORMS = {"r1": "tag", "no-think": "tag", "boxed": "boxed", "plain": "phrase"}
AnswerForm = Literal["tag", "boxed", "phrase"]


@dataclass
class FormatReward(Reward):
    name: ClassVar[str] = "format"
    summary: ClassVar[str] = (
        "1 when the whole completion is exactly `<think>…</think>` then `<answer>…</answer>` "
        "(or only the answer tag with think=false), else 0; with answer=boxed or phrase: the completion "
        "ends with `\\boxed{X}` or `The answer is X.` (after the think block with think=true)"
    )
    value_range: ClassVar[str] = "{0, 1}"

    think: bool = field(default=True, metadata={"help": "Expect a <think> block (false for the no-think template)."})
    think_prefilled: bool = field(
        default=False,
        metadata={"help": "The chat template already wrote <think>: the completion must start inside the block."},
    )
    answer: AnswerForm = field(
        default="tag",
        metadata={"help": "The answer's form: tag = <answer>…</answer> (templates r1, no-think), boxed = \\boxed{X} "
                          "(template boxed), phrase = 'The answer is X.' (template plain)."},
    )
    strict: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.answer not in _ANSWER_FORMS:
            raise ValueError(f"answer must be one of {', '.join(_ANSWER_FORMS)}, got {self.answer!r}")
        answer = _ANSWER_FORMS[self.answer]
        think = _THINK.replace("<think>\\n?", "", 1) if self.think_prefilled else _THINK
        if self.answer == "tag":  # the answer right after the think block, nothing else
            pattern = rf"{think}\s*{answer}" if self.think else answer
            self._pattern = re.compile(rf"^\s*{pattern}\s*$" if self.strict else pattern, re.DOTALL)
            return
        # boxed / phrase: the template asks for reasoning first, so text may precede the answer;
        # the strict reward wants the answer to end the completion.
        if self.strict:
            pattern = (rf"^\s*{think}" if self.think else "^") + rf".*?{answer}\s*$"
        else:
            pattern = rf"{think}.*?{answer}" if self.think else answer
        self._pattern = re.compile(pattern, re.DOTALL)

    def score(self, prompts, texts, completion_ids, columns):
        match = self._pattern.match if self.strict else self._pattern.search
        return [1.0 if match(text) else 0.0 for text in texts]


@dataclass
class LenientFormatReward(FormatReward):
    name: ClassVar[str] = "format_lenient"
    summary: ClassVar[str] = (
        "1 when a `<think>…</think>` block is followed by an `<answer>…</answer>` anywhere, else 0; with "
        "answer=boxed or phrase: `\\boxed{X}` or `The answer is X.` anywhere (after the think block with think=true)"
    )
    strict: ClassVar[bool] = False


@dataclass
class TagCountReward(Reward):
    name: ClassVar[str] = "tag_count"
    summary: ClassVar[str] = "0.25 for each of <think>, </think>, <answer>, </answer> that appears exactly once"
    value_range: ClassVar[str] = "{0, 0.25, 0.5, 0.75, 1}"

    think_prefilled: bool = field(
        default=False, metadata={"help": "The chat template wrote <think>: expect it absent from the completion."}
    )

    def score(self, prompts, texts, completion_ids, columns):
        rewards = []
        for text in texts:
            opening = text.count("<think>") == (0 if self.think_prefilled else 1)
            closing = [text.count(tag) == 1 for tag in ("</think>", "<answer>", "</answer>")]
            rewards.append(0.25 * (opening + sum(closing)))
        return rewards


_STEP_MARKERS = re.compile(
    r"(?m)^\s*(?:step\s*\d+\s*[:.)]|\d+[.)]\s|[-*•]\s)|\b(?:first|second|third|next|then|finally)\b,",
    re.IGNORECASE,
)


@dataclass
class ReasoningStepsReward(Reward):
    name: ClassVar[str] = "reasoning_steps"
    summary: ClassVar[str] = "explicit steps (`Step 1:`, numbered or bulleted lines, `First,` …): min(1, steps / min_steps)"
    value_range: ClassVar[str] = "[0, 1]"

    min_steps: int = field(default=3, metadata={"help": "Steps needed for the full reward."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_steps < 1:
            raise ValueError(f"min_steps must be at least 1, got {self.min_steps}")

    def score(self, prompts, texts, completion_ids, columns):
        return [min(1.0, len(_STEP_MARKERS.findall(text)) / self.min_steps) for text in texts]


@dataclass
class CosineReward(Reward):
    name: ClassVar[str] = "cosine"
    summary: ClassVar[str] = (
        "correctness scaled by length on a cosine schedule: short right answers earn most, "
        "short wrong answers lose most (length in completion tokens)"
    )
    value_range: ClassVar[str] = "[min_value_wrong, max_value_correct]"
    columns: ClassVar[tuple[str, ...]] = ("solution", "options")
    needs_token_ids: ClassVar[bool] = True

    min_value_wrong: float = field(default=-1.0, metadata={"help": "Reward of an empty wrong completion."})
    max_value_wrong: float = field(default=-0.5, metadata={"help": "Reward of a max-length wrong completion."})
    min_value_correct: float = field(default=0.5, metadata={"help": "Reward of a max-length correct completion."})
    max_value_correct: float = field(default=1.0, metadata={"help": "Reward of an empty correct completion."})
    max_len: int | None = field(
        default=None, metadata={"help": "Length at which the schedule ends; default: train.grpo.max_completion_length."}
    )
    require_think: bool = field(default=False, metadata={"help": _REQUIRE_THINK_HELP})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_len is not None and self.max_len < 1:
            raise ValueError(f"max_len must be at least 1, got {self.max_len}")

    def score(self, prompts, texts, completion_ids, columns):
        rewards: Rewards = []
        for ok, ids in zip(_judged(self, texts, columns), completion_ids, strict=True):
            if ok is None:
                rewards.append(None)
                continue
            progress = min(len(ids) / self.max_len, 1.0)
            # At length 0 the reward is `start`; at max_len it is `end`.
            start, end = (
                (self.max_value_correct, self.min_value_correct) if ok else (self.min_value_wrong, self.max_value_wrong)
            )
            rewards.append(end + 0.5 * (start - end) * (1.0 + math.cos(math.pi * progress)))
        return rewards


@dataclass
class RepetitionReward(Reward):
    name: ClassVar[str] = "repetition"
    summary: ClassVar[str] = "penalty for repeated word n-grams: (1 − unique/total n-grams) × max_penalty"
    value_range: ClassVar[str] = "[max_penalty, 0]"

    ngram_size: int = field(default=3, metadata={"help": "Words per n-gram."})
    max_penalty: float = field(default=-1.0, metadata={"help": "Penalty of a completion that only repeats (≤ 0)."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.ngram_size < 1 or self.max_penalty > 0:
            raise ValueError(f"needs ngram_size ≥ 1 and max_penalty ≤ 0, got {self.ngram_size} and {self.max_penalty}")

    def score(self, prompts, texts, completion_ids, columns):
        rewards = []
        for text in texts:
            words = text.lower().split()
            if len(words) < self.ngram_size:
                rewards.append(0.0)
                continue
            ngrams = list(zip(*(words[i:] for i in range(self.ngram_size))))
            rewards.append((1.0 - len(set(ngrams)) / len(ngrams)) * self.max_penalty)
        return rewards


@dataclass
class LengthReward(Reward):
    name: ClassVar[str] = "length"
    summary: ClassVar[str] = (
        "Kimi-1.5 length reward within each prompt's group: λ = 0.5 − (len − min)/(max − min); "
        "right answers get λ, wrong ones min(0, λ)"
    )
    value_range: ClassVar[str] = "[-0.5, 0.5]"
    columns: ClassVar[tuple[str, ...]] = ("solution", "options")
    needs_token_ids: ClassVar[bool] = True

    require_think: bool = field(default=False, metadata={"help": _REQUIRE_THINK_HELP})

    def score(self, prompts, texts, completion_ids, columns):
        verdicts = _judged(self, texts, columns)
        lengths = [len(ids) for ids in completion_ids]
        groups: dict[str, list[int]] = {}
        for index, prompt in enumerate(prompts or [""] * len(texts)):
            groups.setdefault(repr(prompt), []).append(index)
        rewards: Rewards = [None] * len(texts)
        for members in groups.values():
            shortest = min(lengths[i] for i in members)
            longest = max(lengths[i] for i in members)
            for i in members:
                if verdicts[i] is None:
                    continue
                if longest == shortest:
                    rewards[i] = 0.0
                    continue
                lam = 0.5 - (lengths[i] - shortest) / (longest - shortest)
                rewards[i] = lam if verdicts[i] else min(0.0, lam)
        return rewards


@dataclass
class OverlongReward(Reward):
    name: ClassVar[str] = "overlong"
    summary: ClassVar[str] = (
        "DAPO soft overlong punishment: 0 up to max_len − buffer_len tokens, then linear down to −1 at max_len"
    )
    value_range: ClassVar[str] = "[-1, 0]"
    needs_token_ids: ClassVar[bool] = True

    max_len: int | None = field(
        default=None, metadata={"help": "Hard length limit; default: train.grpo.max_completion_length."}
    )
    buffer_len: int | None = field(
        default=None, metadata={"help": "Length of the soft-punishment zone before max_len; default: max_len / 5."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_len is not None and self.buffer_len is None:
            self.buffer_len = max(1, self.max_len // 5)
        if self.max_len is not None and not 1 <= self.buffer_len <= self.max_len:
            raise ValueError(f"buffer_len must be between 1 and max_len ({self.max_len}), got {self.buffer_len}")

    def score(self, prompts, texts, completion_ids, columns):
        free = self.max_len - self.buffer_len
        rewards = []
        for ids in completion_ids:
            length = len(ids)
            if length <= free:
                rewards.append(0.0)
            elif length <= self.max_len:
                rewards.append((free - length) / self.buffer_len)
            else:
                rewards.append(-1.0)
        return rewards


REGISTRY: dict[str, type[Reward]] = {
    cls.name: cls
    for cls in (
        AccuracyReward, FormatReward, LenientFormatReward, TagCountReward, ReasoningStepsReward,
        CosineReward, RepetitionReward, LengthReward, OverlongReward,
    )
}


def is_custom(name: str) -> bool:
    """A reward of the user's own, named by import path: `package.module:function`."""
    return ":" in name


def check_custom_name(name: str) -> None:
    """The shape of `package.module:function`, checked without importing anything."""
    module_name, _, attribute = name.partition(":")
    parts = module_name.split(".")
    if not all(part.isidentifier() for part in parts) or not attribute.isidentifier():
        raise ConfigError(f"reward '{name}': expected `package.module:function` (an absolute module path, a colon, "
                          "a function name)")


def load_custom(name: str):
    """The callable `module:attribute` names, or a ConfigError saying why it cannot be used."""
    import importlib

    check_custom_name(name)
    module_name, _, attribute = name.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except ImportError as err:
        raise ConfigError(f"reward '{name}': cannot import {module_name} ({err})",
                          hint="the module must be importable where training runs (installed, or on PYTHONPATH)") from None
    except AttributeError:
        raise ConfigError(f"reward '{name}': {module_name} has no '{attribute}'") from None
    except Exception as err:  # the user's module failed while importing: say where, not a traceback
        raise ConfigError(f"reward '{name}': importing {module_name} failed ({type(err).__name__}: {err})") from None
    if not callable(found):
        raise ConfigError(f"reward '{name}': {attribute} is not callable; give a function "
                          "f(prompts, completions, completion_ids, **columns) -> list of floats")
    return found


@dataclass
class CustomReward:
    """A reward of the user's own, named by import path in train.rewards and called with TRL's
    signature. It keeps only the path, so it pickles and imports the function where it runs."""

    path: str

    def __post_init__(self) -> None:
        self.__name__ = self.path  # the metrics and the rollout log name it as train.rewards does

    def __call__(self, prompts=None, completions=None, completion_ids=None, **columns) -> Rewards:
        return load_custom(self.path)(prompts=prompts, completions=completions, completion_ids=completion_ids,
                                      **columns)


def option_names(name: str) -> list[str]:
    return [] if is_custom(name) else [f.name for f in fields(REGISTRY[name])]


def check_reward_options(options: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Problems with `train.reward_options`: unknown rewards, unknown options, values of the wrong type."""
    from pydantic import TypeAdapter, ValidationError

    problems = []
    for name, values in options.items():
        if is_custom(name):
            problems.append(f"'{name}': rewards of your own take no options here; bind them in your function")
            continue
        if name not in REGISTRY:
            problems.append(f"'{name}': unknown reward{did_you_mean(name, REGISTRY)}; allowed: {', '.join(REGISTRY)}")
            continue
        known = option_names(name)
        for key in values:
            if key not in known:
                problems.append(
                    f"'{name}.{key}': unknown option{did_you_mean(key, known)}; allowed: {', '.join(known) or 'none'}"
                )
        hints = get_type_hints(REGISTRY[name])
        typed = {}
        for key in known:
            if key in values:
                try:
                    typed[key] = TypeAdapter(hints[key]).validate_python(values[key])
                except ValidationError as err:
                    problems.append(f"'{name}.{key}' = {values[key]!r}: {err.errors(include_url=False)[0]['msg']}")
        if len(typed) == len(values):  # every option known and well typed: check their ranges together
            try:
                REGISTRY[name](**{"max_len": 512, **typed} if "max_len" in known else typed)
            except ValueError as err:
                problems.append(f"'{name}': {err}")
    return problems


def build_rewards(
    weights: Mapping[str, float],
    options: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    max_completion_length: int | None = None,
) -> tuple[list[Reward], list[float]]:
    """Reward instances and their weights, in the order of `weights` (TRL's `reward_funcs` and
    `GRPOConfig.reward_weights`). Length-aware rewards default to `max_completion_length`."""
    options = options or {}
    problems = check_reward_options(options)
    problems += [
        f"'{name}' has options in train.reward_options but no weight in train.rewards"
        for name in options if name in REGISTRY and name not in weights
    ]
    unknown = [name for name in weights if name not in REGISTRY and not is_custom(name)]
    if unknown:
        problems.append(f"unknown reward(s) {unknown} in train.rewards; allowed: {', '.join(REGISTRY)}")
    if problems:
        raise ConfigError("reward configuration:\n" + "\n".join(f"  • {p}" for p in problems))

    rewards = []
    for name in weights:
        if is_custom(name):
            load_custom(name)  # fails here, with the reason, not in every training process
            rewards.append(CustomReward(name))
            continue
        values = dict(options.get(name, {}))
        if "max_len" in option_names(name) and values.get("max_len") is None:
            values["max_len"] = max_completion_length or 512  # TRL's own default completion length
        rewards.append(REGISTRY[name](**values))
    return rewards, [float(weights[name]) for name in weights]


def columns_needed(names: Sequence[str]) -> set[str]:
    """Dataset columns the named rewards read (for the training preflight)."""
    return {column for name in names if not is_custom(name) for column in REGISTRY[name].columns}
