"""Models medr1 can use without the Hub: built-in names resolve to folders built once per machine.

Nothing heavy is imported here; the builders import torch/transformers when they are called.
"""

from __future__ import annotations

import os
from pathlib import Path

from medr1_cli.errors import ConfigError
from medr1_cli.models.names import BUILTIN_MODELS, BUILTIN_PREFIX, SMOLLM2, TINY, TINY_VL


def planned_model_path(name_or_path: str) -> str:
    """Where `name_or_path` will be loaded from, without building a built-in model to say so."""
    if name_or_path == SMOLLM2:
        from medr1_cli.models.smollm2 import smollm2_folder

        return str(smollm2_folder())
    if name_or_path == TINY:
        from medr1_cli.models.tiny import tiny_model_folder

        return str(tiny_model_folder())
    if name_or_path == TINY_VL:
        from medr1_cli.models.tiny_vl import tiny_vl_model_folder

        return str(tiny_vl_model_folder())
    return name_or_path


_FOLDER_OR_HUB_ID = "give the folder of a Hugging Face model or LoRA adapter, or a Hub id owner/name"


def cached_hub_config(repo: str, revision: str | None) -> str | None:
    """The cached config.json (a model) or adapter_config.json (a LoRA adapter) of a Hub repo at
    `revision`, as a path in the local Hugging Face cache; None when the cache does not hold it."""
    from huggingface_hub import try_to_load_from_cache

    for file in ("config.json", "adapter_config.json"):
        found = try_to_load_from_cache(repo, file, revision=revision)
        if isinstance(found, str):
            return found
    return None


def describe_model_reference(name_or_path: str, *, here: bool = True, revision: str | None = None) -> str:
    """Where `model.name_or_path` would load from, checked without loading anything: a built-in
    name, a model folder, or a Hub id (offline, only one already in the local Hugging Face cache —
    checked only when the model is to load `here`, not for a run planned for another machine)."""
    if name_or_path.startswith(BUILTIN_PREFIX):
        return f"built-in model ({planned_model_path(name_or_path)})"
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        resolve_model_path(name_or_path)  # a folder without config.json / adapter_config.json is refused
        return f"local folder {path}"
    if path.exists() or name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1:
        raise ConfigError(f"model.name_or_path: {name_or_path} is not a model folder (no such folder)",
                          hint=_FOLDER_OR_HUB_ID)
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name_or_path)
    except HFValidationError:
        raise ConfigError(f"model.name_or_path: {name_or_path} is neither a model folder (no such folder) nor a "
                          "Hub id (owner/name)", hint=_FOLDER_OR_HUB_ID) from None
    if here and os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        if cached_hub_config(name_or_path, revision) is None:
            raise ConfigError(
                f"model.name_or_path: {name_or_path} is not a local folder, and HF_HUB_OFFLINE is set while the "
                "local Hugging Face cache does not hold it",
                hint=f"download it where there is network (`huggingface-cli download {name_or_path}`) and copy the "
                "cache, or give the model's local folder",
            )
        return f"Hub id {name_or_path} (from the local Hugging Face cache; HF_HUB_OFFLINE is set)"
    return f"Hub id {name_or_path} (downloaded on first use unless cached)"


def resolve_model_path(name_or_path: str) -> str:
    """A loadable location for `model.name_or_path`: built-in names become local folders (built on
    first use); anything else is returned unchanged (a local folder, or a Hub id for transformers)."""
    if name_or_path == SMOLLM2:
        from medr1_cli.models.smollm2 import smollm2_path

        return str(smollm2_path())
    if name_or_path == TINY:
        from medr1_cli.models.tiny import tiny_model_path

        return str(tiny_model_path())
    if name_or_path == TINY_VL:
        from medr1_cli.models.tiny_vl import tiny_vl_model_path

        return str(tiny_vl_model_path())
    if name_or_path.startswith(BUILTIN_PREFIX):
        raise ConfigError(f"unknown built-in model '{name_or_path}'; built-in models: {', '.join(BUILTIN_MODELS)}")
    path = Path(name_or_path).expanduser()
    if path.exists() and not any((path / name).is_file() for name in ("config.json", "adapter_config.json")):
        raise ConfigError(
            f"{path} exists but holds neither config.json nor adapter_config.json; is it a Hugging Face model "
            "(or LoRA adapter) folder?"
        )
    return str(path) if path.exists() else name_or_path
