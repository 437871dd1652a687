"""`medr1 demo`: the whole pipeline on CPU with built-in data and a small model.

Each stage runs the same code as its command, on the previous stage's outputs, and reports the
figures it produced.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medr1_cli.config import Medr1Config
from medr1_cli.fsutil import atomic_write_text

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
    """Materialise the model if needed, then load it and answer one question through its chat template."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from medr1_cli.models import resolve_model_path
    from medr1_cli.models.loading import load_tokenizer

    hf_logging.disable_progress_bar()  # the stage has its own status line; tqdm bars would tear it

    with console.status(f"preparing {config.model.name_or_path} (a built-in model is built once) …"):
        path = resolve_model_path(config.model.name_or_path)
    started = time.perf_counter()
    tokenizer = load_tokenizer(config.model, path)
    model = AutoModelForCausalLM.from_pretrained(path, revision=config.model.revision, dtype=torch.float32)
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": CHECK_QUESTION}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=48, do_sample=False)
    completion = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    seconds = time.perf_counter() - started
    record = {
        "model": config.model.name_or_path,
        "path": path,
        "parameters": sum(p.numel() for p in model.parameters()),
        "question": CHECK_QUESTION,
        "completion": completion,
        "seconds": round(seconds, 2),
    }
    atomic_write_text(root / "model_check.json", json.dumps(record, indent=2) + "\n")
    first_line = completion.strip().splitlines()[0] if completion.strip() else "(empty)"
    return StageResult(output=path, note=f"{record['parameters'] / 1e6:.1f}M params; says: {first_line[:60]}")


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

    # The trained model as train saved it (a LoRA run's adapter loads on top of its base model).
    trained = config.model_copy(update={"model": config.model.model_copy(update={"name_or_path": config.train.output_dir})})
    results = run_evaluation(trained, console)
    scores = results["benchmarks"].values()
    n, right = sum(b["n"] for b in scores), sum(b["correct"] for b in scores)
    each = ", ".join(f"{b['title']} {100 * b['accuracy']:.0f} %" for b in scores)
    return StageResult(output=config.eval.output_dir,
                       note=f"{n} held-out questions on {len(results['benchmarks'])} benchmarks, "
                       f"{100 * right / n:.1f} % right ({each})")


def export_demo(config: Medr1Config, root: Path, console: Console) -> StageResult:
    from medr1_cli.export.command import run_export

    # The demo owns its output folder: a rerun replaces the previous export (only once the new one is complete).
    exported = run_export(config, config.train.output_dir, force=True, console=console)
    check = exported["verification"]
    return StageResult(output=exported["output"],
                       note=f"LoRA merged; max |logit difference| {check['max_abs_logit_diff']:.2g} "
                       f"({'within' if check['passed'] else 'beyond'} {check['dtype']} tolerance)")


STAGES = [
    Stage("model", "materialise and load the model, answer one question", check_model),
    Stage("prepare-data", "build the demo training mix", prepare_demo_data),
    Stage("train", "a few GRPO steps with LoRA on CPU", train_demo),
    Stage("evaluate", "score the model on the six benchmarks' built-in questions", evaluate_demo),
    Stage("export", "merge the adapter into a standalone, verified model folder", export_demo),
]


def run_demo(config: Medr1Config, root: Path, console: Console | None = None) -> list[tuple[str, str, str]]:
    """Run every landed stage in order; return (stage, status, detail) rows as printed."""
    console = console or Console(highlight=False)
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
