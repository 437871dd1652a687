"""`medr1 demo`: the whole pipeline on CPU with built-in data and a small model.

Each stage runs the same code as its command, on the previous stage's outputs, and reports the
figures it produced.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medr1_cli.config import Medr1Config
from medr1_cli.fsutil import atomic_write_text, check_not_training_outputs
from medr1_cli.layout import MODEL_CHECK_JSON

# A question written for this check; any instruction-tuned model should produce readable text.
CHECK_QUESTION = (
    "A 25-year-old woman reports fatigue. Her hemoglobin is low and her red cells are small and pale. "
    "Which deficiency is the most likely cause?\nA. Iron\nB. Vitamin B12\nC. Folate\nD. Vitamin C\n"
    "Answer with the letter and one sentence."
)


@dataclass
class StageResult:
    output: str
    note: str = ""


@dataclass
class Stage:
    name: str
    describe: str
    run: Callable[[Medr1Config, Path, Console], StageResult]


def check_model(config: Medr1Config, root: Path, console: Console) -> StageResult:
    """Materialise the model if needed, then load it and answer one question through its chat template
    (a vision-language model gets an image from the built-in VQA set), with evaluation's generator."""
    from transformers.utils import logging as hf_logging

    from medr1_cli.evaluate.generate import Request, hf_backend
    from medr1_cli.models import resolve_model_path
    from medr1_cli.models.reference import is_vision_model

    hf_logging.disable_progress_bar()  # the stage has its own status line; tqdm bars would tear it

    with console.status(f"preparing {config.model.name_or_path} (a built-in model is built once) …"):
        path = resolve_model_path(config.model.name_or_path)
    started = time.perf_counter()
    question, images = CHECK_QUESTION, ()
    if is_vision_model(path):
        question, images = _vqa_check_question()
    greedy = config.model_copy(update={"eval": config.eval.model_copy(update={"temperature": 0.0, "max_new_tokens": 48})})
    [answer] = hf_backend(greedy, path)([Request("check", "check", "check", 0, [{"role": "user", "content": question}],
                                                 images)])
    completion = answer.text
    record = {
        "model": config.model.name_or_path,
        "path": path,
        "parameters": _parameters(Path(path)),
        "question": question,
        "images": list(images),
        "completion": completion,
        "seconds": round(time.perf_counter() - started, 2),
    }
    atomic_write_text(root / MODEL_CHECK_JSON, json.dumps(record, indent=2) + "\n")
    first_line = completion.strip().splitlines()[0] if completion.strip() else "(empty)"
    return StageResult(output=path, note=f"{record['parameters'] / 1e6:.1f}M params; says: {first_line[:60]}")


def _vqa_check_question() -> tuple[str, tuple[str, ...]]:
    """The first question of the built-in VQA set, with its image."""
    from medr1_cli.data.formats import load_records
    from medr1_cli.data.prompts import user_message
    from medr1_cli.data.sources import read_source

    raw = read_source("builtin:omnimedvqa")
    record = load_records(raw).records[0]
    return user_message(record), (str(raw.files[0].parent / record.images[0]),)


def _parameters(folder: Path) -> int:
    """Parameters stored in the model's safetensors files (tied weights are stored once)."""
    from safetensors import safe_open

    total = 0
    for file in folder.glob("*.safetensors"):
        with safe_open(file, "pt") as handle:
            for name in handle.keys():
                shape = handle.get_slice(name).get_shape()
                total += math.prod(shape)
    return total


def prepare_demo_data(config: Medr1Config, root: Path, console: Console) -> StageResult:
    from medr1_cli.data.prepare import prepare_data

    result = prepare_data(config, console)
    held_out = len(result.manifest["held_out_ids"])
    return StageResult(output=str(result.output_dir), note=f"{result.rows} training questions, {held_out} held out")


def train_demo(config: Medr1Config, root: Path, console: Console) -> StageResult:
    from medr1_cli.train.command import run_train

    summary = run_train(config, console=console)
    reward = summary["reward_means"].get("reward")
    figures = f"; mean reward {reward:.2f}" if reward is not None else ""
    return StageResult(output=summary["model"], note=f"{summary['steps']} GRPO steps{figures}")


def evaluate_demo(config: Medr1Config, root: Path, console: Console) -> StageResult:
    from medr1_cli.evaluate.run import run_evaluation

    from medr1_cli.evaluate.baseline import compare_with_baseline

    # The trained model as train saved it (a LoRA run's adapter loads on top of its base model), beside
    # the model it started from: did these steps help?
    trained = config.model_copy(update={
        "model": config.model.model_copy(update={"name_or_path": config.train.output_dir}),
        "eval": config.eval.model_copy(update={"baseline": "base"}),
    })
    results = run_evaluation(trained, console)
    comparison = compare_with_baseline(trained, results, console)
    scores = results["benchmarks"].values()
    n, right = sum(b["n"] for b in scores), sum(b["correct"] for b in scores)
    each = ", ".join(f"{b['title']} {100 * b['accuracy']:.0f} %" for b in scores)
    return StageResult(output=config.eval.output_dir,
                       note=f"{n} held-out questions on {len(results['benchmarks'])} benchmarks, "
                       f"{100 * right / n:.1f} % right ({each})\n{comparison['verdict']}")


_EXPORTED = {"merged": "LoRA merged", "adapter": "adapter kept", "full": "full weights", "zero": "ZeRO consolidated"}


def export_demo(config: Medr1Config, root: Path, console: Console) -> StageResult:
    from medr1_cli.export.command import run_export

    # The demo owns its output folder: a rerun replaces the previous export (only once the new one is complete).
    exported = run_export(config, config.train.output_dir, force=True, console=console)
    check = exported["verification"]
    return StageResult(output=exported["output"],
                       note=f"{_EXPORTED[exported['kind']]}; max |logit difference| {check['max_abs_logit_diff']:.2g} "
                       f"({'within' if check['passed'] else 'beyond'} {check['dtype']} tolerance)")


STAGES = [
    Stage("model", "materialise and load the model, answer one question", check_model),
    Stage("prepare-data", "build the demo training mix", prepare_demo_data),
    Stage("train", "a few GRPO steps with LoRA on CPU", train_demo),
    Stage("evaluate", "score the trained model on the config's benchmarks, training items left out", evaluate_demo),
    Stage("export", "a standalone, verified model folder (LoRA merged)", export_demo),
]


def run_demo(config: Medr1Config, root: Path, console: Console | None = None) -> list[tuple[str, str, str]]:
    """Run every landed stage in order; return (stage, status, detail) rows as printed."""
    console = console or Console(highlight=False)
    check_not_training_outputs(root, "--output-dir", flag="-o", name="demo")
    root.mkdir(parents=True, exist_ok=True)
    config_path = config.write_beside(root)
    console.print(f"[bold]medr1 demo[/] — outputs under [cyan]{escape(str(root))}[/]")

    rows: list[tuple[str, str, str]] = []
    for stage in STAGES:
        started = time.perf_counter()
        console.rule(f"[bold]{stage.name}[/]: {stage.describe}", align="left")
        result = stage.run(config, root, console)
        seconds = time.perf_counter() - started
        console.print(f"[green]✓[/] {stage.name} ({seconds:.1f} s)")
        rows.append((stage.name, "done", f"{result.output}\n{result.note}".strip()))

    table = Table(title="medr1 demo", show_lines=True)
    table.add_column("stage")
    table.add_column("status")
    table.add_column("output")
    for name, status, detail in rows:
        table.add_row(name, f"[green]{status}[/]", escape(detail))
    console.print(table)
    console.print(f"resolved config: {escape(str(config_path))}")
    return rows
