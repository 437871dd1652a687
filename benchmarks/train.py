"""`medr1 train` beside a plain TRL script with the identical GRPOConfig, model, data and rewards.

Both run as their own processes on the tiny built-in model and the prepared demo mix; the figures
are TRL's own per-step time (`step_time`, the first steps left out as warm-up) and the peak
resident memory of the process (GNU time). The ratios show what medr1's layer (config resolution,
preflight, completion logging, progress display) costs on top of TRL.

    python benchmarks/train.py [--steps 12]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

WARMUP_STEPS = 2


def plain_trl(config_path: str, output_dir: str) -> None:
    """The peer: what a user would write with TRL alone, given the same prepared data."""
    from datasets import load_from_disk
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from medr1_cli.models import resolve_model_path
    from medr1_cli.resolution import resolve_config
    from medr1_cli.train.grpo import grpo_kwargs, reward_functions

    config = resolve_config(config_path)
    kwargs = {**grpo_kwargs(config, cuda_available=False), "output_dir": output_dir}
    rewards, weights = reward_functions(config, think_prefilled=False)
    path = resolve_model_path(config.model.name_or_path)
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(path),
        reward_funcs=rewards,
        args=GRPOConfig(**kwargs, reward_weights=weights),
        train_dataset=load_from_disk(str(Path(config.data.output_dir) / config.data.dataset / "dataset")),
        processing_class=AutoTokenizer.from_pretrained(path),
    )
    trainer.train()
    Path(output_dir, "log_history.json").write_text(json.dumps(trainer.state.log_history))


def measure(argv: list[str]) -> int:
    """Run argv under GNU time; its peak RSS in KB."""
    result = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M", *argv], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{argv[0]} failed:\n{result.stderr[-3000:]}")
    return int(next(line for line in result.stderr.splitlines() if line.startswith("MAXRSS")).split()[1])


def step_time(log_history: list[dict]) -> float:
    times = [entry["step_time"] for entry in log_history if "step_time" in entry]
    return statistics.median(times[WARMUP_STEPS:] or times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--peer", nargs=2, metavar=("CONFIG", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        plain_trl(*args.peer)
        return

    medr1 = str(Path(sys.executable).parent / "medr1")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        common = ["--set", f"data.output_dir={root / 'data'}", "--set", f"train.grpo.max_steps={args.steps}",
                  "--set", "train.grpo.save_strategy=no"]
        subprocess.run([medr1, "prepare-data", "-c", "tiny", *common[:2]], check=True, capture_output=True)
        medr1_rss = measure([medr1, "train", "-c", "tiny", "-o", str(root / "medr1"), *common])
        medr1_step = step_time(json.loads((root / "medr1" / "trainer_state.json").read_text())["log_history"])
        # The peer reads the resolved config medr1 wrote, so both use the very same settings.
        peer_rss = measure([sys.executable, __file__, "--peer", str(root / "medr1" / "medr1_config.yaml"),
                            str(root / "peer")])
        peer_step = step_time(json.loads((root / "peer" / "log_history.json").read_text()))

    print(f"GRPO on the tiny model, {args.steps} steps, CPU; per-step time is TRL's step_time (median, "
          f"first {WARMUP_STEPS} left out)")
    print(f"{'':<16}{'s/step':>9}{'peak RSS MB':>13}")
    print(f"{'medr1 train':<16}{medr1_step:>9.3f}{medr1_rss / 1024:>13.0f}")
    print(f"{'plain TRL':<16}{peer_step:>9.3f}{peer_rss / 1024:>13.0f}")
    time_ratio, rss_ratio = medr1_step / peer_step, medr1_rss / peer_rss
    print(f"medr1 / TRL: time {time_ratio:.2f} (target <= 1.05), peak RSS {rss_ratio:.2f} (target <= 1.10) -> "
          f"{'meets' if time_ratio <= 1.05 and rss_ratio <= 1.10 else 'MISSES'}")


if __name__ == "__main__":
    main()
