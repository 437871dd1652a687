"""Sharing out GPUs between the processes medr1 starts (training ranks, a vLLM server, evaluation workers)."""

from __future__ import annotations

import os


def visible_devices(indices: list[int] | range) -> str:
    """CUDA_VISIBLE_DEVICES for these GPU indices, counted within any mask this process already has."""
    mask = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return ",".join(mask[i] if i < len(mask) else str(i) for i in indices)
