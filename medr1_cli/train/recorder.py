"""Every completion of a run, with each reward it earned, appended to a JSONL file for analysis.

TRL calls the reward functions one after another for the same batch; each is wrapped so that its
values are kept, and after the last one the rows are written: step, item id, completion, token
length and every reward. The wrappers stay picklable (TRL's asynchronous rollout workers need it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medr1_cli.fsutil import append_jsonl
from medr1_cli.rewards import Reward, completion_text


@dataclass
class CompletionRecorder:
    path: Path
    names: list[str] = field(default_factory=list)
    pending: dict[str, list] = field(default_factory=dict)

    def wrap(self, rewards: list[Reward]) -> list[RecordedReward]:
        self.names = [r.__name__ for r in rewards]
        return [RecordedReward(reward, self) for reward in rewards]

    def collect(self, name: str, values: list, completions, completion_ids, columns: dict[str, Any]) -> None:
        self.pending[name] = values
        if name != self.names[-1]:
            return
        state = columns.get("trainer_state")
        step = state.global_step if state is not None else None
        ids = columns.get("id") or [None] * len(completions)
        lengths = [len(x) for x in completion_ids] if completion_ids is not None else [None] * len(completions)
        append_jsonl(self.path, (
            {"step": step, "id": ids[i], "completion": completion_text(completion), "tokens": lengths[i],
             "rewards": {n: self.pending[n][i] for n in self.names}}
            for i, completion in enumerate(completions)
        ))
        self.pending.clear()


@dataclass
class RecordedReward:
    inner: Reward
    recorder: CompletionRecorder

    def __post_init__(self) -> None:
        self.__name__ = self.inner.__name__

    def __call__(self, prompts=None, completions=None, completion_ids=None, **columns):
        values = self.inner(prompts=prompts, completions=completions, completion_ids=completion_ids, **columns)
        self.recorder.collect(self.__name__, values, completions, completion_ids, columns)
        return values
