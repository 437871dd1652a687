"""Does filtering by measured difficulty leave GRPO more to learn from? And what does grading cost?

On CPU, with the demo model (SmolLM2-135M-Instruct) and the built-in demo questions, as processes:

1. `medr1 grade` the demo mix's candidates (k samples each, the training template and sampling);
2. `medr1 evaluate` on the same candidates with the same sampling and k — the peer for the cost
   (the same engine, so the ratio of generations per second should be ~1);
3. prepare and train the same number of steps twice — all candidates, and only those whose pass rate
   lies in the band — and read the share of groups with zero reward variance per step from TRL's log.

    python benchmarks/grading.py [--k 4] [--steps 8] [--band 0.1 0.9] [--groups-per-step 1]
    python benchmarks/grading.py --grades FILE --steps 16 --groups-per-step 2   # reuse a grading file: step 3 only

Prints every figure; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEDR1 = [sys.executable, "-m", "medr1_cli"]
MIX = "data.mixes.demo={demo-medqa: 16, demo-medxpertqa: 8}"  # small enough for the band to fill it


def medr1(*args: str) -> float:
    """Run one medr1 command as a process; its wall time in seconds."""
    started = time.perf_counter()
    result = subprocess.run([*MEDR1, *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"medr1 {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def zero_variance(run: Path) -> list[float]:
    state = json.loads((run / "trainer_state.json").read_text())
    return [e["frac_reward_zero_std"] for e in state["log_history"] if "frac_reward_zero_std" in e]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--band", type=float, nargs=2, default=(0.1, 0.9))
    parser.add_argument("--groups-per-step", type=int, default=1, help="questions per training step (4 completions each)")
    parser.add_argument("--grades", type=Path, help="a grading file of the demo mix to reuse (skips steps 1 and 2)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="medr1-grading-"))
    if args.grades is None:
        grades = work / "grades.jsonl"
        measure_grading(work, grades, args.k)
    else:
        grades = args.grades.resolve()
    compare_training(work, grades, args)
    print(f"work folder: {work}")


def measure_grading(work: Path, grades: Path, k: int) -> None:
    common = ["-c", "demo-cpu", "--set", f"data.output_dir={work / 'data'}", "--set", MIX]

    grade_seconds = medr1("grade", *common, "-k", str(k), "--output", str(grades))
    rows = [json.loads(line) for line in grades.read_text().splitlines()[1:]]
    generations = len(rows) * k
    zero_advantage = sum(r["pass_rate"] in (0.0, 1.0) for r in rows) / len(rows)
    print(f"grade: {len(rows)} candidates × {k} = {generations} generations in {grade_seconds:.1f} s "
          f"({generations / grade_seconds:.2f}/s, process start and model load included); "
          f"zero-advantage candidates {100 * zero_advantage:.0f} %")

    # The peer: evaluate scores the same questions (the demo mix's sources are the built-in MedQA and
    # MedXpertQA sets) with the same template, sampling, token budget and k.
    eval_seconds = medr1("evaluate", *common, "-b", "medqa", "-b", "medxpertqa", "-o", str(work / "eval"),
                         "--set", "eval.temperature=1.0", "--set", "eval.top_p=1.0",
                         "--set", f"eval.n_samples={k}", "--set", "eval.max_new_tokens=32")
    evaluated = json.loads((work / "eval" / "results.json").read_text())["benchmarks"]
    evaluated = sum(b["n"] for b in evaluated.values()) * k
    print(f"evaluate (the peer, same engine and sampling, {evaluated} generations): {eval_seconds:.1f} s "
          f"({evaluated / eval_seconds:.2f}/s); grade / evaluate throughput ratio "
          f"{(generations / grade_seconds) / (evaluated / eval_seconds):.2f}")


def compare_training(work: Path, grades: Path, args: argparse.Namespace) -> None:
    batch = 4 * args.groups_per_step  # demo-cpu: 4 completions per question
    steps = ["--set", f"train.grpo.max_steps={args.steps}", "--set", f"train.grpo.save_steps={args.steps}",
             "--set", f"train.grpo.per_device_train_batch_size={batch}"]
    runs = {}
    for name, extra in (("all candidates", []),
                        (f"band [{args.band[0]:g}, {args.band[1]:g}]",
                         ["--set", f"data.grading_file={grades}", "--set", f"data.pass_rate_band=[{args.band[0]}, "
                          f"{args.band[1]}]"])):
        out = work / name.split()[0]
        data = ["--set", f"data.output_dir={out / 'data'}"]
        medr1("prepare-data", "-c", "demo-cpu", "--set", MIX, *data, *extra)
        seconds = medr1("train", "-c", "demo-cpu", "--set", MIX, *data, *extra, *steps, "-o", str(out / "train"))
        runs[name] = zero_variance(out / "train")
        print(f"train, {name}: {args.steps} steps in {seconds:.1f} s; zero-variance share per step "
              + " ".join(f"{100 * v:.0f}%" for v in runs[name])
              + f" (mean {100 * sum(runs[name]) / len(runs[name]):.0f} % of {args.steps * args.groups_per_step} "
              "groups)")


if __name__ == "__main__":
    main()
