"""Loading a tokenizer the way every command needs it: the model's revision and remote-code
setting, with `model.chat_template` replacing the tokenizer's own template when given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medr1_cli.errors import ConfigError
from medr1_cli.models.reference import is_vision_model
from medr1_cli.models.vision import load_vl_processor, processor_size


def chat_template_text(section) -> str | None:
    """The contents of `model.chat_template`, or None when the tokenizer's own template is used."""
    if not section.chat_template:
        return None
    path = Path(section.chat_template)
    if not path.is_file():
        raise ConfigError(f"model.chat_template: file not found: {path}")
    return path.read_text(encoding="utf-8")


def load_tokenizer(section, path: str, **kwargs: Any):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        path, revision=section.revision, trust_remote_code=section.trust_remote_code, **kwargs
    )
    if (template := chat_template_text(section)) is not None:
        tokenizer.chat_template = template
    return tokenizer


def torch_dtype(name: str):
    import torch

    return {"auto": "auto", "bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def load_processing_class(section, path: str, **kwargs: Any):
    """What a model reads its inputs with: the tokenizer, or for a vision-language model its processor
    (image size range from model.min_pixels / max_pixels, chat-template override applied)."""
    if not is_vision_model(path, section.revision):
        return load_tokenizer(section, path, **kwargs)
    processor = load_vl_processor(path, revision=section.revision, trust_remote_code=section.trust_remote_code,
                                  **processor_size(section.min_pixels, section.max_pixels), **kwargs)
    if (template := chat_template_text(section)) is not None:
        processor.chat_template = template
    return processor


def template_prefills_think(tokenizer) -> bool:
    """Does the chat template write `<think>` itself after the generation prompt (QwQ, R1 distills)?"""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "?"}], tokenize=False, add_generation_prompt=True
    )
    return text.rstrip().endswith("<think>")
