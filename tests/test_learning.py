"""The training loop learns: a dense, learnable reward on the tiny model rises significantly within a
couple of dozen CPU steps — in-process with gradient accumulation, under torchrun with two ranks
sharing each group, and under accelerate + DeepSpeed ZeRO-3 — and does not rise when the rewards are
shuffled against their completions (the control that shows the test can fail). A LoRA adapter is
shown to train.

The test is fixed before looking: the per-completion rewards of the first 4 steps against those of
the last 4, a one-sided Mann-Whitney U test, significant at p < 0.001.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from rich.console import Console
from scipy.stats import mannwhitneyu

from medr1_cli.resolution import resolve_config
from tests.conftest import REPO, run_medr1

REWARD = "tests.learnable_rewards:even_tokens"
ALPHA = 0.001
WINDOW = 4  # steps at each end of the run
LEARNING = [f"train.rewards={{'{REWARD}': 1.0}}", "train.grpo.max_steps=20", "train.grpo.learning_rate=0.02",
            "train.grpo.num_generations=8", "train.grpo.temperature=1.0", "train.grpo.save_steps=100",
            "train.grpo.seed=0"]


def rewards_by_step(run: Path) -> dict[int, list[float]]:
    by_step: dict[int, list[float]] = {}
    for file in sorted(run.glob("rollouts*.jsonl")):  # one file per rank when there are several
        for line in file.read_text().splitlines():
            row = json.loads(line)
            by_step.setdefault(row["step"], []).append(row["rewards"][REWARD])
    return by_step


def rise(run: Path) -> tuple[float, float, float]:
    """(mean of the first steps, mean of the last steps, one-sided p that the last are higher)."""
    by_step = rewards_by_step(run)
    steps = sorted(by_step)
    first = [r for s in steps[:WINDOW] for r in by_step[s]]
    last = [r for s in steps[-WINDOW:] for r in by_step[s]]
    p = mannwhitneyu(last, first, alternative="greater").pvalue
    return sum(first) / len(first), sum(last) / len(last), p


def settings(tmp_path, *more: str) -> list[str]:
    return [f"train.output_dir={tmp_path / 'run'}", f"data.output_dir={tmp_path / 'data'}", *LEARNING, *more]


def args(tmp_path, *flags: str, more: tuple[str, ...] = ()) -> list[str]:
    """`medr1 train` arguments: the flags, then every setting as --set."""
    return ["-c", "tiny", *flags, *(part for setting in settings(tmp_path, *more) for part in ("--set", setting))]


def environment():
    # the reward module lives in the tests package: every training process must import it
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def train_in_process(tmp_path, *more: str) -> Path:
    from medr1_cli.train.command import run_train

    run_train(resolve_config("tiny", settings(tmp_path, *more)), console=Console(quiet=True))
    return tmp_path / "run"


@pytest.mark.slow
def test_in_process_with_gradient_accumulation_the_reward_rises_and_shuffled_rewards_do_not(tmp_path, monkeypatch):
    # one group of 8 completions spread over 2 accumulation steps of 4
    accumulation = ("train.grpo.per_device_train_batch_size=4", "train.grpo.gradient_accumulation_steps=2")
    first, last, p = rise(train_in_process(tmp_path / "paired", *accumulation))
    assert p < ALPHA, f"mean reward {first:.3f} -> {last:.3f}, p = {p:.2g}"

    import tests.learnable_rewards as module

    honest = module.even_tokens
    shuffler = random.Random(0)

    def shuffled(**kwargs):  # each reward given to another completion of the batch: a wrong pairing
        values = honest(**kwargs)
        shuffler.shuffle(values)
        return values

    monkeypatch.setattr(module, "even_tokens", shuffled)
    first, last, p = rise(train_in_process(tmp_path / "shuffled", *accumulation))
    assert p > ALPHA, f"shuffled rewards still 'rose': {first:.3f} -> {last:.3f}, p = {p:.2g}"


@pytest.mark.slow
def test_a_lora_adapter_trains_every_adapted_layer(tmp_path):
    """LoRA learns this reward slowly on the 2-layer tiny model (its output head is not adapted), so here
    the claim is the weaker one the issue names: the adapter really trains — every LoRA B matrix, which
    starts at zero, has moved."""
    from safetensors.torch import load_file

    result = run_medr1("train", *args(tmp_path, more=("model.lora.enabled=true", "train.grpo.max_steps=4",
                                                      "train.grpo.per_device_train_batch_size=8")), env=environment())
    assert result.returncode == 0, result.stderr
    weights = load_file(tmp_path / "run" / "adapter_model.safetensors")
    b_matrices = {name: tensor for name, tensor in weights.items() if "lora_B" in name}
    assert len(b_matrices) >= 14  # 7 linear layers x 2 transformer blocks
    assert all(tensor.abs().sum() > 0 for tensor in b_matrices.values())


@pytest.mark.slow
def test_two_torchrun_ranks_sharing_each_group_learn(tmp_path):
    # 2 ranks x 4 per device: every group of 8 completions is split between the two ranks
    result = run_medr1("train", *args(tmp_path, "--topology", "multi", "--num-processes", "2",
                                      more=("train.grpo.per_device_train_batch_size=4",)), env=environment())
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "run").glob("rollouts-rank*.jsonl"))) == 2
    first, last, p = rise(tmp_path / "run")
    assert p < ALPHA, f"mean reward {first:.3f} -> {last:.3f}, p = {p:.2g}"


@pytest.mark.slow
def test_zero3_learns(tmp_path):
    result = run_medr1("train", *args(tmp_path, "--topology", "multi", "--num-processes", "1", "--strategy", "zero3",
                                      more=("train.grpo.per_device_train_batch_size=8",)), env=environment())
    assert result.returncode == 0, result.stderr
    first, last, p = rise(tmp_path / "run")
    assert p < ALPHA, f"mean reward {first:.3f} -> {last:.3f}, p = {p:.2g}"
