"""Vision-language models (Med-R1): loading their processor (models.reference tells one from a text model).

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
from medr1_cli.models.reference import inspect_model, model_file


def processor_size(min_pixels: int | None, max_pixels: int | None) -> dict:
    """The image size range as the Qwen2-VL image processor's own arguments.

    Not as `size=`: a partial `size` replaces the processor's whole saved size (the first image then
    fails for want of the other edge), and a Hub-format config's `min_pixels`/`max_pixels` would
    overwrite it; the processor applies these two on top of whatever it has saved.
    """
    return {key: value for key, value in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if value}


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
    revision = kwargs.get("revision")
    model_type = inspect_model(str(folder), revision).model_type
    if model_type != "qwen2_vl":
        raise MissingExtraError(
            "torchvision", f"the {model_type} processor", "torchvision",
            install="pip install torchvision (the build matching your torch; only Qwen2-VL works without it)",
        )
    image_kwargs = {key: kwargs.pop(key) for key in ("min_pixels", "max_pixels", "size") if key in kwargs}
    tokenizer = AutoTokenizer.from_pretrained(str(folder), **kwargs)
    image_processor = Qwen2VLImageProcessorPil.from_pretrained(str(folder), revision=revision, **image_kwargs)
    template_path = model_file(str(folder), "chat_template.jinja", revision)
    chat_template = template_path.read_text(encoding="utf-8") if template_path else tokenizer.chat_template
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
