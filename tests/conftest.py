"""Shared fixtures. Tests run on CPU, offline, with models built locally."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Set before anything imports huggingface_hub, and inherited by every subprocess a test starts.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# Models built by tests go to a private cache unless the caller chose one (CI does, per run).
os.environ.setdefault("MEDR1_HOME", tempfile.mkdtemp(prefix="medr1-test-home-"))

# A shell without job control starts background jobs with SIGINT ignored (`make test &` in a script, some CI
# runners), and Python then never raises KeyboardInterrupt. The Ctrl-C tests need a terminal's Ctrl-C: restore
# it here, which every process the tests start inherits as the default.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parents[1]
HEAVY_MODULES = ("torch", "transformers", "trl", "datasets", "lm_eval")


def medr1_executable() -> str:
    """The `medr1` console script installed beside the interpreter running the tests."""
    candidate = Path(sys.executable).parent / "medr1"
    found = str(candidate) if candidate.exists() else shutil.which("medr1")
    if not found:
        pytest.fail("the medr1 console script is not installed; run `make install` first")
    return found


def run_medr1(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
    """Run the installed `medr1` as a user would; returns the CompletedProcess (text mode)."""
    return subprocess.run(
        [medr1_executable(), *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def heavy_modules_imported_by(*argv: str) -> list[str]:
    """Run `medr1 ARGV` in a fresh interpreter and list the heavy libraries it imported."""
    probe = (
        "import json, sys\n"
        f"sys.argv = ['medr1', *{list(argv)!r}]\n"
        "from medr1_cli.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps([m for m in {HEAVY_MODULES!r} if m in sys.modules]))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A freshly built tiny Qwen2 chat model folder, shared by the whole session."""
    from medr1_cli.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def talkative_model(tiny_model, tmp_path_factory) -> Path:
    """The tiny model with large random weights (seeded): unlike builtin:tiny, which answers every
    prompt with the same newlines, its greedy text differs from prompt to prompt, so a test that
    compares completions can tell one prompt's from another's."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tmp_path_factory.mktemp("talkative") / "model"
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(folder)
    return folder


@pytest.fixture
def write_yaml(tmp_path):
    """Write a YAML config file from text and return its path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
