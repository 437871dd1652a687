"""`medr1 evaluate` (native and lm-eval engines): benchmarks from native files, resumable generation, honest
scoring, statistics checked by hand, exclusion of training items, reports."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import time

import pytest
from rich.console import Console

from medr1_cli.benchmarks import BENCHMARKS
from medr1_cli.data.prepare import prepare_data
from medr1_cli.data.prompts import TEMPLATES
from medr1_cli.data.record import Metadata, QARecord
from medr1_cli.errors import ConfigError, DataError, MissingExtraError
from medr1_cli.evaluate.benchmark_data import BenchmarkData
from medr1_cli.evaluate.generate import CompletionStore, Request
from medr1_cli.evaluate.run import markdown_table, run_evaluation, score
from medr1_cli.evaluate.stats import bootstrap, mcnemar, paired_bootstrap, wilson
from medr1_cli.resolution import resolve_config
from tests.conftest import medr1_executable, run_medr1

SIX = {"medmcqa": "builtin:medmcqa", "medqa": "builtin:medqa", "pubmedqa": "builtin:pubmedqa",
       "mmlu_pro_med": "builtin:mmlu_pro", "gpqa_med": "builtin:gpqa", "medxpertqa": "builtin:medxpertqa"}


def quiet() -> Console:
    return Console(quiet=True)


# ---------------------------------------------------------------------------- statistics
def test_wilson_interval_matches_published_values():
    assert wilson(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(50, 100) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert wilson(0, 0) == (0.0, 0.0)


def test_bootstrap_and_paired_comparison():
    assert bootstrap([1.0] * 20) == (1.0, 1.0)
    low, high = bootstrap([1.0] * 50 + [0.0] * 50, seed=3)
    assert 0.38 < low < 0.45 and 0.55 < high < 0.62
    # The multinomial shortcut has the distribution of resampling items: its interval matches the normal
    # approximation p ± 1.96·sqrt(p(1-p)/n) for p = 0.3, n = 1000: 0.2716–0.3284.
    low, high = bootstrap([1.0] * 300 + [0.0] * 700)
    assert low == pytest.approx(0.2716, abs=0.004) and high == pytest.approx(0.3284, abs=0.004)
    difference, (lo, hi) = paired_bootstrap([0, 0, 1, 1], [1, 1, 1, 1])
    assert difference == 0.5 and 0.0 <= lo <= 0.5 <= hi <= 1.0
    with pytest.raises(ValueError):
        paired_bootstrap([1], [1, 0])


def test_mcnemar_exact_by_hand():
    # 5 items right only in b, none only in a: p = 2 * (1/2)^5 = 0.0625
    assert mcnemar([False] * 5 + [True] * 3, [True] * 5 + [True] * 3) == pytest.approx(0.0625)
    assert mcnemar([True, False], [True, False]) == 1.0
    # 1 vs 4 discordant: p = 2 * (C(5,0) + C(5,1)) / 32 = 0.375
    assert mcnemar([True, False, False, False, False], [False, True, True, True, True]) == pytest.approx(0.375)


# -------------------------------------------------------------------------------- scoring
def record(i, answer="A", **metadata):
    return QARecord(f"q{i}", "medqa", f"question {i}", {"A": "Iron", "B": "Folate", "C": "Zinc"}, answer,
                    Metadata(**metadata))


def test_scoring_counts_unparseable_and_truncated_as_wrong(tmp_path):
    records = [record(1, step="step1"), record(2, step="step1"), record(3, step="step2&3"), record(4, step="step2&3")]
    completions = {
        "q1": ("<think>x</think><answer>A</answer>", False),  # right
        "q2": ("no idea at all", False),  # unparseable
        "q3": ("<think>still thinking about", True),  # truncated at the token limit
        "q4": ("The answer is B.", False),  # wrong
    }
    store = CompletionStore(tmp_path / "c.jsonl")
    requests = [Request(f"k{r.id}", "medqa", r.id, 0, []) for r in records]
    store.add({"key": f"k{i}", "completion": text, "hit_limit": limit, "tokens": 1} for i, (text, limit) in completions.items())
    result = score(BenchmarkData(BENCHMARKS["medqa"], records, ["x"], 0, {}, [], ["generic"], 4, 4, False), requests, store, thinks=False)
    assert (result["n"], result["correct"], result["accuracy"]) == (4, 1, 0.25)
    assert (result["unparseable_rate"], result["truncated_rate"]) == (0.25, 0.25)
    assert result["wilson_95"] == pytest.approx(list(wilson(1, 4)))
    assert result["breakdown"]["step"]["step1"]["accuracy"] == 0.5
    assert result["breakdown"]["step"]["step2&3"]["accuracy"] == 0.0
    assert [i["predictions"] for i in result["items"]] == [["A"], [None], [None], ["B"]]


def test_chance_level_is_shown_and_a_model_below_it_is_flagged(tmp_path):
    from medr1_cli.evaluate.compare import compare, print_comparison
    from medr1_cli.evaluate.run import accuracy_cell, figures, markdown_table, print_results

    # 30 three-option questions and 10 ten-option ones: a random letter is right 1/3 · 30/40 + 1/10 · 10/40
    three = [record(i) for i in range(30)]
    ten = [QARecord(f"t{i}", "medqa", f"q{i}", {letter: letter.lower() for letter in "ABCDEFGHIJ"}, "A")
           for i in range(10)]
    records = three + ten
    store = CompletionStore(tmp_path / "c.jsonl")
    requests = [Request(f"k{r.id}", "medqa", r.id, 0, []) for r in records]
    store.add({"key": f"k{r.id}", "completion": "<answer>B</answer>", "hit_limit": False, "tokens": 1} for r in records)
    result = score(BenchmarkData(BENCHMARKS["medqa"], records, ["x"], 0, {}, [], ["generic"], 40, 40, False), requests,
                   store, thinks=False)
    assert result["chance"] == pytest.approx(1 / 3 * 30 / 40 + 1 / 10 * 10 / 40)
    assert result["accuracy"] == 0.0 and result["below_chance"]  # always B, never right: worse than guessing
    assert accuracy_cell(result).endswith(" ↓")
    assert not figures([True, False, False], [3, 3, 3])["below_chance"]  # 1 of 3: the interval holds chance
    run = {"model": "m", "benchmarks": {"medqa": result}}
    table = markdown_table([run])
    assert "| m | 0.0 (0.0–8.8) ↓ |" in table and f"| chance | {100 * result['chance']:.1f} |" in table
    console = Console(record=True, width=200)
    print_results(console, run, breakdown=False)
    shown = console.export_text()
    assert "27.5 %" in shown and "below chance on MedQA-USMLE" in shown
    rows = compare(run, run)
    assert rows["medqa"]["chance"] == pytest.approx(result["chance"])
    print_comparison(console, run, run, rows)
    assert console.export_text().count("27.5 %") >= 1


def test_majority_and_mean_at_n(tmp_path):
    records = [record(1), record(2, answer="B")]
    store = CompletionStore(tmp_path / "c.jsonl")
    texts = {("q1", 0): "A", ("q1", 1): "A", ("q1", 2): "C", ("q2", 0): "A", ("q2", 1): "B", ("q2", 2): "C"}
    requests = [Request(f"{i}-{s}", "medqa", i, s, []) for (i, s) in texts]
    store.add({"key": f"{i}-{s}", "completion": t, "hit_limit": False, "tokens": 1} for (i, s), t in texts.items())
    result = score(BenchmarkData(BENCHMARKS["medqa"], records, ["x"], 0, {}, [], ["generic"], 4, 4, False), requests, store, thinks=False)
    assert result["samples"] == 3
    assert result["mean_at_n"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert result["majority_at_n"] == 0.5  # q1: A wins (right); q2: a three-way tie resolves to A (wrong)
    assert result["accuracy"] == 0.5  # first sample: q1 right, q2 wrong


# ------------------------------------------------------------------------------ pipeline
def tiny_eval(tmp_path, *overrides):
    return resolve_config("tiny", [f"eval.output_dir={tmp_path / 'eval'}", f"data.output_dir={tmp_path / 'data'}",
                                   "eval.max_new_tokens=4", "eval.batch_size=4", *overrides])


def test_all_six_benchmarks_from_native_files(tmp_path):
    data = "{" + ", ".join(f"{k}: '{v}'" for k, v in SIX.items()) + "}"
    config = tiny_eval(tmp_path, f"eval.data={data}", f"eval.benchmarks=[{', '.join(SIX)}]", "eval.limit=3")
    results = run_evaluation(config, quiet())
    assert list(results["benchmarks"]) == list(SIX)
    assert all(b["n"] == 3 for b in results["benchmarks"].values())
    assert results["generated"] == 18
    saved = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert saved["benchmarks"]["medxpertqa"]["items"][0]["id"].startswith("Text-")
    table = (tmp_path / "eval" / "results.md").read_text()
    assert table.startswith("| model | MedMCQA | MedQA-USMLE | PubMedQA | MMLU-Pro Medical | GPQA Medical | MedXpertQA |")
    assert (tmp_path / "eval" / "medr1_config.yaml").is_file()


def test_rerun_reuses_completions_and_new_settings_regenerate(tmp_path):
    config = tiny_eval(tmp_path, "eval.benchmarks=[medqa]", "eval.data={medqa: builtin:medqa}", "eval.limit=6")
    assert run_evaluation(config, quiet())["generated"] == 6
    again = run_evaluation(config, quiet())
    assert again["generated"] == 0 and again["backend"] == "cached"
    longer = tiny_eval(tmp_path, "eval.benchmarks=[medqa]", "eval.data={medqa: builtin:medqa}", "eval.limit=6",
                       "eval.max_new_tokens=5")
    assert run_evaluation(longer, quiet())["generated"] == 6  # other settings: other keys


def test_training_items_of_the_prepared_mix_are_left_out(tmp_path):
    config = tiny_eval(tmp_path)  # the demo benchmark: all 128 built-in MedQA + MedXpertQA questions
    prepare_data(config, quiet())
    manifest = json.loads((tmp_path / "data" / "demo" / "manifest.json").read_text())
    results = run_evaluation(tiny_eval(tmp_path, "eval.limit=1000"), quiet())
    demo = results["benchmarks"]["demo"]
    assert demo["n"] == 64 and demo["excluded_training_items"] == 64
    assert not {i["id"] for i in demo["items"]} & set(manifest["training_ids"])


def test_missing_and_empty_benchmark_data_are_clear_errors(tmp_path):
    config = tiny_eval(tmp_path, "eval.benchmarks=[medqa]")  # default data: a Hub dataset, offline here
    with pytest.raises(DataError) as caught:
        run_evaluation(config, quiet())
    assert "benchmark 'medqa': could not load 'GBaker/MedQA-USMLE-4-options'" in caught.value.message
    assert "eval.data.medqa" in caught.value.hint
    only_law = tiny_eval(tmp_path, "eval.benchmarks=[mmlu_pro_med]", "eval.data={mmlu_pro_med: builtin:mmlu_pro}",
                         "data.mmlu_pro_categories=[astrology]")
    with pytest.raises(DataError, match="has no items left"):
        run_evaluation(only_law, quiet())
    with pytest.raises(ConfigError, match="did you mean 'medqa'"):
        resolve_config("tiny", ["eval.benchmarks=[medqaa]"])


def test_checkpoints_with_equal_configs_and_sizes_have_different_fingerprints(tiny_model, tmp_path):
    import os
    import shutil

    from medr1_cli.evaluate.generate import model_fingerprint

    a, b = tmp_path / "checkpoint-1", tmp_path / "checkpoint-2"
    shutil.copytree(tiny_model, a)
    shutil.copytree(tiny_model, b)
    assert model_fingerprint(str(a)) != model_fingerprint(str(b))  # same files, another place
    before = model_fingerprint(str(a))
    weights = a / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1))  # rewritten, same size
    assert model_fingerprint(str(a)) != before
    assert model_fingerprint(str(a)) == model_fingerprint(str(a))


def test_markdown_table_one_row_per_model():
    run = {"model": "m", "benchmarks": {"medqa": {"title": "MedQA-USMLE", "accuracy": 0.5, "wilson_95": [0.4, 0.6]}}}
    other = {"model": "n", "benchmarks": {}}
    assert markdown_table([run, other]).splitlines()[2:4] == ["| m | 50.0 (40.0–60.0) |", "| n | — |"]


@pytest.mark.slow
def test_a_killed_evaluation_resumes_generating_only_what_is_missing(tmp_path):
    args = ["evaluate", "-c", "tiny", "-o", str(tmp_path / "eval"), "-b", "medxpertqa",
            "--set", "eval.data={medxpertqa: builtin:medxpertqa}", "--set", "eval.batch_size=1",
            "--set", "eval.max_new_tokens=48", "--set", f"data.output_dir={tmp_path / 'data'}"]
    process = subprocess.Popen([medr1_executable(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = tmp_path / "eval" / "completions.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not store.exists() or len(store.read_text().splitlines()) < 5):
        time.sleep(0.1)
    process.kill()
    process.wait()
    kept = len(CompletionStore(store).done)
    assert 5 <= kept < 64
    resumed = run_medr1(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{64 - kept} completions generated (native engine, hf), {kept} reused" in resumed.stdout
    assert len(CompletionStore(store).done) == 64


def test_cli_evaluate_prints_the_table(tmp_path):
    result = run_medr1("evaluate", "-c", "tiny", "-b", "pubmedqa", "--set", "eval.data={pubmedqa: builtin:pubmedqa}",
                       "--limit", "4", "-o", str(tmp_path / "eval"), "--set", "eval.max_new_tokens=4",
                       "--set", f"data.output_dir={tmp_path / 'data'}", "--breakdown")
    assert result.returncode == 0, result.stderr
    assert "PubMedQA" in result.stdout and "95 % CI" in result.stdout and "by split" in result.stdout
    listing = run_medr1("benchmarks")
    assert listing.returncode == 0 and "medxpertqa" in listing.stdout and "2450" in listing.stdout


def results_file(folder, model, correct):
    folder.mkdir(parents=True)
    items = [{"id": f"q{i}", "correct": c} for i, c in enumerate(correct)]
    (folder / "results.json").write_text(json.dumps(
        {"model": model, "benchmarks": {"medqa": {"title": "MedQA-USMLE", "items": items}}}))
    return folder


def test_compare_is_paired_on_the_shared_items(tmp_path):
    from medr1_cli.evaluate.compare import compare, load_results

    a = load_results(results_file(tmp_path / "a", "base", [False] * 5 + [True] * 3))
    b = load_results(results_file(tmp_path / "b", "trained", [True] * 5 + [True] * 3 + [True]))  # one extra item
    row = compare(a, b)["medqa"]
    assert (row["n"], row["accuracy_a"], row["accuracy_b"]) == (8, 3 / 8, 1.0)
    assert row["difference"] == pytest.approx(5 / 8) and row["mcnemar_p"] == pytest.approx(0.0625)
    assert row["difference_95"][0] > 0  # every discordant item favours B
    result = run_medr1("evaluate", "compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert result.returncode == 0 and "+62.5" in result.stdout and "0.0625" in result.stdout
    missing = run_medr1("evaluate", "compare", str(tmp_path / "a"), str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no results.json here" in missing.stderr


def test_pubmedqa_protocols_and_gpqa_deduplication(tmp_path):
    from medr1_cli.evaluate.benchmark_data import load_benchmark

    folder = tmp_path / "pqa"
    folder.mkdir()
    data = {str(10000000 + i): {"QUESTION": f"Question {i}?", "CONTEXTS": ["c"], "LABELS": ["RESULTS"],
                                "final_decision": "yes"} for i in range(6)}
    (folder / "ori_pqal.json").write_text(json.dumps(data))
    (folder / "test_ground_truth.json").write_text(json.dumps({"10000001": "no", "10000004": "maybe"}))
    config = tiny_eval(tmp_path, f"eval.data={{pubmedqa: {folder}}}")
    assert len(load_benchmark(BENCHMARKS["pubmedqa"], config, set()).records) == 6
    test = load_benchmark(BENCHMARKS["pubmedqa"], tiny_eval(tmp_path, f"eval.data={{pubmedqa: {folder}}}",
                                                             "eval.pubmedqa_protocol=test"), set())
    assert [r.answer for r in test.records] == ["B", "C"] and test.notes == ["official test protocol: 2 of 6 questions"]
    (folder / "test_ground_truth.json").unlink()
    with pytest.raises(DataError, match="needs the official test labels"):
        load_benchmark(BENCHMARKS["pubmedqa"], tiny_eval(tmp_path, f"eval.data={{pubmedqa: {folder}}}",
                                                          "eval.pubmedqa_protocol=test"), set())

    def item(options, answer="A"):
        return {"question": "Which enzyme unwinds DNA?", "options": options, "answer_idx": answer, "answer": "x"}
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"GPQA_Medical_test": [
        item({"A": "Helicase", "B": "Ligase"}), item({"A": "Ligase", "B": "Helicase"}, "B"),  # shuffled: one question
        item({"A": "Helicase", "B": "Primase"}),  # the same text with other options: another question
        {**item({"A": "Ligase", "B": "Helicase"}), "question": "Which enzyme seals nicks?"}]}))
    config = tiny_eval(tmp_path, f"eval.data={{gpqa_med: {bundle}}}")
    deduped = load_benchmark(BENCHMARKS["gpqa_med"], config, set())
    assert [r.options["A"] for r in deduped.records] == ["Helicase", "Helicase", "Ligase"]
    assert deduped.notes == ["4 rows hold 3 distinct questions: each is scored once (eval.dedup)"]
    assert (deduped.rows, deduped.distinct, deduped.deduplicated) == (4, 3, True)
    everything = load_benchmark(BENCHMARKS["gpqa_med"], tiny_eval(tmp_path, f"eval.data={{gpqa_med: {bundle}}}",
                                                                   "eval.dedup=[]"), set())
    assert len(everything.records) == 4 and not everything.deduplicated
    assert "every row is scored" in everything.notes[0] and "add gpqa_med to eval.dedup" in everything.notes[0]


# ----------------------------------------------------------------------------- lm-eval engine
def test_lm_eval_task_definitions_load_in_lm_eval_and_score_with_our_extractor(tmp_path):
    import importlib.util

    from lm_eval.tasks import TaskManager

    from medr1_cli.evaluate.run import export_lm_eval_tasks

    config = tiny_eval(tmp_path, "eval.benchmarks=[medqa, pubmedqa]", "eval.template=no-think",
                       "eval.data={medqa: builtin:medqa, pubmedqa: builtin:pubmedqa}", "eval.n_samples=3")
    folder = tmp_path / "tasks"
    assert export_lm_eval_tasks(config, folder, quiet()) == ["medr1_medqa", "medr1_pubmedqa"]
    tasks = TaskManager(include_path=str(folder), include_defaults=False).load(["medr1_medqa"])["tasks"]
    task = next(iter(tasks.values()))
    docs = list(task.test_docs())
    assert len(docs) == 64 and task.config.repeats == 3
    assert task.config.generation_kwargs == {"until": [], "max_gen_toks": 4, "do_sample": False, "temperature": 0.0}
    context = task.fewshot_context(docs[0], 0, system_instruction=None, apply_chat_template=True,
                                   chat_template=lambda messages, **_: messages)
    assert context[0] == {"role": "system", "content": TEMPLATES["no-think"].system}
    assert context[1]["content"].endswith("\n\nA. " + json.loads(docs[0]["options"])["A"] + "\nB. "
                                          + json.loads(docs[0]["options"])["B"] + "\nC. "
                                          + json.loads(docs[0]["options"])["C"] + "\nD. "
                                          + json.loads(docs[0]["options"])["D"])
    spec = importlib.util.spec_from_file_location("scoring", folder / "medr1_scoring.py")
    scoring = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scoring)
    right = f"<answer>{docs[0]['answer']}</answer>"
    assert scoring.process_results(docs[0], [right, "x", "y"]) == {"acc": 1.0, "unparseable": 0.0}
    assert scoring.process_results(docs[0], ["I cannot tell"]) == {"acc": 0.0, "unparseable": 1.0}


def test_lm_eval_refuses_a_chat_template_override_with_vllm(tmp_path):
    from medr1_cli.evaluate.lmeval import model_arguments

    config = tiny_eval(tmp_path, "model.chat_template={% for m in messages %}{{ m.content }}{% endfor %}")
    with pytest.raises(ConfigError, match="model.chat_template"):
        model_arguments(config, "model", "vllm", tokenizer=None)



def test_lm_eval_data_parallel_goes_to_its_vllm_model_and_is_refused_for_hf(tmp_path, monkeypatch):
    import torch

    from medr1_cli.evaluate.lmeval import model_arguments
    from medr1_cli.models import resolve_model_path

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    config = tiny_eval(tmp_path, "eval.data_parallel_size=4")
    model = resolve_model_path("builtin:tiny")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "ray" else real_find_spec(name))
    with pytest.raises(MissingExtraError, match="ray"):  # without ray: lm-eval shares out replicas with ray
        model_arguments(config, model, "vllm", tokenizer=None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object() if name == "ray" else real_find_spec(name))
    arguments = model_arguments(config, model, "vllm", tokenizer=None)
    assert (arguments["data_parallel_size"], arguments["tensor_parallel_size"]) == (4, 2)
    with pytest.raises(ConfigError, match="data_parallel_size > 1 with --engine lm-eval") as caught:
        model_arguments(config, model, "hf", tokenizer=None)
    assert "--engine native" in caught.value.hint

@pytest.mark.slow
def test_both_engines_give_identical_predictions_under_greedy_decoding(tmp_path):
    # The demo model (not the tiny one, which only emits newlines) so the completions carry real answers.
    common = ["eval.benchmarks=[medqa]", "eval.data={medqa: builtin:medqa}", "eval.limit=8", "eval.template=no-think",
              "eval.max_new_tokens=24", "eval.batch_size=4", f"data.output_dir={tmp_path / 'data'}"]
    native = run_evaluation(resolve_config("demo-cpu", [*common, f"eval.output_dir={tmp_path / 'native'}"]), quiet())
    lm = run_evaluation(resolve_config("demo-cpu", [*common, f"eval.output_dir={tmp_path / 'lm'}",
                                                    "eval.engine=lm-eval"]), quiet())
    assert (native["engine"], lm["engine"], lm["generated"]) == ("native", "lm-eval", 8)
    a, b = native["benchmarks"]["medqa"], lm["benchmarks"]["medqa"]
    assert [i["predictions"] for i in a["items"]] == [i["predictions"] for i in b["items"]]
    assert sum(1 for i in a["items"] if i["predictions"][0]) >= 4  # the comparison is about real answers
    texts = [{row["id"]: row["completion"] for row in CompletionStore(tmp_path / run / "completions.jsonl").done.values()}
             for run in ("native", "lm")]
    assert texts[0] == texts[1]
    assert lm["lm_eval_metrics"]["medqa"]["acc,none"] == pytest.approx(b["accuracy"])
    assert (tmp_path / "lm" / "lm-eval-tasks" / "medr1_medqa.yaml").is_file()
    again = run_evaluation(resolve_config("demo-cpu", [*common, f"eval.output_dir={tmp_path / 'lm'}",
                                                       "eval.engine=lm-eval"]), quiet())
    assert again["generated"] == 0 and again["benchmarks"]["medqa"]["accuracy"] == b["accuracy"]


# ------------------------------------------------------------------------------- baseline
def test_baseline_base_is_the_runs_starting_model_scored_on_the_same_items_and_reused(tmp_path, tiny_model):
    import shutil

    from medr1_cli.evaluate.baseline import summary_line, verdict

    run = tmp_path / "run"  # a run folder as train leaves it: the model and the config it trained with
    shutil.copytree(tiny_model, run)
    (run / "medr1_config.yaml").write_text(resolve_config("tiny").to_yaml())
    def args(output):
        return ["evaluate", "-c", "tiny", "-m", str(run), "--baseline", "base", "-o", str(tmp_path / "results" / output),
                "--set", "eval.max_new_tokens=4", "--set", "eval.limit=6", "--set", f"data.output_dir={tmp_path / 'data'}"]
    first = run_medr1(*args("a"))
    assert first.returncode == 0, first.stderr
    comparison = json.loads((tmp_path / "results" / "a" / "comparison.json").read_text())
    assert comparison["baseline"] == "builtin:tiny" and comparison["model"] == str(run)
    base = json.loads((tmp_path / "results" / "baseline-builtin-tiny" / "results.json").read_text())
    trained = json.loads((tmp_path / "results" / "a" / "results.json").read_text())
    for name, row in comparison["benchmarks"].items():  # the same items, paired
        assert [i["id"] for i in base["benchmarks"][name]["items"]] == [i["id"] for i in trained["benchmarks"][name]["items"]]
        assert row["n"] == trained["benchmarks"][name]["n"] and row["verdict"] == "no significant change"
    assert "trained vs base at α = 0.05 (McNemar, per benchmark): no significant change" in " ".join(first.stdout.split())
    assert (tmp_path / "results" / "a" / "comparison.md").read_text().count("| no significant change |") == \
           len(comparison["benchmarks"])
    # a later evaluation with the same baseline and settings reuses the baseline's completions
    second = run_medr1(*args("b"))
    assert second.returncode == 0, second.stderr
    assert "0 completions generated" in second.stdout.split("baseline: builtin:tiny")[1]
    # the verdict says only what the test carries
    assert verdict({"mcnemar_p": 0.01, "difference": 0.2}) == "better"
    assert verdict({"mcnemar_p": 0.01, "difference": -0.2}) == "worse"
    assert verdict({"mcnemar_p": 0.2, "difference": 0.3}) == "no significant change"
    line = summary_line({"a": {"title": "A", "mcnemar_p": 0.001, "difference": -0.1},
                         "b": {"title": "B", "mcnemar_p": 0.5, "difference": 0.1}})
    assert line.endswith("worse on A; no significant change on B")


def test_baseline_base_needs_a_model_medr1_trained(tmp_path, tiny_model):
    result = run_medr1("evaluate", "-c", "tiny", "-m", str(tiny_model), "--baseline", "base", "--dry-run",
                       "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "starting model is unknown" in result.stderr
    assert "--baseline MODEL" in result.stderr
    ok = run_medr1("evaluate", "-c", "tiny", "-m", str(tiny_model), "--baseline", "builtin:tiny", "--dry-run",
                   "-o", str(tmp_path / "out"))
    assert ok.returncode == 0 and "baseline: builtin:tiny, on the same items" in " ".join(ok.stdout.split())


def test_a_bad_baseline_is_refused_before_the_evaluated_model_generates(tmp_path, tiny_model):
    result = run_medr1("evaluate", "-c", "tiny", "-m", str(tiny_model), "--baseline", "base", "-o", str(tmp_path / "out"),
                       "--set", f"data.output_dir={tmp_path / 'data'}")
    assert result.returncode == 2 and "starting model is unknown" in result.stderr
    assert not (tmp_path / "out").exists()  # nothing was generated first
    clash = run_medr1("evaluate", "-c", "tiny", "--baseline", "builtin:tiny", "-o", str(tmp_path / "baseline-builtin-tiny"),
                      "--dry-run")
    assert clash.returncode == 2 and "is where the baseline's results go" in clash.stderr


def test_base_is_read_from_a_run_whose_own_rewards_cannot_be_imported_here(tmp_path, tiny_model):
    import shutil

    from medr1_cli.evaluate.baseline import baseline_config

    run = tmp_path / "run"
    shutil.copytree(tiny_model, run)
    trained = resolve_config("tiny", ["train.rewards={'elsewhere.rewards:brevity': 1.0}", "model.revision=abc"])
    (run / "medr1_config.yaml").write_text(trained.to_yaml())  # its reward module lives on another machine
    base = baseline_config(resolve_config("tiny", [f"model.name_or_path={run}", "eval.baseline=base",
                                                   f"eval.output_dir={tmp_path / 'results' / 'a'}"]))
    assert (base.model.name_or_path, base.model.revision) == ("builtin:tiny", "abc")  # trained at that revision
    assert base.eval.output_dir == str(tmp_path / "results" / "baseline-builtin-tiny-abc")
