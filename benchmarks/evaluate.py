"""`medr1 evaluate` beside the lm-eval CLI on the same questions, model and generation settings.

Both run as a user would run them, as their own processes, timed wall-clock from start to exit
(model load included): `medr1 evaluate` (native engine, hf backend) and `lm_eval --model hf` over the
task definitions `medr1 evaluate --lm-eval-tasks` writes for the same items. The figures: wall time,
the ratio, accuracy from each tool's own output, and how many completions are identical.
Then the scoring pass alone (extraction, intervals, bootstrap, breakdowns) over a synthetic bundle
of the HuatuoGPT-o1 evaluation size (8,381 items) with realistic completions.

    python benchmarks/evaluate.py [--n 200] [--max-new-tokens 32] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from extraction import make_completion  # noqa: E402  (the extraction benchmark's realistic completions)

BUNDLE_SIZE = 8381


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv[:3])} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def engines(n: int, max_new_tokens: int, batch_size: int) -> None:
    from medr1_cli.data.synthetic import write_medqa
    from medr1_cli.models import resolve_model_path

    bin_dir = Path(sys.executable).parent
    model = resolve_model_path("builtin:smollm2-135m-instruct")  # built once, before the clock starts
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        questions = write_medqa(root / "questions.jsonl", n, seed=1)
        settings = ["-c", "demo-cpu", "-b", "medqa", "--set", f"eval.data={{medqa: {questions}}}",
                    "--set", f"eval.max_new_tokens={max_new_tokens}", "--set", f"eval.batch_size={batch_size}",
                    "--set", f"data.output_dir={root / 'data'}"]
        native_time = timed([str(bin_dir / "medr1"), "evaluate", *settings, "-o", str(root / "native")])
        subprocess.run([str(bin_dir / "medr1"), "evaluate", *settings, "--lm-eval-tasks", str(root / "tasks")],
                       check=True, capture_output=True)
        peer_time = timed([str(bin_dir / "lm_eval"), "--model", "hf", "--model_args", f"pretrained={model},dtype=float32",
                           "--device", "cpu", "--batch_size", str(batch_size), "--include_path", str(root / "tasks"),
                           "--tasks", "medr1_medqa", "--apply_chat_template", "--log_samples",
                           "--output_path", str(root / "lm")])
        native = json.loads((root / "native" / "results.json").read_text())["benchmarks"]["medqa"]
        native_texts = {json.loads(line)["id"]: json.loads(line)["completion"]
                        for line in (root / "native" / "completions.jsonl").read_text().splitlines()}
        peer_results = json.loads(next((root / "lm").rglob("results_*.json")).read_text())["results"]["medr1_medqa"]
        peer_texts = {row["doc"]["id"]: row["resps"][0][0] for line in
                      next((root / "lm").rglob("samples_medr1_medqa_*.jsonl")).read_text().splitlines()
                      for row in [json.loads(line)]}
    same = sum(native_texts[i] == peer_texts.get(i) for i in native_texts)
    print(f"{n} MedQA-format questions, SmolLM2-135M-Instruct, greedy, max_new_tokens {max_new_tokens}, "
          f"batch {batch_size}, CPU; wall time includes start-up and model load")
    print(f"{'':<22}{'wall s':>8}{'accuracy':>10}")
    print(f"{'medr1 evaluate':<22}{native_time:>8.1f}{100 * native['accuracy']:>9.1f}%")
    print(f"{'lm_eval CLI':<22}{peer_time:>8.1f}{100 * peer_results['acc,none']:>9.1f}%")
    ratio = native_time / peer_time
    print(f"identical completions: {same} of {len(native_texts)}; medr1 / lm-eval wall time {ratio:.2f} "
          f"(target <= 1.0) -> {'meets' if ratio <= 1.0 else 'MISSES'}")


def scoring(seed: int) -> None:
    from medr1_cli.data.record import Metadata, QARecord
    from medr1_cli.evaluate.generate import CompletionStore, Request
    from medr1_cli.evaluate.registry import BENCHMARKS, BenchmarkData
    from medr1_cli.evaluate.run import score

    rng = random.Random(seed)
    records, requests, store = [], [], CompletionStore(Path("/nonexistent/completions.jsonl"))
    for i in range(BUNDLE_SIZE):
        text, options, intended = make_completion(rng)
        answer = intended or rng.choice(list(options))
        records.append(QARecord(f"q{i}", "medxpertqa", f"question {i}", options, answer,
                                Metadata(question_type=rng.choice(["Reasoning", "Understanding"]),
                                         medical_task=rng.choice(["Diagnosis", "Treatment", "Basic Medicine"]),
                                         body_system=rng.choice(["Cardiovascular", "Nervous", "Skeletal"]))))
        requests.append(Request(f"k{i}", "medxpertqa", f"q{i}", 0, []))
        store.done[f"k{i}"] = {"completion": text, "hit_limit": intended is None and rng.random() < 0.5}
    bench = BenchmarkData(BENCHMARKS["medxpertqa"], records, [], 0, {}, [])
    started = time.perf_counter()
    summary = score(bench, requests, store, thinks=True)
    elapsed = time.perf_counter() - started
    print(f"scoring {BUNDLE_SIZE} items (mean completion {sum(len(r['completion']) for r in store.done.values()) / BUNDLE_SIZE / 1000:.1f} KB): "
          f"{elapsed:.2f} s ({BUNDLE_SIZE / elapsed:,.0f} items/s), accuracy {100 * summary['accuracy']:.1f} %, "
          f"unparseable {100 * summary['unparseable_rate']:.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    engines(args.n, args.max_new_tokens, args.batch_size)
    scoring(args.seed)


if __name__ == "__main__":
    main()
