"""What `medr1 train` does: preflight, plan, then dry-run, Slurm script, or the run itself."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from medr1_cli.config import Medr1Config
from medr1_cli.errors import ConfigError
from medr1_cli.fsutil import atomic_write_text, check_writable_folder
from medr1_cli.models import describe_model_reference, planned_model_path, resolve_model_path
from medr1_cli.models.reference import inspect_model
from medr1_cli.train import preflight
from medr1_cli.train.grpo import (
    build_grpo_config,
    check_planned_lineage,
    grpo_kwargs,
    prepared_dataset,
    record_lineage,
    resume_from,
    run_training,
)
from medr1_cli.train.launch import LaunchError, build_plan, describe, execute, write_files
from medr1_cli.train.slurm import sbatch_script


def run_train(
    config: Medr1Config,
    *,
    extra_args: list[str] | None = None,
    dry_run: bool = False,
    slurm: Path | None = None,
    console: Console | None = None,
) -> dict | None:
    """Returns the training summary for an in-process run, else None."""
    console = console or Console(highlight=False)
    extra_args = extra_args or []
    check_writable_folder(config.train.output_dir, "train.output_dir")
    gpus = config.train.gpus if config.train.gpus is not None else preflight.detect_gpus()
    if config.train.topology == "single" and not (dry_run or slurm is not None):
        # one training process: what matters is how many GPUs it would see, whatever train.gpus plans
        gpus = max(gpus, preflight.detect_gpus())
    if slurm is not None and (gpus == 0 or config.train.topology == "single"):
        raise ConfigError(
            "--slurm writes a multi-GPU job: it needs topology multi, colocate or server and train.gpus "
            f"(GPUs per node; now {gpus}, topology {config.train.topology})"
        )
    layout = preflight.plan_layout(config, gpus, server_node_of_its_own=slurm is not None)
    planning = dry_run or slurm is not None
    describe_model_reference(config.model.name_or_path, here=not planning, revision=config.model.revision)
    preflight.check(config, layout, extra_args=extra_args, dry_run=planning, sizes=_sharded_sizes(config))
    validate_grpo(config, layout)
    model_path = planned_model_path(config.model.name_or_path) if planning else resolve_model_path(config.model.name_or_path)
    plan = build_plan(config, layout, extra_args=extra_args, model_path=model_path)

    resume_from(config)  # the run folder's state is checked by a dry run too, and before any process starts
    if dry_run:
        if not check_planned_lineage(config):
            console.print("the prepared data is missing or out of date: the run prepares it, then checks it against "
                          "the run folder's lineage")
        describe(plan, console)
        console.rule("resolved config")
        console.print(escape(config.to_yaml()), highlight=False)
        return None
    if slurm is not None:
        # What every rank would otherwise find out on its own, after the job is scheduled.
        prepared_dataset(config, console, may_prepare=True)
        record_lineage(config, write=True)
        write_files(plan)
        atomic_write_text(slurm, sbatch_script(config, layout, model_path=model_path))
        console.print(f"wrote {escape(str(slurm))} and the run files in {escape(str(plan.run_dir))}; submit with: sbatch {slurm}")
        return None

    if plan.train is None:
        return run_training(config, console)
    prepared_dataset(config, console, may_prepare=True)  # once, before several processes read it
    record_lineage(config, write=True)  # and its lineage, which each process then checks
    code = execute(plan, console)
    if code != 0:
        raise LaunchError(f"training exited with code {code}", hint=f"see the output above and {plan.run_dir}")
    return None


def validate_grpo(config: Medr1Config, layout: preflight.Layout) -> None:
    """Let TRL judge train.grpo now, before any process starts.

    This process is not the run: it has one process where the run has several (so the generation
    batch TRL would derive here is stated explicitly), and perhaps not the run's GPUs (so precision
    flags are left to the run itself).
    """
    import torch

    cuda = torch.cuda.is_available()
    kwargs = grpo_kwargs(config, cuda_available=cuda)
    if not cuda:
        kwargs.update(use_cpu=True, bf16=False, fp16=False)
    processes = layout.train_processes * config.train.num_machines
    if processes > 1 and "generation_batch_size" not in kwargs:
        steps = kwargs.pop("steps_per_generation", None) or kwargs.get("gradient_accumulation_steps", 1)
        kwargs["generation_batch_size"] = processes * kwargs.get("per_device_train_batch_size", 8) * steps
    build_grpo_config(kwargs)




def _sharded_sizes(config: Medr1Config):
    """What vLLM would shard of the model, when a vLLM topology runs and the model's config is readable here."""
    if config.train.topology not in ("colocate", "server"):
        return None
    try:
        return inspect_model(planned_model_path(config.model.name_or_path), config.model.revision).sharded_sizes
    except ConfigError:  # a Hub id neither cached nor reachable: vLLM says so when the run starts
        return None
