"""Start-up time of `medr1 --help` beside `trl --help` and `lm_eval --help`.

A CLI that imports torch before printing its help makes every typo cost seconds. This prints the
median wall time of several runs of each command, measured side by side in one run, and the ratio
of each peer to medr1.

    python benchmarks/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "medr1": ["medr1", "--help"],
    "medr1 train": ["medr1", "train", "--help"],
    "trl": ["trl", "--help"],
    "lm_eval": ["lm_eval", "--help"],
}


def executable(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        sys.exit(f"{name} is not installed in this environment")
    return found


def wall_time(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (after one warm-up)")
    args = parser.parse_args()

    medians = {}
    for label, (program, *rest) in COMMANDS.items():
        argv = [executable(program), *rest]
        wall_time(argv)  # warm the file cache so every command is measured the same way
        medians[label] = statistics.median(wall_time(argv) for _ in range(args.runs))

    base = medians["medr1"]
    print(f"start-up time, median of {args.runs} runs (lower is better)")
    print(f"{'command':<22}{'seconds':>9}{'x medr1':>10}")
    for label, seconds in medians.items():
        print(f"{label + ' --help':<22}{seconds:>9.3f}{seconds / base:>10.1f}")
    verdict = "meets" if base < 0.3 and base < min(medians["trl"], medians["lm_eval"]) else "MISSES"
    print(f"target: medr1 --help < 0.3 s and faster than both peers -> {verdict}")


if __name__ == "__main__":
    main()
