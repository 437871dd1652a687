"""Sharing out GPUs between the processes medr1 starts (training ranks, a vLLM server, evaluation workers)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medr1_cli.models.reference import ShardedSizes


def visible_devices(indices: list[int] | range) -> str:
    """CUDA_VISIBLE_DEVICES for these GPU indices, counted within any mask this process already has."""
    mask = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return ",".join(mask[i] if i < len(mask) else str(i) for i in indices)


def tensor_parallel_sizes(sizes: ShardedSizes | None, limit: int) -> list[int]:
    """Tensor-parallel sizes up to `limit` that vLLM can shard a model across.

    vLLM splits the query heads and the MLP's width evenly over the GPUs of a replica, and the
    key/value heads either evenly or, when there are fewer of them than GPUs, as whole replicas:
    Qwen2.5-7B (28 heads, 4 KV heads) runs on 1, 2 or 4 GPUs, not on 8. `sizes` is None when the
    model's config does not say, and any size is allowed.
    """
    if sizes is None:
        return list(range(1, limit + 1))
    query, kv, mlp = sizes.attention_heads, sizes.kv_heads, sizes.intermediate_size
    return [size for size in range(1, limit + 1)
            if query % size == 0 and (kv % size == 0 or size % kv == 0) and (mlp is None or mlp % size == 0)]


def tensor_parallel_problem(key: str, count: int, sizes: ShardedSizes | None, limit: int = 8) -> str | None:
    """Why `count` GPUs (setting `key`) cannot hold one vLLM replica of a model with these `sizes`, or None
    when they can; the message names the model's sizes and the valid counts up to max(count, limit)."""
    if count in tensor_parallel_sizes(sizes, count):
        return None
    valid = ", ".join(map(str, tensor_parallel_sizes(sizes, max(count, limit))))
    return (f"{key} {count}: vLLM splits the model ({sizes}) evenly over the GPUs of a replica, and {count} GPUs "
            f"do not divide it; use one of {valid}")


def gpus_without_torch() -> int:
    """This machine's visible NVIDIA GPUs, counted without importing torch (for dry runs): the
    CUDA_VISIBLE_DEVICES mask when set, else the /dev/nvidiaN device files."""
    mask = os.environ.get("CUDA_VISIBLE_DEVICES")
    if mask is not None:
        return len([d for d in mask.split(",") if d.strip() and d.strip() != "-1"])
    return len([p for p in os.listdir("/dev") if p.startswith("nvidia") and p[6:].isdigit()]) if os.path.isdir("/dev") else 0
