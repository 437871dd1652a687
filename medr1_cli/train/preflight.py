"""Checks before any model loads, so a run fails in seconds with the fix spelled out, not after an
hour of loading: hardware against topology, batch divisibility, vLLM memory, optional extras."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from medr1_cli.config import Medr1Config
from medr1_cli.devices import tensor_parallel_problem
from medr1_cli.errors import ConfigError, MissingExtraError
from medr1_cli.models.reference import ShardedSizes
from medr1_cli.rewards import is_custom, load_custom

TRL_DEFAULT_GENERATIONS = 8  # GRPOConfig.num_generations


@dataclass(frozen=True)
class Layout:
    """How the GPUs of one machine are used."""

    gpus: int
    train_processes: int  # per machine
    vllm_gpus: int  # on the machine that hosts the server

    @property
    def train_devices(self) -> list[int]:
        return list(range(self.train_processes)) if self.gpus else []

    @property
    def vllm_devices(self) -> list[int]:
        return list(range(self.gpus - self.vllm_gpus, self.gpus)) if self.vllm_gpus else []


def detect_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def plan_layout(config: Medr1Config, gpus: int, *, server_node_of_its_own: bool = False) -> Layout:
    """`server_node_of_its_own`: a Slurm job gives the vLLM server a node of its own, so every GPU
    of the training nodes trains."""
    train = config.train
    if train.topology == "single":
        return Layout(gpus, 1, 0)
    vllm_gpus = train.vllm_server_gpus if train.topology == "server" and not server_node_of_its_own else 0
    available = gpus - vllm_gpus if gpus else 0
    processes = train.num_processes or available or 1
    return Layout(gpus, processes, vllm_gpus)


def check(config: Medr1Config, layout: Layout, *, extra_args: list[str], dry_run: bool,
          sizes: ShardedSizes | None = None) -> None:
    """Raise one ConfigError listing every problem; MissingExtraError for a missing optional extra.
    `sizes`: what vLLM shards of the model, when its config is readable (tensor parallel must divide them)."""
    train, grpo = config.train, config.train.grpo
    problems: list[str] = []
    vllm_tp = {"server": ("train.vllm_server_gpus", train.vllm_server_gpus),
               "colocate": ("train.grpo.vllm_tensor_parallel_size", grpo.get("vllm_tensor_parallel_size", 1))}
    if sizes is not None and train.topology in vllm_tp:
        key, count = vllm_tp[train.topology]
        problem = tensor_parallel_problem(key, count, sizes) if isinstance(count, int) and count >= 1 else None
        if problem:
            problems.append(problem)

    if train.topology in ("colocate", "server") and layout.gpus == 0:
        problems.append(
            f"train.topology '{train.topology}' runs vLLM and needs CUDA GPUs; this machine has none "
            "(use topology single or multi on CPU, or set train.gpus to plan the run with --dry-run)"
        )
    if train.topology == "server" and layout.vllm_gpus and layout.gpus and layout.gpus <= layout.vllm_gpus:
        problems.append(
            f"train.topology 'server' gives {train.vllm_server_gpus} GPU(s) to vLLM but the machine has {layout.gpus}: "
            "at least one must be left for training"
        )
    if layout.gpus and train.topology != "single":
        free = layout.gpus - layout.vllm_gpus
        if layout.train_processes > free:
            problems.append(f"train.num_processes {layout.train_processes} exceeds the {free} GPU(s) left for training")
    if train.topology == "single" and extra_args:
        problems.append(f"arguments after -- ({' '.join(extra_args)}) are for accelerate, which topology single does not use")
    if train.num_machines > 1 and not train.main_process_ip:
        problems.append("train.num_machines > 1 needs train.main_process_ip (the address of machine rank 0)")
    # (A Slurm job gives the server a node of its own and sets the host itself: layout.vllm_gpus is 0 then.)
    if train.topology == "server" and layout.vllm_gpus and train.num_machines > 1 and _loopback(train.vllm_server_host):
        problems.append(
            f"train.vllm_server_host {train.vllm_server_host} is this machine's loopback address, which the other "
            f"{train.num_machines - 1} machine(s) cannot reach: set it to the address of machine rank 0, where the "
            "vLLM server runs and listens"
        )

    for name in train.rewards:  # rewards of the user's own: importable here, not only in every process later
        if is_custom(name):
            try:
                load_custom(name)
            except ConfigError as err:
                problems.append(err.message)
    counts = _count_problems(grpo)
    problems.extend(counts)
    generations = grpo.get("num_generations", TRL_DEFAULT_GENERATIONS)
    if not counts:  # the batch arithmetic needs whole numbers
        if generations < 2:
            problems.append(f"train.grpo.num_generations is {generations}: GRPO compares at least 2 completions per prompt")
        else:
            problems.extend(_batch_problems(config, layout, generations))

    memory = grpo.get("vllm_gpu_memory_utilization")
    if memory is not None:
        limit = 0.6 if train.topology == "colocate" else 0.95
        if not 0 < memory <= limit:
            where = "shares each GPU with training" if train.topology == "colocate" else "has its GPUs to itself"
            problems.append(
                f"train.grpo.vllm_gpu_memory_utilization {memory} is outside (0, {limit}]: in topology "
                f"{train.topology} vLLM {where} (out-of-memory errors are fixed by lowering it)"
            )
    if config.model.lora.load_in_4bit and train.topology in ("colocate", "server"):
        problems.append(
            f"model.lora.load_in_4bit (Q-LoRA) with train.topology '{train.topology}': TRL hands vLLM the policy's "
            "weights after every step, and a 4-bit base sends bitsandbytes' packed tensors, which vLLM refuses at the "
            "first sync; use topology multi (transformers generates) for Q-LoRA, or plain LoRA "
            "(model.lora.load_in_4bit: false) to keep vLLM"
        )
    if config.model.lora.load_in_4bit and not dry_run and layout.gpus == 0:
        problems.append("model.lora.load_in_4bit (Q-LoRA) needs a CUDA GPU and bitsandbytes; this machine has no GPU")
    if config.model.attn_implementation == "flash_attention_2" and not dry_run and layout.gpus == 0:
        problems.append("model.attn_implementation flash_attention_2 needs a CUDA GPU; use sdpa on this machine")
    if problems:
        raise ConfigError("training preflight:\n" + "\n".join(f"  • {p}" for p in problems))

    if dry_run:
        return
    lora = config.model.lora
    wanted = (  # (needed, extra, what needs it, module, install command when not the extra's own)
        (train.topology in ("colocate", "server"), "vllm", f"train.topology '{train.topology}'", "vllm", None),
        (lora.load_in_4bit, "qlora", "Q-LoRA (model.lora.load_in_4bit)", "bitsandbytes",
         "pip install bitsandbytes   (CUDA GPUs only)"),
        (config.model.attn_implementation == "flash_attention_2", "flash-attn",
         "model.attn_implementation flash_attention_2", "flash_attn",
         "pip install flash-attn --no-build-isolation   (CUDA GPUs only)"),
        (train.strategy != "ddp" and train.topology != "single", "deepspeed", f"train.strategy '{train.strategy}'",
         "deepspeed", None),
    )
    missing = [MissingExtraError(extra, what, module, install=install)
               for needed, extra, what, module, install in wanted
               if needed and importlib.util.find_spec(module) is None]
    if missing:  # every missing extra at once, each with its install command
        raise missing[0] if len(missing) == 1 else MissingExtraError.several(missing)


# TRL options that count things: TRL itself accepts 0 or a string for some and fails later, in every process.
COUNT_OPTIONS = ("per_device_train_batch_size", "gradient_accumulation_steps", "steps_per_generation",
                 "generation_batch_size", "num_generations", "num_train_epochs", "max_completion_length")


def _loopback(host: str) -> bool:
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _count_problems(grpo: dict) -> list[str]:
    problems = []
    for key in COUNT_OPTIONS:
        value = grpo.get(key)
        if value is None:
            continue
        if key == "num_train_epochs":  # fractions of an epoch are fine
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                problems.append(f"train.grpo.{key} = {value!r}: must be a number above 0")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"train.grpo.{key} = {value!r}: must be a whole number of at least 1")
    return problems


def _batch_problems(config: Medr1Config, layout: Layout, generations: int) -> list[str]:
    """TRL needs the generation batch (processes x per-device batch x steps per generation) to hold
    whole groups of num_generations completions; say which nearby settings do."""
    grpo = config.train.grpo
    processes = layout.train_processes * config.train.num_machines
    per_device = grpo.get("per_device_train_batch_size", 8)
    steps = grpo.get("steps_per_generation") or grpo.get("gradient_accumulation_steps", 1)
    if "generation_batch_size" in grpo:
        total, problems = grpo["generation_batch_size"], []
        if total % (per_device * processes):
            problems.append(
                f"train.grpo.generation_batch_size {total} is not a multiple of the global batch "
                f"({processes} process(es) x {per_device} per device = {per_device * processes})"
            )
        if total % generations:
            problems.append(f"train.grpo.generation_batch_size {total} is not divisible by num_generations {generations}")
        return problems
    total = processes * per_device * steps
    if total % generations == 0:
        return []
    fixes = []
    for candidate in range(max(1, per_device - 4), per_device + 9):
        if (processes * candidate * steps) % generations == 0:
            fixes.append(f"per_device_train_batch_size {candidate}")
            break
    for candidate in range(steps, steps + 17):
        if (processes * per_device * candidate) % generations == 0:
            fixes.append(f"gradient_accumulation_steps {candidate}")
            break
    divisors = [g for g in range(2, total + 1) if total % g == 0 and abs(g - generations) <= 8]
    if divisors:
        fixes.append(f"num_generations {min(divisors, key=lambda g: abs(g - generations))}")
    return [
        f"the generation batch ({processes} process(es) x {per_device} per device x {steps} steps = {total}) is not "
        f"divisible by num_generations {generations}; TRL needs whole groups. Nearest valid settings: "
        + (", or ".join(fixes) if fixes else "change the batch or num_generations")
    ]
