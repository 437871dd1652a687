"""The tiny Qwen2-VL model: building, loading, image tokens, batched generation and a GRPO run."""

from __future__ import annotations

import json

import pytest

IMAGE_SIDE = 56  # 56x56 -> 4x4 patches of 14 px -> merged 2x2 -> 4 <|image_pad|> tokens
ROWS = 4


@pytest.fixture(scope="module")
def tiny_vl(tmp_path_factory):
    from medr1_cli.models.tiny_vl import build_tiny_vl_model

    return build_tiny_vl_model(tmp_path_factory.mktemp("tiny-vl") / "model")


def colour(row: int) -> tuple[int, int, int]:
    """A flat colour per dataset row, far enough apart to be told back from processed pixels."""
    return (40 + 50 * row, 200 - 40 * row, 90)


def row_of_colour(rgb) -> int:
    return min(range(ROWS), key=lambda row: sum(abs(a - b) for a, b in zip(colour(row), rgb)))


def row_image(row: int, size: tuple[int, int] = (IMAGE_SIDE, IMAGE_SIDE)):
    from PIL import Image

    return Image.new("RGB", size, colour(row))


def row_of_image(image) -> int:
    import numpy as np

    return row_of_colour(np.asarray(image.convert("RGB"), dtype=float).reshape(-1, 3).mean(axis=0).tolist())


def rows_of_pixel_values(processor, pixel_values, image_grid_thw) -> list[int]:
    """Undo the processor's normalisation to tell which row's image each patch group shows."""
    import torch

    image_processor = processor.image_processor
    mean = torch.tensor(image_processor.image_mean)
    std = torch.tensor(image_processor.image_std)
    rows = []
    for patches in torch.split(pixel_values, image_grid_thw.prod(-1).tolist()):
        # Each patch is flattened as (channel, temporal, height, width).
        per_channel = patches.reshape(len(patches), 3, -1).float().mean(dim=(0, 2))
        rows.append(row_of_colour(((per_channel * std + mean) * 255).tolist()))
    return rows


def question_prompt(row: int) -> list[dict]:
    """System + user turn with an image part, every content a list of parts (one Arrow type)."""
    return [
        {"role": "system", "content": [{"type": "text", "text": "Answer with a single letter."}]},
        {
            "role": "user",
            "content": [
                {"type": "image"},
                {"type": "text", "text": f"Q{row}: which finding is shown?\nA. effusion\nB. nodule\nC. normal"},
            ],
        },
    ]


def test_builder_is_deterministic(tiny_vl, tmp_path):
    from medr1_cli.models.tiny_vl import build_tiny_vl_model

    again = build_tiny_vl_model(tmp_path / "again")
    names = sorted(path.name for path in tiny_vl.iterdir())
    assert names == sorted(path.name for path in again.iterdir())
    for name in names:
        assert (tiny_vl / name).read_bytes() == (again / name).read_bytes(), name


def test_cached_model_path(tmp_path, monkeypatch):
    from medr1_cli.models.tiny_vl import tiny_vl_model_folder, tiny_vl_model_path

    monkeypatch.setenv("MEDR1_HOME", str(tmp_path))
    assert tiny_vl_model_folder().parent == tmp_path / "models"
    path = tiny_vl_model_path()
    assert path == tiny_vl_model_folder() and (path / "config.json").is_file()
    stamp = (path / "model.safetensors").stat().st_mtime_ns
    assert tiny_vl_model_path() == path
    assert (path / "model.safetensors").stat().st_mtime_ns == stamp  # reused, not rebuilt


def test_folder_loads_with_auto_classes(tiny_vl):
    from transformers import AutoConfig, AutoModelForImageTextToText, AutoTokenizer, ProcessorMixin

    from medr1_cli.models.vision import load_vl_processor

    config = AutoConfig.from_pretrained(tiny_vl)
    assert config.model_type == "qwen2_vl"
    assert config.architectures == ["Qwen2VLForConditionalGeneration"]
    model = AutoModelForImageTextToText.from_pretrained(tiny_vl)
    assert type(model).__name__ == "Qwen2VLForConditionalGeneration"
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    assert sum(path.stat().st_size for path in tiny_vl.iterdir()) < 5 * 2**20

    tokenizer = AutoTokenizer.from_pretrained(tiny_vl)
    ids = tokenizer.convert_tokens_to_ids
    assert config.image_token_id == ids("<|image_pad|>")
    assert config.video_token_id == ids("<|video_pad|>")
    assert config.vision_start_token_id == ids("<|vision_start|>")
    assert config.vision_end_token_id == ids("<|vision_end|>")
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    assert config.text_config.vocab_size == len(tokenizer)
    # The folder names the stock processor class, so AutoProcessor loads it where torchvision is.
    assert json.loads((tiny_vl / "processor_config.json").read_text())["processor_class"] == "Qwen2VLProcessor"

    processor = load_vl_processor(tiny_vl, padding_side="left")
    assert isinstance(processor, ProcessorMixin)  # what makes TRL treat the model as a VLM
    assert processor.tokenizer.padding_side == "left"
    assert processor.image_token == "<|image_pad|>"


def test_processor_expands_image_placeholders(tiny_vl):
    from medr1_cli.models.vision import load_vl_processor

    processor = load_vl_processor(tiny_vl)
    text = processor.apply_chat_template(question_prompt(0), add_generation_prompt=True)
    assert text.startswith("<|im_start|>system\nAnswer with a single letter.<|im_end|>\n<|im_start|>user\n")
    assert "<|vision_start|><|image_pad|><|vision_end|>Q0: which finding" in text
    assert text.endswith("<|im_end|>\n<|im_start|>assistant\n")

    image_pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    # 56x56 -> a 4x4 patch grid -> 4 tokens; 200x120 is shrunk under max_pixels to 56x28 -> 2 tokens.
    for size, grid, tokens in [((56, 56), [1, 4, 4], 4), ((200, 120), [1, 2, 4], 2)]:
        inputs = processor(text=[text], images=[row_image(0, size)], return_tensors="pt")
        assert inputs["image_grid_thw"].tolist() == [grid]
        assert int((inputs["input_ids"] == image_pad).sum()) == tokens
        assert inputs["pixel_values"].shape[0] == grid[0] * grid[1] * grid[2]


def test_batched_generation_with_images_left_padded(tiny_vl):
    import torch
    from transformers import AutoModelForImageTextToText

    from medr1_cli.models.vision import load_vl_processor

    processor = load_vl_processor(tiny_vl, padding_side="left")
    model = AutoModelForImageTextToText.from_pretrained(tiny_vl).eval()
    prompts = [question_prompt(0), question_prompt(1)]
    prompts[1][1]["content"][1]["text"] = "Q1: normal?"  # a shorter prompt, so row 1 gets padded
    texts = [processor.apply_chat_template(p, add_generation_prompt=True) for p in prompts]
    images = [row_image(0), row_image(1, (200, 120))]

    batch = processor(text=texts, images=images, padding=True, return_tensors="pt")
    assert batch["attention_mask"][1, 0] == 0 and batch["attention_mask"][:, -1].all()  # left padding
    with torch.no_grad():
        out = model.generate(
            **batch, max_new_tokens=4, do_sample=False, output_scores=True, return_dict_in_generate=True
        )
    new_tokens = out.sequences[:, batch["input_ids"].shape[1] :]
    assert new_tokens.shape == (2, 4)
    answers = processor.batch_decode(new_tokens, skip_special_tokens=True)
    assert len(answers) == 2 and all(isinstance(a, str) for a in answers)

    # Each row of the padded batch scores its first token as it would alone (with its own image).
    for row, (text, image) in enumerate(zip(texts, images)):
        single = processor(text=[text], images=[image], return_tensors="pt")
        with torch.no_grad():
            alone = model.generate(
                **single, max_new_tokens=1, do_sample=False, output_scores=True, return_dict_in_generate=True
            )
        torch.testing.assert_close(out.scores[0][row], alone.scores[0][0], atol=1e-4, rtol=1e-4)


@pytest.mark.slow
def test_grpo_two_steps_pairs_each_completion_with_its_image(tiny_vl, tmp_path):
    import torch
    from datasets import Dataset
    from transformers import AutoModelForImageTextToText
    from trl import GRPOConfig, GRPOTrainer

    from medr1_cli.models.vision import load_vl_processor

    dataset = Dataset.from_list(
        [
            {"prompt": question_prompt(row), "image": row_image(row), "answer": "ABCD"[row], "row_id": row}
            for row in range(ROWS)
        ]
    )
    processor = load_vl_processor(tiny_vl, padding_side="left")
    model = AutoModelForImageTextToText.from_pretrained(tiny_vl)
    tokenizer = processor.tokenizer

    def question_row(input_ids) -> int:
        text = tokenizer.decode(input_ids, skip_special_tokens=True)
        return int(text.split(": which finding")[0].rsplit("Q", 1)[1])

    # Every forward pass given pixel values (the log-prob and loss passes; generate encodes the images
    # itself and hands forward `mm_encoder_outputs`): each sequence's question and the image rows fed
    # with it must agree, row by row, after TRL's shuffling of the generation batch.
    forward_rows = []

    def check_forward(module, args, kwargs):
        if kwargs.get("pixel_values") is None:
            return
        text_rows = [question_row(ids) for ids in kwargs["input_ids"]]
        image_rows = rows_of_pixel_values(processor, kwargs["pixel_values"], kwargs["image_grid_thw"])
        forward_rows.append((text_rows, image_rows))

    model.register_forward_pre_hook(check_forward, with_kwargs=True)

    # Every generate call: what each output row was generated from.
    generated = []
    generate = model.generate

    def recording_generate(*args, **kwargs):
        sequences = generate(*args, **kwargs)
        prompt_length = kwargs["input_ids"].shape[1]
        generated.append(
            {
                "text_rows": [question_row(ids) for ids in kwargs["input_ids"]],
                "image_rows": rows_of_pixel_values(processor, kwargs["pixel_values"], kwargs["image_grid_thw"]),
                "completion_ids": [seq[prompt_length:].tolist() for seq in sequences],
            }
        )
        return sequences

    model.generate = recording_generate

    reward_calls = []

    def pairing_reward(prompts, completions, completion_ids, image, answer, row_id, **kwargs):
        prompt_images = [
            next(
                part["image"]
                for message in prompt
                if isinstance(message["content"], list)
                for part in message["content"]
                if part["type"] == "image"
            )
            for prompt in prompts
        ]
        reward_calls.append(
            {
                "row_id": list(row_id),
                "image_rows": [row_of_image(im) for im in image],
                "prompt_image_rows": [row_of_image(im) for im in prompt_images],
                "completion_ids": [list(ids) for ids in completion_ids],
            }
        )
        # Varied rewards give non-zero advantages, so the step really updates the weights.
        return [float(len(c[0]["content"])) + (c[0]["content"].strip()[:1] == a) for c, a in zip(completions, answer)]

    vision_before = {name: p.detach().clone() for name, p in model.model.visual.named_parameters()}
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        use_cpu=True,
        bf16=False,
        num_generations=2,
        per_device_train_batch_size=4,  # 2 distinct prompts x 2 generations: pairing can go wrong
        max_completion_length=8,
        max_steps=2,
        learning_rate=1e-2,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model, reward_funcs=[pairing_reward], args=args, train_dataset=dataset, processing_class=processor
    )
    trainer.train()

    assert trainer.state.global_step == 2
    assert len(reward_calls) == len(generated) == 2
    for call, gen in zip(reward_calls, generated):
        # TRL repeats each prompt num_generations times, consecutively: [a, a, b, b].
        rows = call["row_id"]
        assert rows[0] == rows[1] and rows[2] == rows[3] and rows[0] != rows[2]
        # The reward sees, for completion k, the image column and the prompt image of row k...
        assert call["image_rows"] == rows and call["prompt_image_rows"] == rows
        # ...and completion k was generated from row k's question and row k's image.
        assert gen["text_rows"] == rows and gen["image_rows"] == rows
        for completion, sequence in zip(call["completion_ids"], gen["completion_ids"]):
            assert sequence[: len(completion)] == completion
    assert forward_rows and all(text_rows == image_rows for text_rows, image_rows in forward_rows)
    assert any(
        not torch.equal(p, vision_before[name]) for name, p in model.model.visual.named_parameters()
    ), "the vision tower was not updated"
