"""Vision-language models (Med-R1): telling one from a text model, and loading its processor.

`Qwen2VLProcessor` in transformers 5.x needs torchvision even for images (its constructor checks the
video processor class, which exists only with torchvision; huggingface/transformers#43986). Where
torchvision is missing — CPU machines, since PyPI's torchvision wheels are CUDA builds — an
image-only subclass stands in for it; with torchvision, `AutoProcessor` loads the stock processor.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from medr1_cli.errors import MissingExtraError


def is_vision_model(path: str | Path) -> bool:
    """A local model folder (or LoRA adapter on one) whose config has a vision tower (Qwen2-VL and kin)."""
    folder = Path(path)
    adapter = folder / "adapter_config.json"
    if not (folder / "config.json").is_file() and adapter.is_file():
        base = json.loads(adapter.read_text(encoding="utf-8")).get("base_model_name_or_path")
        return bool(base) and is_vision_model(base)
    config = folder / "config.json"
    return config.is_file() and "vision_config" in json.loads(config.read_text(encoding="utf-8"))


def processor_size(min_pixels: int | None, max_pixels: int | None) -> dict:
    """The image processor's `size` for a pixel-count range (transformers 5 names)."""
    size = {}
    if min_pixels:
        size["shortest_edge"] = min_pixels
    if max_pixels:
        size["longest_edge"] = max_pixels
    return {"size": size} if size else {}


def load_vl_processor(folder: str | Path, **kwargs):
    """The Qwen2-VL processor saved in `folder`, built image-only when torchvision is missing.

    `kwargs` go to the tokenizer and image processor as with `AutoProcessor.from_pretrained`, e.g.
    `padding_side="left"` or `min_pixels=.../max_pixels=...` to override the saved image size range.
    """
    from transformers import AutoTokenizer, Qwen2VLImageProcessorPil
    from transformers.utils import is_torchvision_available

    if is_torchvision_available():
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(str(folder), **kwargs)
    model_type = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8")).get("model_type")
    if model_type != "qwen2_vl":
        raise MissingExtraError(
            "torchvision", f"the {model_type} processor", "torchvision",
            install="pip install torchvision (the build matching your torch; only Qwen2-VL works without it)",
        )
    image_kwargs = {key: kwargs.pop(key) for key in ("min_pixels", "max_pixels", "size") if key in kwargs}
    tokenizer = AutoTokenizer.from_pretrained(str(folder), **kwargs)
    image_processor = Qwen2VLImageProcessorPil.from_pretrained(str(folder), **image_kwargs)
    template_path = Path(folder) / "chat_template.jinja"
    chat_template = template_path.read_text() if template_path.is_file() else tokenizer.chat_template
    return image_only_processor_class()(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=chat_template
    )


@functools.cache
def image_only_processor_class():
    """`Qwen2VLProcessor` without a video processor, constructible without torchvision.

    `ProcessorMixin` takes its sub-processors from the `__init__` signature, so dropping the
    `video_processor` parameter drops the torchvision-only class check; everything images and
    text need (placeholder expansion, `mm_token_type_ids`, chat templates) is inherited.
    """
    from transformers import Qwen2VLProcessor

    class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

    return ImageOnlyQwen2VLProcessor




def complete_processor_files(folder: str | Path) -> None:
    """Make saved processor files those of a plain Qwen2-VL checkpoint.

    The image-only processor saves itself under its own class name and without a video processor;
    name the stock class and describe the video processor it would have (the image settings), so that
    where torchvision is installed `AutoProcessor.from_pretrained` builds a full `Qwen2VLProcessor`.
    """
    path = Path(folder) / "processor_config.json"
    if not path.is_file():
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("processor_class") != "ImageOnlyQwen2VLProcessor":
        return
    image = config["image_processor"]
    shared = ("do_convert_rgb", "do_normalize", "do_rescale", "do_resize", "image_mean", "image_std",
              "rescale_factor", "resample", "patch_size", "temporal_patch_size", "merge_size", "size")
    config["processor_class"] = "Qwen2VLProcessor"
    config["video_processor"] = {"video_processor_type": "Qwen2VLVideoProcessor",
                                 **{key: image[key] for key in shared if key in image}}
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
