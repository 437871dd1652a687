"""Loading what a run saved as one plain model: base + LoRA adapter, full weights, or DeepSpeed ZeRO
shards consolidated with DeepSpeed's own `zero_to_fp32` — always in float32, so merging and
verification start from the most exact weights there are."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from medr1_cli.errors import DataError, MissingExtraError
from medr1_cli.export.source import Source, zero_tag
from medr1_cli.models.reference import is_vision_model


def refuse_quantized_base(base: str, quantization) -> None:
    """Merging LoRA deltas into 4-bit (NF4) weights would round them away and save a quantised model."""
    settings = quantization if isinstance(quantization, dict) else (quantization.to_dict() if quantization else {})
    if settings.get("load_in_4bit") or settings.get("bnb_4bit_quant_type") or settings.get("bits") == 4:
        raise DataError(
            f"the base model {base} is stored in 4-bit ({settings.get('quant_method', 'quantised')}); merging a "
            "LoRA adapter into it would round the adapter's update away",
            hint="reload the unquantised base in bf16 and merge into that: --base-model <the original bf16/fp32 "
            "checkpoint>, or keep the adapter with --adapter-only",
        )


def load_source_model(source: Source, *, revision: str | None = None, trust_remote_code: bool = False):
    """The model as trained, in float32: a PeftModel (adapter not merged) for a LoRA run."""
    import torch
    from transformers import AutoConfig

    common = {"revision": revision, "trust_remote_code": trust_remote_code, "dtype": torch.float32}
    if source.kind == "lora":
        from peft import PeftModel

        local = Path(source.base_model) / "config.json"
        if local.is_file():  # checked before loading: a 4-bit base would not even load on CPU
            refuse_quantized_base(source.base_model, json.loads(local.read_text(encoding="utf-8")).get("quantization_config"))
        base = _from_pretrained(model_class(source.base_model), source.base_model, **common)
        refuse_quantized_base(source.base_model, getattr(base.config, "quantization_config", None))
        with warnings.catch_warnings():  # peft still calls a transformers property deprecated for v6
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            return PeftModel.from_pretrained(base, str(source.path))
    if source.kind == "full":
        return _from_pretrained(model_class(source.path), str(source.path), **common)
    try:
        from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint
    except ImportError:
        raise MissingExtraError("deepspeed", "consolidating a ZeRO checkpoint", "deepspeed") from None
    config = AutoConfig.from_pretrained(str(source.path), trust_remote_code=trust_remote_code)
    model = model_class(source.path).from_config(config, dtype=torch.float32, trust_remote_code=trust_remote_code)
    state = get_fp32_state_dict_from_zero_checkpoint(str(source.path), tag=zero_tag(source.path))
    result = model.load_state_dict(state, strict=False)
    model.tie_weights()
    tied = {name for name, _ in model.named_parameters(remove_duplicate=False)} - {
        name for name, _ in model.named_parameters()}
    missing = sorted(set(result.missing_keys) - tied)
    if missing or result.unexpected_keys:
        raise DataError(
            f"the ZeRO checkpoint in {source.path} does not fit its config.json: "
            f"missing {missing[:5]}{'…' if len(missing) > 5 else ''}, unexpected {result.unexpected_keys[:5]}",
        )
    return model


def model_class(folder: str | Path):
    """The Auto class for a model folder: image-text-to-text for a vision-language model."""
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

    return AutoModelForImageTextToText if is_vision_model(folder) else AutoModelForCausalLM


def _from_pretrained(cls, where: str, **kwargs):
    try:
        return cls.from_pretrained(where, **kwargs)
    except OSError as err:
        raise DataError(f"cannot load the model {where}: {err}",
                        hint="a Hub id needs network access; point --base-model at a local folder") from None
