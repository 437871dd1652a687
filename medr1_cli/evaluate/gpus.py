"""How an evaluation lays its replicas out over the GPUs: how many GPUs there are, how many each replica
(eval.tensor_parallel_size) gets next to eval.data_parallel_size, what vLLM must be able to shard over
them, and the layout a data-parallel worker is handed. Used by the single-process vLLM backend, the
data-parallel workers, lm-eval's vllm model and `medr1 evaluate --dry-run`; nothing heavy is imported
until a function needs it (torch, to count this machine's GPUs)."""

from __future__ import annotations

from medr1_cli.config import Medr1Config
from medr1_cli.devices import tensor_parallel_problem, tensor_parallel_sizes
from medr1_cli.errors import ConfigError
from medr1_cli.models.reference import ShardedSizes, inspect_model


def machine_gpus(config: Medr1Config) -> int:
    """The GPUs an evaluation lays out: eval.gpus when set (to plan another machine), else this machine's."""
    import torch

    here = torch.cuda.device_count()
    if config.eval.gpus is None:
        return here
    if config.eval.gpus > here:
        raise ConfigError(f"eval.gpus is {config.eval.gpus} but this machine has {here} GPU(s)",
                          hint="eval.gpus plans another machine's layout with --dry-run; leave it unset to use these")
    return config.eval.gpus


def gpus_per_worker(config: Medr1Config, gpus: int, sizes: ShardedSizes | None = None) -> int | None:
    """GPUs each replica gets (None on a machine without GPUs); every layout problem in one error.

    `sizes`: what vLLM shards when it generates — a replica's GPU count must divide them, so without
    eval.tensor_parallel_size the largest fitting count is chosen.
    """
    e = config.eval
    if gpus == 0:
        if e.tensor_parallel_size not in (None, 1):
            raise ConfigError(f"eval.tensor_parallel_size {e.tensor_parallel_size}: this machine has no GPU",
                              hint="leave it unset on CPU")
        return None
    if e.tensor_parallel_size:
        per_worker = e.tensor_parallel_size
        problem = tensor_parallel_problem("eval.tensor_parallel_size", per_worker, sizes, limit=gpus)
        if problem:
            raise ConfigError(problem, hint="or leave eval.tensor_parallel_size unset to get the largest count that fits")
    else:
        per_worker = max(tensor_parallel_sizes(sizes, max(1, gpus // e.data_parallel_size)))
    if per_worker * e.data_parallel_size > gpus:
        raise ConfigError(
            f"eval.data_parallel_size {e.data_parallel_size} × {per_worker} GPU(s) per replica "
            f"(eval.tensor_parallel_size) needs {per_worker * e.data_parallel_size} GPUs; this machine has {gpus}",
            hint=f"use data_parallel_size × tensor_parallel_size ≤ {gpus}",
        )
    return per_worker


def describe_layout(config: Medr1Config, gpus: int, per_worker: int | None, sizes: ShardedSizes | None) -> str:
    """One line on how the GPUs are used, and what would use the idle ones."""
    replicas = config.eval.data_parallel_size
    if per_worker is None:
        return f"{replicas} replica(s) on CPU"
    line = f"{replicas} replica(s) × {per_worker} GPU(s) each = {replicas * per_worker} of {gpus} GPU(s)"
    if sizes and not config.eval.tensor_parallel_size and per_worker < gpus // replicas:
        line += f"; tensor parallel must divide the model ({sizes})"
    if gpus // per_worker > replicas:
        line += f"; eval.data_parallel_size {gpus // per_worker} would use {gpus // per_worker * per_worker}"
    return line


def sharded_sizes(config: Medr1Config, model_path: str, backend: str) -> ShardedSizes | None:
    """What vLLM shards over a replica's GPUs, when vLLM generates (the hf backend places whole layers)."""
    if not backend.startswith("vllm"):
        return None
    return inspect_model(model_path, config.model.revision).sharded_sizes


def worker_config(config: Medr1Config, per_worker: int | None) -> Medr1Config:
    """A data-parallel worker's config: it sees only its own GPUs, so it is told its replica's size and that
    it is one replica, rather than working the machine's layout out again (gpus_per_worker of it, on the
    `per_worker` GPUs it sees, is `per_worker`)."""
    return config.model_copy(update={"eval": config.eval.model_copy(update={
        "tensor_parallel_size": per_worker, "data_parallel_size": 1, "gpus": None})})
