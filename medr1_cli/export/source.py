"""What an export starts from: a run folder's final save or one of its checkpoints, classified as a
LoRA adapter, full weights, or a DeepSpeed ZeRO sharded checkpoint, with the base model it needs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from medr1_cli.config import Medr1Config
from medr1_cli.errors import ConfigError, DataError
from medr1_cli.layout import RESOLVED_CONFIG_NAME, TRAINER_STATE, checkpoint_step, checkpoints
from medr1_cli.models import resolve_model_path
from medr1_cli.resolution import resolve_config

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")


@dataclass(frozen=True)
class Source:
    kind: str  # "lora", "full" or "zero" (DeepSpeed ZeRO shards, consolidated to fp32)
    path: Path  # the folder holding the weights (the run folder or a checkpoint)
    run: Path  # the run folder: its medr1_config.yaml, rollouts and evaluation live there
    run_config: Medr1Config | None  # the config the run trained with, when medr1 trained it
    base_model: str | None  # where a LoRA adapter's base model loads from
    base_name: str | None  # the base model as the run named it (builtin:..., a Hub id, a folder)
    step: int | None

    @property
    def label(self) -> str:
        what = {"lora": "LoRA adapter", "full": "full weights", "zero": "DeepSpeed ZeRO checkpoint"}[self.kind]
        return f"{what} at {self.path}" + (f" (step {self.step})" if self.step is not None else "")


def zero_tag(folder: Path) -> str | None:
    """The DeepSpeed tag (global_stepN) of a ZeRO checkpoint folder, or None."""
    latest = folder / "latest"
    if latest.is_file():
        tag = latest.read_text(encoding="utf-8").strip()
        if (folder / tag).is_dir():
            return tag
    tags = {p.parent.name for p in folder.glob("global_step*/*model_states.pt")}
    return max(tags, key=lambda tag: int(tag.removeprefix("global_step") or 0), default=None)


def holds_model(folder: Path) -> bool:
    return any((folder / name).is_file() for name in (*WEIGHT_FILES, *ADAPTER_WEIGHTS)) or zero_tag(folder) is not None


def locate(target: str | None, checkpoint: str | None, config: Medr1Config, base_model: str | None = None) -> Source:
    """The folder to export: `checkpoint` (a path, or a checkpoint name inside the run), else the run's
    final save (what training writes when it finishes), else its newest checkpoint."""
    run = Path(target or config.train.output_dir).expanduser()
    if run.is_dir() and checkpoint_step(run) is not None and not checkpoint:
        run, checkpoint = run.parent, run.name  # a checkpoint was named directly
    if not run.is_dir():
        raise DataError(
            f"{run} is not a folder",
            hint="give a run folder (train.output_dir of a finished or checkpointed run) or one of its checkpoints",
        )
    newest = checkpoints(run)[-1] if checkpoints(run) else None
    if checkpoint:
        # A name is looked up in the run; only something that looks like a path is taken as one.
        folder = run / checkpoint if "/" not in checkpoint else Path(checkpoint).expanduser()
        if not folder.is_dir():
            names = ", ".join(p.name for p in checkpoints(run)) or "none"
            raise DataError(f"checkpoint '{checkpoint}' not found in {run}; its complete checkpoints: {names}")
        if checkpoint_step(folder) is not None and folder.parent.resolve() != run.resolve():
            run = folder.parent  # a checkpoint of another run: its own run folder has its config
    elif holds_model(run) and (newest is None or (_final_step(run) or 0) >= checkpoint_step(newest)):
        folder = run  # the final save, unless a resumed run checkpointed past it and then stopped
    elif newest is not None:
        folder = newest
    else:
        raise DataError(
            f"{run} holds no model: no adapter ({', '.join(ADAPTER_WEIGHTS)}), no weights ({', '.join(WEIGHT_FILES)}), "
            "no DeepSpeed global_step*/ shards and no complete checkpoint-N folder",
            hint="is training still running, or did it stop before its first save? see train.grpo.save_steps",
        )
    return classify(folder, run, base_model)


def classify(folder: Path, run: Path, base_model: str | None = None) -> Source:
    run_config = _run_config(run, folder)
    step = checkpoint_step(folder)
    if step is None:
        step = _final_step(folder)
    base_name = run_config.model.name_or_path if run_config else None
    if (folder / "adapter_config.json").is_file():
        if not any((folder / name).is_file() for name in ADAPTER_WEIGHTS):
            raise DataError(f"{folder} has adapter_config.json but no adapter weights ({', '.join(ADAPTER_WEIGHTS)})")
        adapter = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
        return Source("lora", folder, run, run_config, _base_path(base_model or base_name, adapter, folder), base_name, step)
    if zero_tag(folder) is not None:
        # The ZeRO shards hold the fp32 master weights; a 16-bit model file beside them is a rounded copy.
        if not (folder / "config.json").is_file():
            raise DataError(f"{folder} holds DeepSpeed shards but no config.json to build the model from")
        return Source("zero", folder, run, run_config, None, base_name, step)
    if any((folder / name).is_file() for name in WEIGHT_FILES):
        if not (folder / "config.json").is_file():
            raise DataError(f"{folder} holds weights but no config.json")
        return Source("full", folder, run, run_config, None, base_name, step)
    raise DataError(
        f"{folder} holds neither a LoRA adapter ({', '.join(ADAPTER_WEIGHTS)}) nor model weights "
        f"({', '.join(WEIGHT_FILES)}) nor DeepSpeed global_step*/ shards",
        hint="an interrupted save leaves such a folder; export an earlier checkpoint with --checkpoint",
    )


def _run_config(run: Path, folder: Path) -> Medr1Config | None:
    for candidate in (run / RESOLVED_CONFIG_NAME, folder / RESOLVED_CONFIG_NAME):
        if candidate.is_file():
            return resolve_config(str(candidate))
    return None


def _final_step(folder: Path) -> int | None:
    state = folder / TRAINER_STATE
    return json.loads(state.read_text(encoding="utf-8")).get("global_step") if state.is_file() else None


def _base_path(base_name: str | None, adapter: dict, folder: Path) -> str:
    """The adapter's base model: as the run's config named it (a built-in name rebuilds anywhere),
    else as the adapter recorded it."""
    recorded = adapter.get("base_model_name_or_path")
    for candidate in (base_name, recorded):
        if not candidate:
            continue
        try:
            path = resolve_model_path(candidate)
        except ConfigError:
            continue
        if Path(path).is_dir() or "/" in candidate and not Path(candidate).is_absolute():
            return path  # a local folder, or a Hub id transformers can fetch
    raise DataError(
        f"the base model of the adapter in {folder} cannot be found: the run's config names "
        f"{base_name or 'nothing'}, adapter_config.json names {recorded or 'nothing'}",
        hint="name it with --base-model PATH_OR_HUB_ID",
    )
