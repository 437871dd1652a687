"""`prepare-data` at full size: medr1 beside a plain `datasets` script.

Builds the reference `mix` (600 MedQA + 490 MedXpertQA) from synthetic files of the real sizes
(10,178 MedQA train questions, 2,450 MedXpertQA questions) with decontamination against ~10,000
evaluation questions and prompt-length filtering with a real tokenizer (the tiny built-in model's).
The peer loads the same two files with `datasets`, shuffles, selects and saves — no format checks,
no decontamination, no held-out bookkeeping — which is the floor any preparation script pays.

    python benchmarks/prepare_data.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from rich.console import Console

from medr1_cli.config import resolve_config
from medr1_cli.data.prepare import prepare_data
from medr1_cli.data.synthetic import write_medqa, write_medxpertqa
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


if __name__ == "__main__":
    main()
