"""Models medr1 can use without the Hub: built-in names resolve to folders built once per machine.

Nothing heavy is imported here; the builders import torch/transformers when they are called.
"""

from __future__ import annotations

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
