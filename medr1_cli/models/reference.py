"""What a model reference is, read from its config files wherever they live: a local folder, a Hub id
(at its revision, from the local Hugging Face cache or the Hub), or a LoRA adapter on either.

Every decision that depends on the model's kind — the Auto class that loads it, whether it reads
images, whether a vLLM engine can load it directly, how many attention heads tensor parallelism must
divide — is taken from these files, never from the presence of a file on the local disk: the
recipes' models are Hub ids, and a run folder trained with LoRA holds only an adapter.
Nothing heavy is imported: huggingface_hub reads (and caches) the files.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medr1_cli.errors import ConfigError

# Where a multimodal checkpoint keeps what turns pixels into tokens (Qwen2-VL: visual; Gemma-3, LLaVA:
# vision_tower and multi_modal_projector; others: vision_model, mm_projector). Text-only training
# gives these modules neither adapters nor gradients.
VISION_MODULES = ("visual", "vision_tower", "vision_model", "multi_modal_projector", "mm_projector")


@dataclass(frozen=True)
class ModelReference:
    name_or_path: str
    config: dict[str, Any]  # the model's config.json; for an adapter, its base model's
    adapter: dict[str, Any] | None = None  # adapter_config.json when the reference is a LoRA adapter

    @property
    def model_type(self) -> str:
        return str(self.config.get("model_type", ""))

    @property
    def vision(self) -> bool:
        """Has a vision tower: reads images, loads as image-text-to-text, uses a processor."""
        return "vision_config" in self.config

    @property
    def base(self) -> str | None:
        """The base model a LoRA adapter was trained on."""
        return self.adapter.get("base_model_name_or_path") if self.adapter else None

    @property
    def text_config(self) -> dict[str, Any]:
        """The language model's settings (nested under text_config / llm_config in multimodal configs)."""
        for key in ("text_config", "llm_config", "language_config"):
            if isinstance(self.config.get(key), dict):
                return {**self.config, **self.config[key]}
        return self.config

    @property
    def sharded_sizes(self) -> ShardedSizes | None:
        """What tensor parallelism splits over the GPUs of a replica, when the config says."""
        text = self.text_config
        heads = text.get("num_attention_heads") or text.get("n_head")
        if not isinstance(heads, int):
            return None
        kv = text.get("num_key_value_heads") or text.get("multi_query_group_num") or heads
        intermediate = text.get("intermediate_size")
        return ShardedSizes(heads, kv if isinstance(kv, int) else heads,
                            intermediate if isinstance(intermediate, int) else None)


@dataclass(frozen=True)
class ShardedSizes:
    attention_heads: int
    kv_heads: int
    intermediate_size: int | None  # the MLP's hidden width

    def __str__(self) -> str:
        mlp = f", MLP width {self.intermediate_size}" if self.intermediate_size else ""
        return f"{self.attention_heads} attention heads, {self.kv_heads} key/value heads{mlp}"


def model_file(name_or_path: str, filename: str, revision: str | None = None) -> Path | None:
    """One file of a model folder or Hub repo (at `revision`), or None when the model has no such file.

    A Hub file comes from the local Hugging Face cache or is downloaded into it; offline, a file the
    cache does not hold counts as absent.
    """
    folder = Path(name_or_path).expanduser()
    if folder.is_dir():
        return folder / filename if (folder / filename).is_file() else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError, GatedRepoError, HFValidationError, LocalEntryNotFoundError, RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        return Path(hf_hub_download(name_or_path, filename, revision=revision))
    except (EntryNotFoundError, LocalEntryNotFoundError, HFValidationError):  # HFValidationError: a path that is gone
        return None
    except (RepositoryNotFoundError, RevisionNotFoundError, GatedRepoError) as err:
        raise ConfigError(
            f"model.name_or_path: cannot read {filename} of the Hub model {name_or_path} (revision "
            f"{revision or 'main'}): {type(err).__name__}",
            hint="check the id and model.revision; a gated model needs `huggingface-cli login` and accepted terms",
        ) from None


def inspect_model(name_or_path: str, revision: str | None = None) -> ModelReference:
    """The model behind a reference; a ConfigError when it has neither config.json nor adapter_config.json."""
    if Path(name_or_path).expanduser().is_dir():
        return _inspect(name_or_path, revision)
    return _inspect_hub(name_or_path, revision)  # Hub lookups are cached: each may ask the network


@functools.cache
def _inspect_hub(repo: str, revision: str | None) -> ModelReference:
    return _inspect(repo, revision)


def _inspect(name_or_path: str, revision: str | None) -> ModelReference:
    config = model_file(name_or_path, "config.json", revision)
    if config is not None:
        return ModelReference(name_or_path, _json(config))
    adapter_file = model_file(name_or_path, "adapter_config.json", revision)
    if adapter_file is None:
        raise ConfigError(
            f"{name_or_path} has neither config.json nor adapter_config.json"
            + ("" if Path(name_or_path).expanduser().is_dir() else " (not in the local Hugging Face cache, or no such "
               "files on the Hub)"),
            hint="give the folder of a Hugging Face model or LoRA adapter, or a Hub id owner/name",
        )
    adapter = _json(adapter_file)
    base = adapter.get("base_model_name_or_path")
    if not base:
        raise ConfigError(f"{adapter_file}: a LoRA adapter without base_model_name_or_path",
                          hint="give the base model with --base-model, or add the key")
    try:
        base_config = inspect_model(base, adapter.get("revision")).config
    except ConfigError:  # the base is elsewhere now (export takes --base-model); its kind is unknown here
        base_config = {}
    return ModelReference(name_or_path, base_config, adapter)


def _json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: not a readable JSON config ({err})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: a config must be a JSON object")
    return value


def is_vision_model(name_or_path: str, revision: str | None = None) -> bool:
    """Does the model (or an adapter's base) have a vision tower — Qwen2-VL, Qwen2.5-VL, Gemma-3 and kin?"""
    return inspect_model(name_or_path, revision).vision
