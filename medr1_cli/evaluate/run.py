"""`medr1 evaluate` (native engine): load the benchmarks, generate what is missing, score every
completion with the shared extractor, and report accuracy with 95 % intervals."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from medr1_cli import __version__
from medr1_cli.answers import extract_answer
from medr1_cli.benchmarks import find_benchmark
from medr1_cli.config import Medr1Config
from medr1_cli.data.prompts import TEMPLATES
from medr1_cli.errors import ConfigError
from medr1_cli.evaluate.benchmark_data import BenchmarkData, Exclusion, exclusion_for, load_benchmark
from medr1_cli.evaluate.generate import (
    CompletionStore,
    Request,
    backend_for,
    chunk_size,
    chunks_of,
    generate_chunk,
    make_backend,
    model_fingerprint,
    sample_requests,
    settings_fingerprint,
    superseded_note,
)
from medr1_cli.evaluate.gpus import describe_layout, gpus_per_worker, machine_gpus, sharded_sizes
from medr1_cli.evaluate.lmeval import lm_eval_generate, write_tasks
from medr1_cli.evaluate.parallel import generate_in_parallel
from medr1_cli.evaluate.reference_scoring import reference_figures, reference_verdict
from medr1_cli.evaluate.stats import bootstrap, wilson
from medr1_cli.fsutil import atomic_write_text, check_not_training_outputs, check_writable_folder
from medr1_cli.layout import COMPLETIONS_NAME, RESULTS_JSON, RESULTS_MD
from medr1_cli.models import describe_model_reference, resolve_model_path
from medr1_cli.models.loading import load_processing_class, template_prefills_think


def load_benchmarks(config: Medr1Config, console: Console,
                    exclusion: Exclusion | None = None) -> tuple[dict[str, BenchmarkData], Exclusion]:
    """Every selected benchmark's items (protocol applied, training items left out), before any model
    loads. `exclusion`: the training items to leave out, when decided elsewhere (a baseline leaves out
    those of the model it is compared with); by default the evaluated model's own."""
    benchmarks = [find_benchmark(name) for name in config.eval.benchmarks]
    exclusion = exclusion or exclusion_for(config)
    data = {b.name: load_benchmark(b, config, exclusion.ids) for b in benchmarks}
    console.print(escape(exclusion.sentence()))
    for note in exclusion.notes:
        console.print(f"[yellow]{escape(note)}[/]")
    for bench in data.values():
        for note in bench.notes:
            console.print(f"{bench.benchmark.title}: {escape(note)}")
    return data, exclusion


def export_lm_eval_tasks(config: Medr1Config, folder: Path, console: Console | None = None) -> list[str]:
    """Write the selected benchmarks as lm-eval task definitions, for running the lm-eval CLI directly."""
    console = console or Console(highlight=False)
    data, _ = load_benchmarks(config, console)
    tasks = write_tasks(data, {name: {r.id for r in bench.records} for name, bench in data.items()}, config, folder)
    console.print(f"wrote {', '.join(tasks)} to {escape(str(folder))}\n"
                  f"run them with: lm_eval --model hf --model_args pretrained=MODEL --include_path {escape(str(folder))} "
                  f"--tasks {','.join(tasks)} --apply_chat_template --log_samples --output_path OUT", soft_wrap=True)
    return tasks


def run_evaluation(config: Medr1Config, console: Console | None = None, *, breakdown: bool = False,
                   exclusion: Exclusion | None = None) -> dict[str, Any]:
    """`exclusion`: the training items to leave out, when not the evaluated model's own (see load_benchmarks)."""
    console = console or Console(highlight=False)
    vqa = [name for name in config.eval.benchmarks if find_benchmark(name).vqa]
    if vqa and config.eval.engine == "lm-eval":
        raise ConfigError(f"eval.engine lm-eval: the VQA benchmarks {vqa} need images, which medr1's lm-eval tasks "
                          "do not carry", hint="evaluate them with --engine native")
    check_writable_folder(config.eval.output_dir, "eval.output_dir")
    check_not_training_outputs(config.eval.output_dir, "eval.output_dir", flag="-o", name="eval",
                               run_dir=config.train.output_dir)
    describe_model_reference(config.model.name_or_path, revision=config.model.revision)
    data, exclusion = load_benchmarks(config, console, exclusion)  # every data error before the model loads

    output = Path(config.eval.output_dir)
    model_path = resolve_model_path(config.model.name_or_path)
    backend = backend_for(config, model_path) if config.eval.engine == "native" else config.eval.backend
    model_id = model_fingerprint(model_path, config.model.revision)
    settings_id = settings_fingerprint(config, backend)
    store = CompletionStore(output / COMPLETIONS_NAME)
    requests = sample_requests({name: bench.records for name, bench in data.items()}, config, model_id, settings_id,
                               config.eval.n_samples)
    missing = {name: [r for r in reqs if r.key not in store.done] for name, reqs in requests.items()}
    generated = sum(len(m) for m in missing.values())
    if note := superseded_note(store, missing):
        console.print(f"[yellow]{escape(note)}[/]")
    try:
        backend_name, lm_eval_metrics = generate_missing(missing, data, config, model_path, store, output,
                                                          f"{model_id}-{settings_id}", console)
    except KeyboardInterrupt:
        kept = len(CompletionStore(store.path).done)
        console.print(f"[yellow]interrupted:[/] {kept} completions are kept in {escape(str(store.path))}; run the same "
                      "command again to continue — only the missing ones are generated")
        raise
    store.fold_shards()  # what data-parallel workers stored, in this run or in an interrupted one
    console.print(f"{generated} completions generated ({config.eval.engine} engine, {backend_name}), "
                  f"{sum(len(r) for r in requests.values()) - generated} reused from {escape(str(store.path))}")

    thinks = require_think(config, model_path, console)
    scores = {name: score(bench, requests[name], store, thinks) for name, bench in data.items()}
    results = {
        "medr1_version": __version__,
        "model": config.model.name_or_path,
        "model_fingerprint": model_id,
        "settings_fingerprint": settings_id,
        "protocol": config.eval.protocol,
        "require_think": thinks,  # a reply that never closes its reasoning is unfinished (wrong)
        "engine": config.eval.engine,
        "backend": backend_name,
        "lm_eval_metrics": lm_eval_metrics,  # lm-eval's own figures for what it generated in this run
        "exclusion": exclusion.describe(),  # which manifest left out which training items
        "benchmarks": scores,
        "config": config.model_dump(mode="json"),
    }
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output / RESULTS_JSON, json.dumps(results, indent=2) + "\n")
    atomic_write_text(output / RESULTS_MD, markdown_table([results]))
    config.write_beside(output)
    print_results(console, results, breakdown=breakdown)
    console.print(f"results: {escape(str(output / RESULTS_JSON))}, {escape(str(output / RESULTS_MD))}")
    results["generated"] = generated
    return results


def generate_missing(missing: dict[str, list[Request]], data: dict[str, BenchmarkData], config: Medr1Config,
                      model_path: str, store: CompletionStore, output: Path, run_id: str,
                      console: Console) -> tuple[str, dict | None]:
    """Generate what the store lacks with the configured engine; (backend used, lm-eval's own figures)."""
    if not any(missing.values()):
        return "cached", None
    if config.eval.engine == "lm-eval":
        return lm_eval_generate({name: reqs for name, reqs in missing.items() if reqs}, data, config, model_path,
                                store, output, run_id, console)
    if config.eval.data_parallel_size > 1:
        return generate_in_parallel(missing, config, model_path, store, console), None
    backend_name, backend = make_backend(config, model_path)
    if backend_name == "vllm":
        gpus, sizes = machine_gpus(config), sharded_sizes(config, model_path, backend_name)
        console.print(f"vLLM layout: {describe_layout(config, gpus, gpus_per_worker(config, gpus, sizes), sizes)}")
    _generate(missing, backend, store, chunk_size(config, backend_name), console)
    return backend_name, None


def _generate(missing: dict[str, list[Request]], backend, store: CompletionStore, batch: int, console: Console) -> None:
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=console) as progress:
        for name, requests in missing.items():
            if not requests:
                continue
            task = progress.add_task(name, total=len(requests), rate="")
            started, done = time.perf_counter(), 0
            for chunk in chunks_of(requests, batch):
                generate_chunk(backend, chunk, store)
                done += len(chunk)
                progress.update(task, completed=done, rate=f"{done / (time.perf_counter() - started):.2f} items/s")


def require_think(config: Medr1Config, model_path: str, console: Console) -> bool:
    """Whether replies must close their reasoning: the template asks for <think> (r1), or the model's chat
    template pre-fills it (QwQ, R1 distills), so that a reply cut off mid-thought is never read as an answer."""
    if TEMPLATES[config.eval.template].thinks:
        return True

    try:
        processor = load_processing_class(config.model, model_path)
    except (OSError, ValueError) as err:  # scoring stored completions of a model whose files are gone
        console.print(f"[yellow]could not read the chat template of {escape(model_path)} ({type(err).__name__}); "
                      "assuming it does not pre-fill <think>[/]")
        return False
    return bool(getattr(processor, "chat_template", None)) and template_prefills_think(processor)


def score(bench: BenchmarkData, requests: list[Request], store: CompletionStore, thinks: bool) -> dict[str, Any]:
    """Per-item verdicts and the benchmark's figures (first sample; mean@n and majority@n for n > 1)."""
    records = {r.id: r for r in bench.records}
    by_item: dict[str, list[dict]] = defaultdict(list)
    for request in requests:
        row = store.done[request.key]
        record = records[request.item_id]
        extraction = extract_answer(row["completion"], record.options, require_think=thinks)
        by_item[request.item_id].append({
            "letter": extraction.letter,
            "correct": extraction.is_correct(record.answer),
            "unparseable": extraction.unparseable,
            # truncated: the generation hit its token limit; a reply that ended without closing its
            # reasoning did not follow the template — a format failure, counted apart
            "truncated": bool(row["hit_limit"]),
            "format_failure": extraction.unclosed_think and not row["hit_limit"],
            "boundary": extraction.boundary,
            "reference": reference_verdict(row["completion"], record.options),
        })
    items = []
    for item_id, samples in by_item.items():
        record = records[item_id]
        votes = Counter(s["letter"] for s in samples if s["letter"])
        majority = votes.most_common(1)[0][0] if votes else None
        items.append({
            "id": item_id, "answer": record.answer, "options": len(record.options),
            "predictions": [s["letter"] for s in samples],
            "correct": samples[0]["correct"], "mean_correct": sum(s["correct"] for s in samples) / len(samples),
            "majority_correct": majority == record.answer,
            "unparseable": samples[0]["unparseable"], "truncated": samples[0]["truncated"],
            "format_failure": samples[0]["format_failure"], "boundary": samples[0]["boundary"],
            "metadata": {key: getattr(record.metadata, key, None) if key != "source" else record.source
                         for key in bench.benchmark.breakdown},
        })
    summary = figures([item["correct"] for item in items], [item["options"] for item in items])
    n_samples = min(len(samples) for samples in by_item.values())
    per_sample = [sum(samples[k]["correct"] for samples in by_item.values()) / len(by_item) for k in range(n_samples)]
    summary.update({
        "title": bench.benchmark.title,
        "data": bench.specs,
        "layouts": bench.layouts,
        "rows": bench.rows,
        "distinct_questions": bench.distinct,
        "deduplicated": bench.deduplicated,
        "excluded_training_items": bench.excluded,
        "protocol": bench.notes,
        "skipped": bench.skipped,
        "unparseable_rate": sum(i["unparseable"] for i in items) / len(items),
        "truncated_rate": sum(i["truncated"] for i in items) / len(items),
        "format_failure_rate": sum(i["format_failure"] for i in items) / len(items),
        # how replies ended their reasoning: </think>, a "## Final Response"-style heading, or not at all
        "answer_styles": dict(Counter(i["boundary"] for i in items)),
        "samples": len(requests) // max(1, len(items)),
        "per_sample_accuracy": per_sample,
        "reference_scorer": reference_figures([(by_item[i["id"]][0]["reference"], i["answer"]) for i in items]),
        "reference_scorer_per_sample": [
            reference_figures([(by_item[i["id"]][k]["reference"], i["answer"]) for i in items])["accuracy"]
            for k in range(n_samples)],
        "mean_at_n": sum(i["mean_correct"] for i in items) / len(items),
        "majority_at_n": sum(i["majority_correct"] for i in items) / len(items),
        "breakdown": {
            key: {value: figures([i["correct"] for i in group], [i["options"] for i in group])
                  for value in sorted({str(i["metadata"][key]) for i in items} - {"None"})
                  if (group := [i for i in items if str(i["metadata"][key]) == value])}
            for key in bench.benchmark.breakdown
        },
        "items": items,
    })
    return summary


def figures(correct: list[bool], options: list[int]) -> dict[str, Any]:
    """Accuracy with its intervals, and the chance level of these items: the accuracy of answering each
    with a random letter (the mean of 1 / its number of options). A model whose whole 95 % interval
    lies below it is flagged: it does worse than guessing."""
    n, right = len(correct), sum(correct)
    low, high = wilson(right, n)
    chance = sum(1 / k for k in options) / len(options) if options else None
    return {"n": n, "correct": right, "accuracy": right / n if n else 0.0, "wilson_95": [low, high],
            "bootstrap_95": list(bootstrap([float(c) for c in correct])), "chance": chance,
            "below_chance": chance is not None and high < chance}


def print_results(console: Console, results: dict[str, Any], *, breakdown: bool) -> None:
    table = Table(title=f"{results['model']} — accuracy with 95 % Wilson interval",
                  caption=f"chance: the accuracy of a random letter on these items; {BELOW_CHANCE} the whole interval "
                  "lies below it")
    for column in ("benchmark", "n", "accuracy", "95 % CI", "chance", "no answer", "format failure", "truncated",
                   "reference scorer"):
        table.add_column(column, justify="left" if column == "benchmark" else "right")
    for name, b in results["benchmarks"].items():
        low, high = b["wilson_95"]
        mark = f" [red]{BELOW_CHANCE}[/]" if b.get("below_chance") else ""
        chance = f"{100 * b['chance']:.1f} %" if b.get("chance") is not None else "—"
        reference = b.get("reference_scorer")
        table.add_row(escape(b["title"]), str(b["n"]), f"{100 * b['accuracy']:.1f} %{mark}",
                      f"{100 * low:.1f}–{100 * high:.1f}", chance,
                      f"{100 * b['unparseable_rate']:.1f} %", _pct(b.get("format_failure_rate")),
                      f"{100 * b['truncated_rate']:.1f} %", _pct(reference and reference["accuracy"]))
    console.print(table)
    console.print("no answer: none found (scored wrong); format failure: ended without closing its reasoning; "
                  "truncated: hit max_new_tokens. Reference scorer: the published evaluator's rule (always picks "
                  "an option; the higher of first- and last-match accuracy) — comparable with published tables, "
                  "not the headline.")
    for name, b in results["benchmarks"].items():
        if reference := b.get("reference_scorer"):
            how = ", ".join(f"{REFERENCE_SOURCES[k]} {v}" for k, v in reference["answers_by"].items())
            console.print(f"{escape(b['title'])} reference scorer {100 * reference['accuracy']:.1f} % (first match "
                          f"{100 * reference['first_match_accuracy']:.1f}, last {100 * reference['last_match_accuracy']:.1f}; "
                          f"answers by {how}; {reference['dropped_empty']} empty dropped); reply styles "
                          + ", ".join(f"{k} {v}" for k, v in sorted(b.get("answer_styles", {}).items())))
        if len(b.get("per_sample_accuracy") or []) > 1:
            values = b["per_sample_accuracy"]
            mean = sum(values) / len(values)
            sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
            reference = b.get("reference_scorer_per_sample") or []
            reference_mean = f"; reference scorer {100 * sum(reference) / len(reference):.1f} % mean" if reference else ""
            console.print(f"{escape(b['title'])}: {len(values)} samples, accuracy {100 * mean:.1f} ± {100 * sd:.1f} % "
                          f"(mean ± sd over samples; the table shows the first; majority@{len(values)} "
                          f"{100 * b['majority_at_n']:.1f} %{reference_mean})")
    below = [b["title"] for b in results["benchmarks"].values() if b.get("below_chance")]
    if below:
        console.print(f"[red]below chance[/] on {escape(', '.join(below))}: worse than answering at random")
    if not breakdown:
        return
    for name, b in results["benchmarks"].items():
        for key, groups in b["breakdown"].items():
            sub = Table(title=f"{b['title']} by {key}")
            for column in (key, "n", "accuracy", "95 % CI"):
                sub.add_column(column, justify="left" if column == key else "right")
            for value, f in groups.items():
                sub.add_row(value, str(f["n"]), f"{100 * f['accuracy']:.1f} %",
                            f"{100 * f['wilson_95'][0]:.1f}–{100 * f['wilson_95'][1]:.1f}")
            console.print(sub)


REFERENCE_SOURCES = {"answer_is": "'answer is X'", "lone_letter": "lone letter", "option_text": "option text",
                     "closest": "closest-string guess"}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


BELOW_CHANCE = "↓"  # marks an accuracy whose 95 % interval lies below the chance level


def accuracy_cell(figures: dict[str, Any] | None, bound_digits: int = 1) -> str:
    """`accuracy (low–high)` in %, with the 95 % Wilson interval, marked ↓ when the whole interval lies
    below the chance level; a dash when there is no figure."""
    if figures is None:
        return "—"
    low, high = figures["wilson_95"]
    mark = f" {BELOW_CHANCE}" if figures.get("below_chance") else ""
    return f"{100 * figures['accuracy']:.1f} ({100 * low:.{bound_digits}f}–{100 * high:.{bound_digits}f}){mark}"


def markdown_table(runs: list[dict[str, Any]]) -> str:
    """One row per model, one column per benchmark, like the reference's Table 1."""
    names = list(dict.fromkeys(name for run in runs for name in run["benchmarks"]))
    titles = {name: run["benchmarks"][name]["title"] for run in runs for name in run["benchmarks"]}
    lines = ["| model | " + " | ".join(titles[n] for n in names) + " |", "|---|" + "---|" * len(names)]
    for run in runs:
        cells = [accuracy_cell(run["benchmarks"].get(name)) for name in names]
        lines.append(f"| {run['model']} | " + " | ".join(cells) + " |")
    chance: dict[str, float] = {}
    for run in runs:  # the first run that recorded it (results from before chance was recorded have none)
        for name, bench in run["benchmarks"].items():
            if bench.get("chance") is not None:
                chance.setdefault(name, bench["chance"])
    lines.append("| chance | " + " | ".join(f"{100 * chance[n]:.1f}" if chance.get(n) is not None else "—"
                                            for n in names) + " |")
    return "\n".join(lines) + (f"\n\nAccuracy in %, 95 % Wilson interval in brackets; unparseable answers count as "
                               f"wrong. Chance: the accuracy of a random letter on the items scored; {BELOW_CHANCE}: "
                               "the whole interval lies below it.\n")

