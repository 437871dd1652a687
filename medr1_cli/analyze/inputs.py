"""What `medr1 analyze` reads: a training run folder (its rollouts, TRL's log history, its resolved
config) and evaluation results, each checked so that a wrong file is a clear error, not a traceback."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medr1_cli.data.prompts import TEMPLATES
from medr1_cli.errors import ConfigError, DataError
from medr1_cli.layout import (
    ANALYSIS_DIR,
    RESOLVED_CONFIG_NAME,
    RESULTS_JSON,
    ROLLOUTS_NAME,
    ROLLOUTS_RANK_NAME,
    TRAINER_STATE,
    checkpoints,
    rollout_logs,
)

RUN_FILES = (f"{TRAINER_STATE}, checkpoint-*/{TRAINER_STATE}, {ROLLOUTS_NAME} or "
             f"{ROLLOUTS_RANK_NAME.format(rank='*')}")
TRL_DEFAULT_MAX_COMPLETION_LENGTH = 512  # GRPOConfig's default, also what medr1's rewards assume


@dataclass
class Row:
    """One recorded completion. `step` is the trainer's global step when it was generated."""

    step: int
    completion: str
    tokens: int | None
    rewards: dict[str, float | None]
    id: str | None = None


@dataclass
class Run:
    folder: Path
    rows: list[Row]
    completion_files: list[Path]
    log_history: list[dict[str, Any]]
    trainer_state: Path | None
    weights: dict[str, float] | None  # train.rewards of the run's config
    max_completion_length: int | None
    thinks: bool  # the prompt template asks for <think> first
    superseded: int = 0  # rows generated before a resume, replaced by the resumed run's own
    notes: list[str] = field(default_factory=list)


def is_run(folder: Path) -> bool:
    """A training run: TRL's state file, or rollouts without results.json (older runs named their rollouts
    completions.jsonl, as an evaluation names its store, which sits beside its results.json)."""
    if not folder.is_dir():
        return False
    if (folder / TRAINER_STATE).is_file() or checkpoints(folder):
        return True
    return not (folder / RESULTS_JSON).is_file() and bool(rollout_logs(folder))


def is_results(path: Path) -> bool:
    return (path.is_dir() and (path / RESULTS_JSON).is_file()) or (path.is_file() and path.suffix == ".json")


def sort_inputs(paths: list[Path], results: list[Path]) -> tuple[Path | None, list[Path], Path | None]:
    """(training run, evaluation results, the folder they were found in) from what the user named.

    Each path is a run folder, an evaluation output (folder or results.json), or a folder holding
    them one level down, like `medr1 demo`'s output (train/, eval/).
    """
    runs: list[Path] = []
    found = list(results)
    container = None
    for path in paths:
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
        if is_run(path):
            runs.append(path)
        elif is_results(path):
            found.append(path)
        elif path.is_dir() and (children := sorted(p for p in path.iterdir() if p.is_dir() and p.name != ANALYSIS_DIR)):
            inner_runs = [c for c in children if is_run(c)]
            inner_results = [c for c in children if (c / RESULTS_JSON).is_file()]
            if not inner_runs and not inner_results:
                raise _not_a_run(path)
            runs += inner_runs
            found += inner_results
            container = path
        else:
            raise _not_a_run(path)
    if len(runs) > 1:
        raise DataError(f"several training runs given ({', '.join(map(str, runs))}); analyze one run at a time",
                        hint="evaluation results of several runs can be compared together: medr1 analyze --results A B")
    for path in found:
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
    return (runs[0] if runs else None), found, container


def _not_a_run(path: Path) -> DataError:
    return DataError(
        f"{path} is neither a training run nor evaluation results: found none of {RUN_FILES} (what `medr1 train` "
        f"writes) nor {RESULTS_JSON} (what `medr1 evaluate` writes) in it",
        hint="pass train.output_dir of a run, an evaluation output folder, or a results.json",
    )


# ------------------------------------------------------------------------------ training run
def load_run(folder: Path) -> Run:
    if not is_run(folder):
        raise _not_a_run(folder)
    logs = rollout_logs(folder)
    files = [path for log in logs for path in log]
    rows: list[Row] = []
    superseded = 0
    for log in logs:
        kept, dropped = read_completions(*log)
        rows += kept
        superseded += dropped
    state_file = _trainer_state_file(folder)
    history = _log_history(state_file) if state_file else []
    if files and not rows and not any("reward" in entry for entry in history):
        raise DataError(f"{', '.join(map(str, files))}: no completions recorded yet (empty file), and no rewards in "
                        f"the trainer log; the run has not finished a step",
                        hint="analyze the run once it has trained at least one step")
    if not files and not any("reward" in entry for entry in history):
        raise DataError(f"{state_file}: the trainer log has no reward entries and the run has no {ROLLOUTS_NAME}; "
                        "nothing to analyze yet")
    weights, limit, thinks, notes = _run_settings(folder)
    run = Run(folder, rows, files, history, state_file, weights, limit, thinks, superseded, notes)
    if superseded:
        run.notes.append(f"{superseded} completions generated before a resume were replaced by the resumed run's own")
    return run


def read_completions(*paths: Path) -> tuple[list[Row], int]:
    """The rows of one training process's rollout log (its files in the order written), and how many
    were superseded by a resume.

    A resumed run appends to the same log and re-generates the steps after its checkpoint, so when
    the step goes back, the rows of that step and later ones from before are dropped: what remains
    is the trajectory that produced the final model.
    """
    rows: list[Row] = []
    dropped = 0
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip() or _cut_by_a_kill(line):
                    continue
                row = _parse_row(path, number, line)
                if rows and row.step < rows[-1].step:
                    before = len(rows)
                    rows = [r for r in rows if r.step < row.step]
                    dropped += before - len(rows)
                rows.append(row)
    return rows, dropped


def _cut_by_a_kill(line: str) -> bool:
    """The last line of a run killed mid-write: no newline, not JSON. Resuming the run drops it too."""
    if line.endswith("\n"):
        return False
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return True
    return False


def _parse_row(path: Path, number: int, line: str) -> Row:
    where = f"{path}:{number}"
    try:
        data = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"{where}: not valid JSON ({err.msg} at column {err.colno})",
                        hint="a line cut short by a crash can be deleted; the rest of the file is still read") from None
    shape = "a row of `medr1 train`'s rollouts file: {step, id, completion, tokens, rewards}"
    if not isinstance(data, dict):
        raise DataError(f"{where}: expected {shape}")
    if "benchmark" in data and "key" in data:
        raise DataError(f"{where}: this is an evaluation's completions file, not a training run's",
                        hint="analyze an evaluation through its results.json, once `medr1 evaluate` has finished")
    step, text, tokens, rewards = data.get("step"), data.get("completion"), data.get("tokens"), data.get("rewards")
    if not isinstance(step, int) or isinstance(step, bool):
        raise DataError(f"{where}: 'step' is {step!r}, expected an integer; expected {shape}")
    if not isinstance(text, str):
        raise DataError(f"{where}: 'completion' is missing or not text; expected {shape}")
    if tokens is not None and (not isinstance(tokens, int) or isinstance(tokens, bool)):
        raise DataError(f"{where}: 'tokens' is {tokens!r}, expected an integer")
    if not isinstance(rewards, dict) or not all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in rewards.values()
    ):
        raise DataError(f"{where}: 'rewards' must map reward names to numbers (or null); expected {shape}")
    return Row(step, text, tokens, {k: None if v is None else float(v) for k, v in rewards.items()}, data.get("id"))


def _trainer_state_file(folder: Path) -> Path | None:
    """The run's own trainer_state.json (written when training ends), else the newest checkpoint's,
    so a run still training can be analyzed up to its last checkpoint."""
    if (folder / TRAINER_STATE).is_file():
        return folder / TRAINER_STATE
    complete = checkpoints(folder)
    return complete[-1] / TRAINER_STATE if complete else None


def _log_history(path: Path) -> list[dict[str, Any]]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from None
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
        raise DataError(f"{path}: no 'log_history' list in it; is it a transformers Trainer state file?")
    return history


def _run_settings(folder: Path) -> tuple[dict[str, float] | None, int | None, bool, list[str]]:
    """Reward weights, completion length limit and whether the template thinks, from the run's config."""
    from medr1_cli.resolution import resolve_config

    path = folder / RESOLVED_CONFIG_NAME
    if not path.is_file():
        return None, None, True, [f"no {RESOLVED_CONFIG_NAME} in {folder}: reward weights taken as 1 (TRL's default), "
                                  "truncation read from the trainer log only"]
    try:
        config = resolve_config(path, builtin_entries=False)
    except ConfigError as err:
        return None, None, True, [f"{path} does not load in this medr1 ({err.message.splitlines()[0]}): reward weights "
                                  "taken as 1, truncation read from the trainer log only"]
    limit = config.train.grpo.get("max_completion_length", TRL_DEFAULT_MAX_COMPLETION_LENGTH)
    return dict(config.train.rewards), limit, TEMPLATES[config.data.template].thinks, []
