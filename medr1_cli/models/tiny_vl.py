"""A tiny, randomly initialised Qwen2-VL model built entirely offline.

The vision-language counterpart of `medr1_cli.models.tiny`, for Med-R1-style GRPO on medical VQA:
a byte-level BPE tokenizer trained on generated VQA-shaped text (with the Qwen2-VL special tokens),
a ChatML chat template that renders `{"type": "image"}` parts as
`<|vision_start|><|image_pad|><|vision_end|>`, a `Qwen2VLProcessor` whose image processor keeps
images at most 64x64 pixels (a 56x56 image becomes 4x4 patches of 14 px, merged 2x2 into
4 `<|image_pad|>` tokens), and a `Qwen2VLForConditionalGeneration` with a 2-layer, hidden-64 text
model and a 1-block, 32-wide vision tower. It builds in a few seconds and weighs well under 1 MB.
Its outputs are noise: it exercises code paths, never measures quality.

`Qwen2VLProcessor` in transformers 5.x needs torchvision even for images: its constructor checks
the video processor's class, which only exists when torchvision is importable (huggingface/transformers
#43986), and `AutoProcessor.from_pretrained` fails the same way. `medr1_cli.models.vision.load_vl_processor` therefore builds
an image-only `Qwen2VLProcessor` when torchvision is missing. The folder itself is a normal Qwen2-VL
folder (tokenizer, chat template, image and video processor configs), so where torchvision is
installed `AutoProcessor.from_pretrained(folder)` loads it like any Qwen2-VL checkpoint.
"""

from __future__ import annotations

import random
from pathlib import Path

from medr1_cli.fsutil import atomic_directory, cache_dir
from medr1_cli.models.tiny import train_tokenizer
from medr1_cli.models.vision import complete_processor_files, image_only_processor_class

# Bump when the recipe below changes, so cached copies built by an older version are not reused.
TINY_VL_MODEL_VERSION = 1

# Order fixes the ids: the trained BPE vocabulary gives special tokens the first ids, in this order.
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# Image geometry. The processor resizes each image so both sides are multiples of
# PATCH_SIZE * MERGE_SIZE (28 px) and the area lies within [MIN_PIXELS, MAX_PIXELS].
PATCH_SIZE = 14
MERGE_SIZE = 2
TEMPORAL_PATCH_SIZE = 2
MIN_PIXELS = 28 * 28
MAX_PIXELS = 64 * 64

# Qwen2-VL-style ChatML without the default system prompt. Content may be a string or a list of
# parts; image/video parts become the vision placeholders the processor expands, text parts are
# copied verbatim. Parts are told apart by `type` alone: rows of a `datasets.Dataset` carry every
# key any part has (`{"type": "text", "text": "...", "image": None}`), so `'image' in part` would
# misfire.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['content'] is string %}"
    "{{- message['content'] }}"
    "{%- else %}"
    "{%- for part in message['content'] %}"
    "{%- if part['type'] == 'image' %}"
    "{{- '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{%- elif part['type'] == 'video' %}"
    "{{- '<|vision_start|><|video_pad|><|vision_end|>' }}"
    "{%- elif part['type'] == 'text' %}"
    "{{- part['text'] }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

_WORDS = (
    "image shows chest radiograph x ray ct mri scan ultrasound fundus dermoscopy histopathology slide "
    "left right upper lower lobe opacity consolidation effusion nodule mass lesion fracture normal "
    "abnormal which of the following is the most likely diagnosis finding modality organ plane "
    "axial coronal sagittal brain lung heart liver kidney bone skin eye tumor pneumonia edema"
).split()


def _corpus(rng: random.Random, lines: int = 2000) -> list[str]:
    """Text shaped like VQA prompts and completions: questions, lettered options, reasoning tags."""
    corpus = []
    for _ in range(lines):
        question = " ".join(rng.choices(_WORDS, k=rng.randint(6, 16)))
        options = "\n".join(f"{letter}. {' '.join(rng.choices(_WORDS, k=2))}" for letter in "ABCD")
        answer = rng.choice("ABCD")
        corpus.append(f"{question}?\n{options}")
        corpus.append(
            f"<think>\n{' '.join(rng.choices(_WORDS, k=10))}.\n</think>\n<answer>{answer}</answer> "
            f"The answer is {answer}. Answer: ({answer})"
        )
    return corpus


def build_tiny_vl_model(output_dir: str | Path, *, seed: int = 0) -> Path:
    """Build the tiny vision-language model into `output_dir` (which must not exist) and return it."""
    import torch
    from transformers import (
        GenerationConfig,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessorPil,
    )

    tokenizer = train_tokenizer(_corpus(random.Random(seed)), 512, SPECIAL_TOKENS, CHAT_TEMPLATE)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}

    image_processor = Qwen2VLImageProcessorPil(
        min_pixels=MIN_PIXELS,
        max_pixels=MAX_PIXELS,
        patch_size=PATCH_SIZE,
        temporal_patch_size=TEMPORAL_PATCH_SIZE,
        merge_size=MERGE_SIZE,
    )
    processor = image_only_processor_class()(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=CHAT_TEMPLATE
    )

    torch.manual_seed(seed)
    hidden = 64
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            # head_dim 16 -> 8 rotary frequencies, split over (temporal, height, width) positions.
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
            "tie_word_embeddings": True,
            "bos_token_id": None,
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": 1,
            "embed_dim": 32,
            "hidden_size": hidden,  # the patch merger projects into the text model's width
            "mlp_ratio": 2,
            "num_heads": 2,
            "in_channels": 3,
            "patch_size": PATCH_SIZE,
            "spatial_merge_size": MERGE_SIZE,
            "temporal_patch_size": TEMPORAL_PATCH_SIZE,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    model = Qwen2VLForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]], pad_token_id=ids["<|endoftext|>"]
    )

    with atomic_directory(output_dir) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        complete_processor_files(tmp)
    return Path(output_dir)


def tiny_vl_model_folder() -> Path:
    return cache_dir() / "models" / f"tiny-qwen2-vl-v{TINY_VL_MODEL_VERSION}"


def tiny_vl_model_path() -> Path:
    """The cached tiny vision-language model, built on first use."""
    path = tiny_vl_model_folder()
    if not (path / "config.json").is_file():
        build_tiny_vl_model(path)
    return path
