"""accelerate + DeepSpeed configs for the distributed strategies, written into the run folder."""

from __future__ import annotations

from typing import Any

_DEEPSPEED = {
    "zero3": {"zero_stage": 3, "offload_optimizer_device": "none", "offload_param_device": "none",
              "zero3_init_flag": True, "zero3_save_16bit_model": True},
    # The reference run: ZeRO-3 with optimizer states and parameters offloaded to CPU memory.
    "zero3-offload": {"zero_stage": 3, "offload_optimizer_device": "cpu", "offload_param_device": "cpu",
                      "zero3_init_flag": True, "zero3_save_16bit_model": True},
    "zero2": {"zero_stage": 2, "offload_optimizer_device": "none", "offload_param_device": "none"},
}


def accelerate_config(
    strategy: str,
    *,
    num_processes: int,
    num_machines: int = 1,
    machine_rank: int = 0,
    main_process_ip: str | None = None,
    main_process_port: int = 29500,
    mixed_precision: str = "bf16",
    use_cpu: bool = False,
) -> dict[str, Any]:
    """The accelerate config file for `strategy`; `num_processes` counts every process on every machine."""
    config: dict[str, Any] = {
        "compute_environment": "LOCAL_MACHINE",
        "debug": False,
        "machine_rank": machine_rank,
        "main_training_function": "main",
        "mixed_precision": "no" if use_cpu else mixed_precision,
        "num_machines": num_machines,
        "num_processes": num_processes,
        "rdzv_backend": "static",
        "same_network": True,
        "use_cpu": use_cpu,
    }
    if num_machines > 1:
        config["main_process_ip"] = main_process_ip
        config["main_process_port"] = main_process_port
    if strategy in _DEEPSPEED:
        config["distributed_type"] = "DEEPSPEED"
        config["deepspeed_config"] = {"deepspeed_multinode_launcher": "standard", **_DEEPSPEED[strategy]}
    else:
        config["distributed_type"] = "MULTI_CPU" if use_cpu else "MULTI_GPU"
    return config
