"""A tiny, randomly initialised Qwen2 chat model built entirely offline.

Used by the tests and by `builtin:tiny` smoke runs: a byte-level BPE tokenizer trained on generated
medical-QA-shaped text, a Qwen-style `<|im_start|>` chat template, and a 2-layer Qwen2ForCausalLM
with hidden size 64. It builds in a few seconds, weighs under 1 MB and runs a GRPO step in well
under a second on CPU. Its outputs are noise: it exercises code paths, never measures quality.
"""

from __future__ import annotations

import random
from pathlib import Path

from medr1_cli.fsutil import atomic_directory, cache_dir

# Bump when the recipe below changes, so cached copies built by an older version are not reused.
TINY_MODEL_VERSION = 1

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# Qwen2.5-style ChatML without the default system prompt.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

_WORDS = (
    "patient presents with fever cough chest pain dyspnea fatigue nausea rash headache abdominal "
    "year old man woman child infant history of hypertension diabetes asthma smoking examination "
    "shows tachycardia hypotension murmur edema jaundice laboratory studies reveal elevated "
    "decreased serum sodium potassium glucose creatinine hemoglobin platelet count biopsy "
    "which of the following is the most likely diagnosis next best step in management mechanism "
    "of action drug therapy treatment cause finding pneumonia myocardial infarction sepsis anemia "
    "appendicitis stroke thyroid kidney liver lung heart brain bone infection inflammation tumor"
).split()


def _corpus(rng: random.Random, lines: int = 3000) -> list[str]:
    """Text shaped like prompts and completions: questions, lettered options, reasoning tags."""
    corpus = []
    for _ in range(lines):
        question = " ".join(rng.choices(_WORDS, k=rng.randint(8, 24)))
        options = "\n".join(f"{letter}. {' '.join(rng.choices(_WORDS, k=3))}" for letter in "ABCDE")
        answer = rng.choice("ABCDEFGHIJ")
        corpus.append(f"A {rng.randint(1, 90)}-year-old {question}?\n{options}")
        corpus.append(
            f"<think>\n{' '.join(rng.choices(_WORDS, k=12))}.\n</think>\n<answer>{answer}</answer> "
            f"The answer is {answer}. \\boxed{{{answer}}} Answer: ({answer}) **{answer}**"
        )
    return corpus


def train_tokenizer(corpus: list[str], vocab_size: int, special_tokens: list[str], chat_template: str):
    """A byte-level BPE tokenizer trained on `corpus`, with ChatML ends (`<|im_end|>` ends a turn,
    `<|endoftext|>` pads)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special_tokens,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    backend.train_from_iterator(corpus, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        model_max_length=4096)
    tokenizer.chat_template = chat_template
    return tokenizer


def build_tiny_model(output_dir: str | Path, *, seed: int = 0) -> Path:
    """Build the tiny model into `output_dir` (which must not exist) and return it."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    tokenizer = train_tokenizer(_corpus(random.Random(seed)), 1024, SPECIAL_TOKENS, CHAT_TEMPLATE)
    pad_id, _, eos_id = (tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS)

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=[eos_id, pad_id], pad_token_id=pad_id)

    with atomic_directory(output_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return Path(output_dir)


def tiny_model_folder() -> Path:
    return cache_dir() / "models" / f"tiny-qwen2-v{TINY_MODEL_VERSION}"


def tiny_model_path() -> Path:
    """The cached tiny model (`builtin:tiny`), built on first use."""
    path = tiny_model_folder()
    if not (path / "config.json").is_file():
        build_tiny_model(path)
    return path
