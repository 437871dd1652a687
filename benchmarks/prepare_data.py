"""`prepare-data` and benchmark loading at full size: medr1 beside plain scripts.

1. Builds the reference `mix` (600 MedQA + 490 MedXpertQA) from synthetic files of the real sizes
   (10,178 MedQA train questions, 2,450 MedXpertQA questions) with decontamination against ~10,000
   evaluation questions and prompt-length filtering with a real tokenizer (the tiny built-in model's).
   The peer loads the same two files with `datasets`, shuffles, selects and saves — no format checks,
   no decontamination, no held-out bookkeeping — which is the floor any preparation script pays.
2. Loads the five benchmarks of a HuatuoGPT-o1-bundle-shaped JSON file (8,381 rows, ~7 MB, PubMedQA
   questions with their abstracts) the way `medr1 evaluate` does, beside a plain `json.load` that
   splits the groups (the floor: no validation, no ids, no protocol).
3. Runs `medr1 prepare-data --dataset xpert` as a user would (a subprocess, start-up included),
   decontaminated against the bundle's five benchmarks and MedXpertQA itself.

    python benchmarks/prepare_data.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from medr1_cli.benchmarks import BENCHMARKS
from medr1_cli.data.prepare import prepare_data
from medr1_cli.data.synthetic import write_bundle, write_medqa, write_medxpertqa
from medr1_cli.evaluate.benchmark_data import load_benchmark
from medr1_cli.resolution import resolve_config

BUNDLE_BENCHMARKS = ("medmcqa", "medqa", "pubmedqa", "mmlu_pro_med", "gpqa_med")
from medr1_cli.models import resolve_model_path


def plain_datasets(medqa: Path, xpert: Path, out: Path) -> float:
    from datasets import concatenate_datasets, load_dataset
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    started = time.perf_counter()
    a = load_dataset("json", data_files=str(medqa), split="train").shuffle(seed=42).select(range(600))
    b = load_dataset("json", data_files=str(xpert), split="train").shuffle(seed=42).select(range(490))
    keep = ["question", "options"]
    mixed = concatenate_datasets([a.select_columns(keep), b.select_columns(keep)])
    mixed.save_to_disk(str(out))
    return time.perf_counter() - started


def load_bundle_medr1(bundle: Path) -> tuple[float, dict[str, int]]:
    config = resolve_config("tiny", [f"eval.data.{name}={bundle}" for name in BUNDLE_BENCHMARKS])
    started = time.perf_counter()
    counts = {name: len(load_benchmark(BENCHMARKS[name], config, set()).records) for name in BUNDLE_BENCHMARKS}
    return time.perf_counter() - started, counts


def load_bundle_plain(bundle: Path) -> float:
    started = time.perf_counter()
    groups = json.loads(bundle.read_text(encoding="utf-8"))
    [[(row["question"], row["options"], row["answer_idx"]) for row in rows] for rows in groups.values()]
    return time.perf_counter() - started


def prepare_xpert_cli(root: Path, bundle: Path, xpert: Path) -> float:
    medr1 = Path(sys.executable).parent / "medr1"
    data = ", ".join([*(f"{name}: {bundle}" for name in BUNDLE_BENCHMARKS), f"medxpertqa: {xpert}"])
    command = [str(medr1), "prepare-data", "-c", "tiny", "--dataset", "xpert", "--set",
               f"data.sources.medxpertqa={xpert}", "--set", f"eval.data={{{data}}}", "--set",
               f"data.output_dir={root / 'xpert'}"]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return time.perf_counter() - started


def bundle_figures(root: Path) -> None:
    bundle = write_bundle(root / "eval_data.json", seed=11)
    xpert = write_medxpertqa(root / "medxpertqa_test.jsonl", 2_450, seed=12, mismatched=(17, 1999))
    medr1_seconds, counts = load_bundle_medr1(bundle)
    plain_seconds = load_bundle_plain(bundle)
    print(f"\nfive benchmarks from a bundle-shaped file ({bundle.stat().st_size / 1e6:.1f} MB, 8,381 rows)")
    print(f"{'medr1 load_benchmark x5':<34}{medr1_seconds:>9.2f}   {counts}")
    print(f"{'plain json.load + split':<34}{plain_seconds:>9.2f}")
    print(f"medr1 / plain: {medr1_seconds / plain_seconds:.1f}x; target under 2 s -> "
          f"{'meets' if medr1_seconds < 2 else 'MISSES'}")
    cli_seconds = prepare_xpert_cli(root, bundle, xpert)
    print(f"\n`medr1 prepare-data --dataset xpert` (2,450 MedXpertQA) decontaminated against the bundle + MedXpertQA, "
          f"start-up included: {cli_seconds:.2f} s; target under 10 s -> {'meets' if cli_seconds < 10 else 'MISSES'}")


def main() -> None:
    resolve_model_path("builtin:tiny")  # build the tokenizer's model once, outside the timing
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        medqa = write_medqa(root / "train.jsonl", 10_178, seed=1)
        xpert = write_medxpertqa(root / "medxpertqa_test.jsonl", 2_450, seed=2)
        evaluation = write_medqa(root / "eval_test.jsonl", 10_000, seed=3, start=100_000)
        config = resolve_config("tiny", [
            f"data.sources.medqa={medqa}", f"data.sources.medxpertqa={xpert}", "data.dataset=mix",
            f"data.output_dir={root / 'medr1'}", f"eval.data={{medqa: {evaluation}}}",
        ])
        started = time.perf_counter()
        result = prepare_data(config, Console(quiet=True))
        medr1_seconds = time.perf_counter() - started
        peer_seconds = plain_datasets(medqa, xpert, root / "peer")

    print("prepare-data, reference mix from 10,178 MedQA + 2,450 MedXpertQA, 10,000 evaluation questions")
    print(f"{'':<34}{'seconds':>9}")
    print(f"{'medr1 prepare-data':<34}{medr1_seconds:>9.2f}   ({result.rows} rows, "
          f"{result.manifest['decontamination']['evaluation_items']} eval items indexed, prompts tokenized)")
    print(f"{'plain datasets load/select/save':<34}{peer_seconds:>9.2f}")
    print(f"medr1 / plain: {medr1_seconds / peer_seconds:.1f}x")
    print(f"target: under 10 s -> {'meets' if medr1_seconds < 10 else 'MISSES'}")
    with tempfile.TemporaryDirectory() as tmp:
        bundle_figures(Path(tmp))


if __name__ == "__main__":
    main()
