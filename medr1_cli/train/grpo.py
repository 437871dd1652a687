"""The GRPO training script: what runs in-process (`single`) or in every process under accelerate.

    python -m medr1_cli.train.grpo --config RUN/medr1_config.yaml

It reads the resolved config the launcher wrote, loads the prepared dataset, the model (dtype,
attention kernel, chat-template override, LoRA / Q-LoRA), the reward functions with their weights,
builds TRL's `GRPOConfig` from `train.grpo` (so TRL validates every key), resumes from a checkpoint
when asked, trains, saves, and appends every rollout with its rewards to `rollouts.jsonl`.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import warnings
from pathlib import Path
from typing import Any

from rich.console import Console

from medr1_cli.analyze.inputs import read_completions
from medr1_cli.analyze.training import accuracy_outcomes
from medr1_cli.config import DataSection, Medr1Config, ModelSection
from medr1_cli.data.prepare import prepare_data, prepared_folder
from medr1_cli.data.prompts import TEMPLATES
from medr1_cli.data.sources import sha256_file
from medr1_cli.errors import ConfigError, DataError, Medr1Error, print_error
from medr1_cli.layout import (
    DATASET_DIR,
    MANIFEST_NAME,
    RESOLVED_CONFIG_NAME,
    TRAINER_STATE,
    checkpoint_folder,
    checkpoints,
    rollout_logs,
    rollouts_file,
)
from medr1_cli.lineage import check_run_data, copy_lineage, record_run_data
from medr1_cli.models import resolve_model_path
from medr1_cli.models.loading import load_processing_class, template_prefills_think, torch_dtype
from medr1_cli.models.reference import VISION_MODULES, inspect_model
from medr1_cli.models.vision import complete_processor_files
from medr1_cli.resolution import resolve_config
from medr1_cli.rewards import TEMPLATE_ANSWER_FORMS, build_rewards, columns_needed, option_names
from medr1_cli.train.recorder import CompletionRecorder
from medr1_cli.trl_options import GRPO_HINT, grpo_key_problems, imported_option_names

# Module names of a multimodal checkpoint's vision side (models.reference.VISION_MODULES), for peft's exclude_modules.
VISION_MODULES_PATTERN = r".*(^|\.)(" + "|".join(VISION_MODULES) + r")(\.|$).*"
# TRL still uses transformers' gradient-checkpointing names that v5 deprecates; nothing a user can change.
warnings.filterwarnings("ignore", category=FutureWarning, message=".*gradient_checkpointing.*")
# What a model needs besides its weights (configs, tokenizer, chat template, remote code).
MODEL_FILES = ["*.json", "*.txt", "*.model", "*.jinja", "*.py", "*.tiktoken"]


class _ReferenceModelKwargsNote(logging.Filter):
    """TRL says model_init_kwargs "will be ignored" when handed a loaded policy, yet loads the reference model
    (beta > 0) with them — the reason medr1 sets them; the warning would tell users the opposite."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("You passed `model_init_kwargs`")


logging.getLogger("trl.trainer.grpo_trainer").addFilter(_ReferenceModelKwargsNote())


# --------------------------------------------------------------------------- GRPOConfig
def grpo_kwargs(config: Medr1Config, *, cuda_available: bool) -> dict[str, Any]:
    """GRPOConfig keyword arguments: train.grpo plus what medr1 derives from the rest of the config."""
    grpo = dict(config.train.grpo)
    # the names by the imported class: training imports TRL anyway (config validate reads its sources)
    problems = [f"train.grpo.{key}: {why}" for key, why in grpo_key_problems(grpo, imported_option_names())]
    if problems:
        raise ConfigError("\n".join(problems), hint=GRPO_HINT)

    kwargs: dict[str, Any] = {
        "logging_steps": 1,
        "report_to": "none",
        "disable_tqdm": True,  # medr1 shows its own progress
        **grpo,
        "output_dir": config.train.output_dir,
    }
    # medr1 hands TRL a loaded policy; TRL still loads the reference model (beta > 0) itself from
    # model_init_kwargs, and colocated vLLM with its own trust_remote_code: both must see the same model.
    if config.model.trust_remote_code:
        kwargs["trust_remote_code"] = True
    if config.model.revision:
        init = dict(kwargs.get("model_init_kwargs") or {})
        if init.get("revision", config.model.revision) != config.model.revision:
            raise ConfigError(f"train.grpo.model_init_kwargs.revision {init['revision']} differs from model.revision "
                              f"{config.model.revision}", hint="set the revision once, in model.revision")
        kwargs["model_init_kwargs"] = {**init, "revision": config.model.revision}
    if config.train.topology in ("colocate", "server"):
        kwargs["use_vllm"] = True
        kwargs["vllm_mode"] = "colocate" if config.train.topology == "colocate" else "server"
    if config.train.topology == "server":
        kwargs["vllm_server_host"] = config.train.vllm_server_host
        kwargs["vllm_server_port"] = config.train.vllm_server_port
        kwargs["vllm_server_timeout"] = config.train.vllm_server_timeout
    if config.data.curriculum != "none":
        if grpo.get("shuffle_dataset") is True:
            raise ConfigError(
                f"data.curriculum is '{config.data.curriculum}' but train.grpo.shuffle_dataset is true: TRL would "
                "shuffle the ordered items; remove shuffle_dataset or set data.curriculum: none"
            )
        kwargs["shuffle_dataset"] = False  # keep the curriculum's order
    if not cuda_available:
        kwargs.setdefault("use_cpu", True)
    if kwargs.get("use_cpu"):
        # GRPOConfig defaults to bf16, which a CPU run cannot use unless asked for explicitly.
        kwargs.setdefault("bf16", False)
        kwargs.setdefault("fp16", False)
    return kwargs


def build_grpo_config(kwargs: dict[str, Any]):
    from trl import GRPOConfig

    try:
        return GRPOConfig(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"TRL rejected train.grpo: {err}") from None


# ------------------------------------------------------------------------------ data
def prepared_dataset(config: Medr1Config, console: Console, *, may_prepare: bool):
    """The prepared training set for this config; prepared first when missing or out of date."""
    folder = prepared_folder(config)
    dataset = _prepared(config, console, folder, may_prepare)
    missing = sorted(columns_needed(list(config.train.rewards)) - set(dataset.column_names))
    if missing:  # checked where the data is loaded: before a launch starts any process or server
        raise DataError(f"the prepared dataset {folder} lacks the column(s) {missing} that train.rewards needs",
                        hint="prepare it again with `medr1 prepare-data` and this config, or change train.rewards")
    return dataset


def _prepared(config: Medr1Config, console: Console, folder: Path, may_prepare: bool):
    from datasets import load_from_disk

    manifest = folder / MANIFEST_NAME
    if manifest.is_file():
        stale = _why_stale(json.loads(manifest.read_text(encoding="utf-8")), config)
        if stale:
            if not may_prepare:
                raise DataError(f"{folder} is out of date ({stale}); run `medr1 prepare-data` with this config first")
            console.print(f"[yellow]{folder} is out of date ({stale}): preparing it again[/]")
            prepare_data(config, console)
    elif may_prepare:
        console.print(f"{folder} is not prepared yet: running prepare-data first")
        prepare_data(config, console)
    else:
        raise DataError(f"{folder} is not prepared; run `medr1 prepare-data` with the same config first")
    return load_from_disk(str(folder / DATASET_DIR))


def record_lineage(config: Medr1Config, *, write: bool) -> None:
    """Check the run folder's data lineage against the prepared set about to be trained on and, when
    `write`, record it: a run resumed on other data is refused (lineage.check_run_data says why)."""
    run = Path(config.train.output_dir)
    lineage = check_run_data(run, prepared_folder(config), allow_change=config.train.resume_with_changed_data)
    if lineage is not None and write:
        record_run_data(run, lineage)


def check_planned_lineage(config: Medr1Config) -> bool:
    """A dry run's check of the lineage, where the prepared set is there and current (a run would
    otherwise prepare it first); whether it was checked."""
    folder = prepared_folder(config)
    manifest = folder / MANIFEST_NAME
    if not manifest.is_file() or _why_stale(json.loads(manifest.read_text(encoding="utf-8")), config):
        return False
    record_lineage(config, write=False)
    return True


def _lineage_keeper(run: Path):
    """A callback that copies the run's lineage into each checkpoint TRL saves, so a checkpoint moved
    away from its run still says what it trained on."""
    from transformers import TrainerCallback

    class KeepLineage(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            folder = checkpoint_folder(run, state.global_step)
            if state.is_world_process_zero and folder.is_dir():
                copy_lineage(run, folder)

    return KeepLineage()


def _as_current_schema(data: dict) -> dict:
    """A data section as this medr1 writes it: a key added since (with its default) is not a change of data."""
    try:
        return DataSection.model_validate(data).model_dump(mode="json")
    except ValueError:  # a section this version cannot read compares as written, and so differs
        return data


def _why_stale(manifest: dict, config: Medr1Config) -> str | None:
    """Why a prepared set no longer matches `config`: its config or one of its input files changed."""
    def inputs(as_dict: dict) -> dict:
        model = as_dict["model"]
        return {"data": _as_current_schema(as_dict["data"]), "eval": as_dict["eval"]["data"],
                "tokenizer": [model["name_or_path"], model["revision"], model["chat_template"]]}

    if inputs(manifest["config"]) != inputs(config.model_dump(mode="json")):
        return "prepared with a different data config"
    recorded = [*(f for s in manifest["sources"].values() for f in s["inputs"]),
                *(f for e in manifest["evaluation_sets"].values() for f in e.get("inputs", []))]
    for entry in recorded:
        path = Path(entry["path"]) if "path" in entry else None
        if path is not None and (not path.is_file() or sha256_file(path) != entry["sha256"]):
            return f"{path} changed since"
    return None


# ----------------------------------------------------------------------------- model
def load_model(config: Medr1Config, *, images: bool | None = None):
    """(model, tokenizer or VLM processor, peft_config) as the model section asks.

    `images`: whether the training data has images (default: the data is Med-R1 VQA). A multimodal
    checkpoint trained on text (Gemma-3 on MedQA) keeps its vision modules frozen and without LoRA:
    they would get no gradients, which DDP with gradient checkpointing refuses as unused parameters.
    """
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

    section = config.model
    path = revision_folder(resolve_model_path(section.name_or_path), section.revision)
    reference = inspect_model(path, section.revision)  # a Hub id as much as a folder
    images = config.data.is_vqa if images is None else images
    # Always passed to TRL: left to itself, TRL would call AutoProcessor, which needs torchvision.
    tokenizer = load_processing_class(section, path)
    extra: dict[str, Any] = {}
    if section.attn_implementation:
        extra["attn_implementation"] = section.attn_implementation
    if section.lora.load_in_4bit:
        extra["quantization_config"] = quantization_config(config)
    loader = AutoModelForImageTextToText if reference.vision else AutoModelForCausalLM
    model = loader.from_pretrained(
        path, revision=section.revision, trust_remote_code=section.trust_remote_code,
        dtype=torch_dtype(section.dtype), **extra,
    )
    text_only_vlm = reference.vision and not images
    if text_only_vlm:
        for name, parameter in model.named_parameters():
            if is_vision_module(name):
                parameter.requires_grad_(False)
    peft_config = None
    if section.lora.enabled or section.lora.load_in_4bit:
        from peft import LoraConfig

        targets = section.lora.target_modules
        peft_config = LoraConfig(
            r=section.lora.r, lora_alpha=section.lora.alpha, lora_dropout=section.lora.dropout,
            target_modules="all-linear" if targets == ["all-linear"] else targets, task_type="CAUSAL_LM",
            exclude_modules=VISION_MODULES_PATTERN if text_only_vlm else None,
        )
    return model, tokenizer, peft_config


def revision_folder(path: str, revision: str | None) -> str:
    """A Hub model at a revision other than main, as the local snapshot folder of that revision.

    TRL loads the reference model and colocated vLLM from the policy's `name_or_path`, and its vLLM
    call takes no revision: given the snapshot folder, every copy of the model is the same revision.
    """
    if not revision or Path(path).exists():
        return path
    from huggingface_hub import snapshot_download

    folder = snapshot_download(path, revision=revision, allow_patterns=[*MODEL_FILES, "*.safetensors"])
    if not any(Path(folder).glob("*.safetensors")):  # an older repo: PyTorch .bin weights only
        folder = snapshot_download(path, revision=revision, allow_patterns=[*MODEL_FILES, "*.bin"])
    return folder


def is_vision_module(name: str) -> bool:
    return re.search(VISION_MODULES_PATTERN, name) is not None


def quantization_config(config: Medr1Config):
    """Q-LoRA's 4-bit NF4 base. Under ZeRO-3 the packed weights are stored in the model's dtype (as peft's
    ZeRO-3 Q-LoRA recipe does): DeepSpeed shards parameters of one floating dtype, not bitsandbytes' uint8."""
    import torch
    from transformers import BitsAndBytesConfig

    compute = torch_dtype(config.model.dtype)
    compute = torch.bfloat16 if compute in ("auto", torch.float32) else compute
    zero3 = config.train.topology != "single" and config.train.strategy in ("zero3", "zero3-offload")
    storage = {"bnb_4bit_quant_storage": compute} if zero3 else {}
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute, **storage)


def reward_functions(config: Medr1Config, *, think_prefilled: bool):
    """Rewards with their weights; the think options and the answer form follow the template unless set
    explicitly (the `plain` template asks for "The answer is X.", so its format reward checks that)."""
    thinks = TEMPLATES[config.data.template].thinks or think_prefilled
    answer = TEMPLATE_ANSWER_FORMS.get(config.data.template)
    options = {name: dict(values) for name, values in config.train.reward_options.items()}
    for name in config.train.rewards:
        own = options.setdefault(name, {})
        names = option_names(name)
        for key, value in (("require_think", thinks), ("think", thinks), ("think_prefilled", think_prefilled),
                           ("answer", answer)):
            if key in names and value is not None:
                own.setdefault(key, value)
    options = {name: values for name, values in options.items() if values}
    length = config.train.grpo.get("max_completion_length", 512)
    return build_rewards(config.train.rewards, options, max_completion_length=length)


# ------------------------------------------------------------------------------ resume
def resume_from(config: Medr1Config) -> str | None:
    resume = config.train.resume
    existing = checkpoints(config.train.output_dir)
    if resume == "never":
        if existing:
            raise ConfigError(
                f"train.output_dir {config.train.output_dir} already holds {existing[-1].name}, and train.resume is "
                "'never'",
                hint="use train.resume: auto to continue that run, or another train.output_dir",
            )
        return None
    if resume == "auto":
        path = existing[-1] if existing else None
    else:
        path = Path(resume)
        if not (path / TRAINER_STATE).is_file():
            raise ConfigError(f"train.resume: {path} is not a checkpoint folder (no {TRAINER_STATE} in it)")
    if path is not None:
        _check_same_model(config, path)
    return str(path) if path else None


def _model_identity(model: ModelSection) -> tuple:
    """What a checkpoint's weights depend on: the base model and, for LoRA, the adapter's shape."""
    name = model.name_or_path
    if Path(name).exists():
        name = str(Path(name).resolve())
    lora = model.lora
    return name, (lora.r, lora.alpha, tuple(lora.target_modules)) if lora.enabled else None


def _check_same_model(config: Medr1Config, checkpoint: Path) -> None:
    """Refuse to resume a checkpoint trained from another model (e.g. a demo folder reused with --model):
    TRL would fail deep inside weight loading, or worse, load what fits."""
    recorded = checkpoint.parent / RESOLVED_CONFIG_NAME
    if not recorded.is_file():
        return
    before, now = resolve_config(recorded, builtin_entries=False).model, config.model
    if _model_identity(before) == _model_identity(now):
        return

    def described(model: ModelSection) -> str:
        return f"{model.name_or_path} ({f'LoRA r={model.lora.r}' if model.lora.enabled else 'all weights'})"

    raise ConfigError(
        f"train.resume: {checkpoint} was trained from {described(before)}, but this config trains "
        f"{described(now)}; its weights do not belong to this model",
        hint="use another train.output_dir (-o) for the new run, or the run's own model and LoRA settings to continue it",
    )


# ------------------------------------------------------------------------------- train
def run_training(config: Medr1Config, console: Console | None = None, *, may_prepare: bool = True) -> dict[str, Any]:
    """Train as the config says; returns a summary (steps, last reward means, paths)."""
    import torch
    from transformers import PrinterCallback
    from transformers.utils import logging as hf_logging
    from trl import GRPOTrainer

    from medr1_cli.train.progress import RichProgress

    console = console or Console(highlight=False)
    hf_logging.set_verbosity_warning()
    hf_logging.disable_progress_bar()
    args = build_grpo_config(grpo_kwargs(config, cuda_available=torch.cuda.is_available()))
    checkpoint = resume_from(config)
    dataset = prepared_dataset(config, console, may_prepare=may_prepare)
    record_lineage(config, write=args.should_save)

    model, tokenizer, peft_config = load_model(config, images="image" in dataset.column_names)
    prefilled = template_prefills_think(tokenizer) if tokenizer.chat_template else False
    rewards, weights = reward_functions(config, think_prefilled=prefilled)
    args.reward_weights = weights
    output = Path(config.train.output_dir)
    rollouts = rollouts_file(output, args.process_index, args.world_size)
    recorder = CompletionRecorder(rollouts)
    if args.should_save:
        config.write_beside(output)

    trainer = GRPOTrainer(
        model=model, reward_funcs=recorder.wrap(rewards), args=args, train_dataset=dataset,
        processing_class=tokenizer, peft_config=peft_config,
        callbacks=[_lineage_keeper(output), *([RichProgress(console)] if args.should_log else [])],
    )
    trainer.remove_callback(PrinterCallback)  # it prints raw log dicts; RichProgress shows them
    if checkpoint:
        console.print(f"resuming from {checkpoint}")
    trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model(str(output))
    if args.should_save:
        complete_processor_files(output)  # loadable with AutoProcessor where torchvision is installed
    if args.should_save:  # the whole log history of the run, for analysis, beside the final model
        trainer.state.save_to_json(str(output / TRAINER_STATE))
    summary = _summary(trainer, output, rollouts, prefilled)
    if args.should_log:
        _print_summary(console, summary)
    return summary


def _summary(trainer, output: Path, rollouts: Path, prefilled: bool) -> dict[str, Any]:
    series: dict[str, list[float]] = {}
    for entry in trainer.state.log_history:
        for key, value in entry.items():
            if key == "reward" or (key.startswith("rewards/") and key.endswith("/mean")):
                series.setdefault(key, []).append(value)
    zero = [e["frac_reward_zero_std"] for e in trainer.state.log_history if "frac_reward_zero_std" in e]
    return {
        "steps": trainer.state.global_step,
        "zero_variance": {"first": zero[0], "last": zero[-1], "mean": sum(zero) / len(zero)} if zero else None,
        "accuracy_outcomes": _accuracy_outcomes(output),
        "rewards": {key: values[-1] for key, values in series.items()},
        "reward_means": {key: sum(values) / len(values) for key, values in series.items()},
        "checkpoints": [str(p) for p in checkpoints(output)],
        "model": str(output),
        "rollouts": str(rollouts),
        "think_prefilled": prefilled,
    }


def _accuracy_outcomes(output: Path) -> dict[str, dict[str, float | None]] | None:
    """All-correct / all-wrong group shares at the first step, the last and over the run, from every
    rank's rollouts (None without an accuracy reward)."""
    rows = [row for files in rollout_logs(output) for row in read_completions(*files)[0]]
    if not rows:
        return None
    steps = sorted({row.step for row in rows})
    shares = {"first": accuracy_outcomes([r for r in rows if r.step == steps[0]]),
              "last": accuracy_outcomes([r for r in rows if r.step == steps[-1]]), "run": accuracy_outcomes(rows)}
    return shares if shares["run"]["all_correct"] is not None else None


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"trained {summary['steps']} steps")
    table.add_column("reward")
    table.add_column("mean over the run", justify="right")
    table.add_column("last step", justify="right")
    for name, value in summary["rewards"].items():
        label = name.removeprefix("rewards/").removesuffix("/mean")
        table.add_row(label, f"{summary['reward_means'][name]:.3f}", f"{value:.3f}")
    console.print(table)
    if zero := summary["zero_variance"]:
        console.print(f"groups with zero reward variance (GRPO learns nothing from them): {100 * zero['first']:.0f} % "
                      f"at the first logged step, {100 * zero['last']:.0f} % at the last, {100 * zero['mean']:.0f} % "
                      "over the run")
    if outcomes := summary.get("accuracy_outcomes"):
        def said(key: str) -> str:
            return ", ".join(f"{100 * outcomes[when][key]:.0f} % {label}" for when, label in
                             (("first", "at the first step"), ("last", "at the last"), ("run", "over the run"))
                             if outcomes[when][key] is not None)
        console.print(f"groups all correct (too easy): {said('all_correct')}; all wrong (too hard): {said('all_wrong')}")
    console.print(f"model: {summary['model']}   rollouts: {summary['rollouts']}")
    if summary["checkpoints"]:
        console.print(f"checkpoints: {', '.join(Path(p).name for p in summary['checkpoints'])}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="medr1's GRPO training script (started by `medr1 train`).")
    parser.add_argument("--config", required=True, help="the resolved config the launcher wrote")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key, e.g. the vLLM node's address in a Slurm job")
    args = parser.parse_args(argv)
    try:
        run_training(resolve_config(args.config, args.set, builtin_entries=False), may_prepare=False)
        _leave_process_group(wait_for_the_others=True)
    except Medr1Error as err:
        print_error(err)
        _leave_process_group(wait_for_the_others=False)
        sys.exit(err.exit_code)


def _leave_process_group(*, wait_for_the_others: bool) -> None:
    """Tear the torch.distributed group down before the interpreter exits.

    A rank that exits with its gloo group alive can abort in the group's thread destructors ("terminate called
    without an active exception") while rank 0 is still saving; the barrier keeps every rank in until rank 0 is done.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    if wait_for_the_others:
        dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
