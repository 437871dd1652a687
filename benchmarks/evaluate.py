"""`medr1 evaluate` beside the lm-eval CLI on the same questions, model and generation settings.

Both run as a user would run them, as their own processes, timed wall-clock from start to exit
(model load included): `medr1 evaluate` (native engine, hf backend) and `lm_eval --model hf` over the
task definitions `medr1 evaluate --lm-eval-tasks` writes for the same items. The figures: wall time,
the ratio, accuracy from each tool's own output, and how many completions are identical.
Then the scoring pass alone (extraction, intervals, bootstrap, breakdowns) over a synthetic bundle
of the HuatuoGPT-o1 evaluation size (8,381 items) with realistic completions.

    python benchmarks/evaluate.py [--n 200] [--max-new-tokens 32] [--batch-size 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
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


def engines(n: int, max_new_tokens: int, batch_size: int, repeats: int) -> None:
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
        subprocess.run([str(bin_dir / "medr1"), "evaluate", *settings, "--lm-eval-tasks", str(root / "tasks")],
                       check=True, capture_output=True)
        print(f"{n} MedQA-format questions, SmolLM2-135M-Instruct, greedy, max_new_tokens {max_new_tokens}, "
              f"batch {batch_size}, CPU; wall time includes start-up and model load")
        padding(settings, model, batch_size)
        print(f"{'run':<5}{'medr1 evaluate s':>18}{'lm_eval CLI s':>15}{'ratio':>8}")
        ratios = []
        for run in range(repeats):
            native, peer = root / f"native{run}", root / f"lm{run}"
            medr1_argv = [str(bin_dir / "medr1"), "evaluate", *settings, "-o", str(native)]
            peer_argv = [str(bin_dir / "lm_eval"), "--model", "hf", "--model_args", f"pretrained={model},dtype=float32",
                         "--device", "cpu", "--batch_size", str(batch_size), "--include_path", str(root / "tasks"),
                         "--tasks", "medr1_medqa", "--apply_chat_template", "--log_samples", "--output_path", str(peer)]
            # alternate which tool goes first, so that neither always runs on a warmer machine
            if run % 2:
                peer_time, native_time = timed(peer_argv), timed(medr1_argv)
            else:
                native_time, peer_time = timed(medr1_argv), timed(peer_argv)
            ratios.append(native_time / peer_time)
            print(f"{run + 1:<5}{native_time:>18.1f}{peer_time:>15.1f}{ratios[-1]:>8.2f}")
        native_results = json.loads((native / "results.json").read_text())["benchmarks"]["medqa"]
        native_texts = {json.loads(line)["id"]: json.loads(line)["completion"]
                        for line in (native / "completions.jsonl").read_text().splitlines()}
        peer_results = json.loads(next(peer.rglob("results_*.json")).read_text())["results"]["medr1_medqa"]
        peer_texts = {row["doc"]["id"]: row["resps"][0][0] for line in
                      next(peer.rglob("samples_medr1_medqa_*.jsonl")).read_text().splitlines()
                      for row in [json.loads(line)]}
    same = sum(native_texts[i] == peer_texts.get(i) for i in native_texts)
    ratio = statistics.median(ratios)
    print(f"accuracy: medr1 {100 * native_results['accuracy']:.1f} %, lm-eval {100 * peer_results['acc,none']:.1f} %; "
          f"identical completions: {same} of {len(native_texts)}")
    print(f"medr1 / lm-eval wall time, median of {repeats}: {ratio:.2f} (target <= 1.0) -> "
          f"{'meets' if ratio <= 1.0 else 'MISSES'}")


def padding(settings: list[str], model: str, batch_size: int) -> None:
    """Prompt tokens the model runs over in prefill, left padding included: medr1's batches (longest prompts
    first) beside the same requests batched in arrival order."""
    from rich.console import Console
    from transformers import AutoTokenizer

    from medr1_cli.evaluate.generate import chunks_of, sample_requests
    from medr1_cli.evaluate.run import load_benchmarks
    from medr1_cli.resolution import resolve_config

    overrides = [value for flag, value in zip(settings, settings[1:]) if flag == "--set"]
    config = resolve_config("demo-cpu", overrides, {"eval.benchmarks": ("-b", ["medqa"])})
    data, _ = load_benchmarks(config, Console(quiet=True))
    requests = sample_requests({"medqa": data["medqa"].records}, config, "model", "settings", 1)["medqa"]
    tokenizer = AutoTokenizer.from_pretrained(model)
    length = {r.key: len(tokenizer(tokenizer.apply_chat_template(r.messages, tokenize=False, add_generation_prompt=True),
                                   add_special_tokens=False)["input_ids"]) for r in requests}

    def padded(batches: list) -> int:
        return sum(len(batch) * max(length[r.key] for r in batch) for batch in batches)

    arrival = [requests[start : start + batch_size] for start in range(0, len(requests), batch_size)]
    print(f"prompt tokens {sum(length.values())} ({min(length.values())}-{max(length.values())} a prompt); "
          f"with left padding: {padded(chunks_of(requests, batch_size))} in medr1's batches, "
          f"{padded(arrival)} in arrival order")


def scoring(seed: int) -> None:
    from medr1_cli.benchmarks import BENCHMARKS
    from medr1_cli.data.record import Metadata, QARecord
    from medr1_cli.evaluate.benchmark_data import BenchmarkData
    from medr1_cli.evaluate.generate import CompletionStore, Request
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
    bench = BenchmarkData(BENCHMARKS["medxpertqa"], records, specs=[], excluded=0, skipped={}, notes=[], layouts=[],
                          rows=BUNDLE_SIZE, distinct=BUNDLE_SIZE, deduplicated=False)
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
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each tool, alternating which goes first")
    args = parser.parse_args()
    engines(args.n, args.max_new_tokens, args.batch_size, args.repeats)
    scoring(args.seed)


if __name__ == "__main__":
    main()
