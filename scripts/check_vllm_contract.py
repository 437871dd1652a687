"""Check medr1's calls into vLLM against the source of the vLLM release it pins — without a GPU.

vLLM's wheels are CUDA-only, so vLLM cannot be installed or run on the machines medr1 is developed
on; a renamed or removed keyword in `vllm.LLM(...)`, `SamplingParams(...)`, `LLM.chat(...)`, a field
medr1 reads from vLLM's outputs, or an argument medr1 hands lm-eval's vllm model would only show on a
user's first GPU evaluation. This script reads both sides as source (AST), never importing vLLM:

* medr1's side: every keyword medr1_cli passes to `LLM`, `SamplingParams`, `LoRARequest` and `.chat`,
  and every attribute it reads below `.outputs`; the arguments `evaluate/lmeval.py` builds for lm-eval's
  vllm model, for a model and for a LoRA adapter.
* vLLM's side: the pinned wheel (`pip download --no-deps`, ~300 MB; or `--wheel FILE`): `LLM.__init__`
  (and, for its **kwargs, `EngineArgs`' fields), `LLM.chat`, `SamplingParams`' and `LoRARequest`'s fields, and the fields
  of `RequestOutput` / `CompletionOutput`; lm-eval's `VLLM.__init__` and the keys it hands `LLM`.

    python scripts/check_vllm_contract.py [--wheel vllm-0.30.0-….whl] [--spec "vllm>=0.29,<0.31"]

Prints one line per name and exits 1 when any is missing.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Check:
    what: str  # e.g. "LLM(...) keyword"
    name: str
    ok: bool
    where: str  # the vLLM / lm-eval source that decides


# --------------------------------------------------------------------------------- medr1's side
def medr1_vllm_usage(package: Path = REPO / "medr1_cli") -> dict[str, set[str]]:
    """Keywords medr1 passes to LLM / SamplingParams / .chat, and attributes read below `.outputs`."""
    used: dict[str, set[str]] = {"LLM": set(), "SamplingParams": set(), "LoRARequest": set(), "chat": set(),
                                 "outputs": set()}
    for file in package.rglob("*.py"):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        if not any(isinstance(n, ast.ImportFrom) and n.module == "vllm" for n in ast.walk(tree)):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
                if name in ("LLM", "SamplingParams", "LoRARequest", "chat"):
                    used[name] |= {k.arg for k in node.keywords if k.arg}
            if isinstance(node, ast.Attribute) and _below_outputs(node.value):
                used["outputs"].add(node.attr)
    return used


def _below_outputs(node: ast.AST) -> bool:
    """Whether `node` is `<x>.outputs` or `<x>.outputs[i]` (a RequestOutput's completions)."""
    if isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Attribute) and node.attr == "outputs"


def medr1_lm_eval_arguments() -> set[str]:
    """The keys of the model_args medr1 gives lm-eval's vllm model (built by its own function), for the
    built-in tiny model and for a LoRA adapter on it."""
    import json

    from medr1_cli.evaluate.lmeval import model_arguments
    from medr1_cli.models import resolve_model_path
    from medr1_cli.resolution import resolve_config

    model = resolve_model_path("builtin:tiny")
    with tempfile.TemporaryDirectory() as adapter:
        (Path(adapter) / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": model, "r": 8}))
        return {key for path in (model, adapter)
                for key in model_arguments(resolve_config("tiny"), path, "vllm", tokenizer=None)}


# ---------------------------------------------------------------------------------- vLLM's side
def _class(tree: ast.Module, name: str) -> ast.ClassDef:
    found = next((n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == name), None)
    if found is None:
        raise SystemExit(f"class {name} not found: the layout of the vLLM source changed; update this script")
    return found


def _method_parameters(cls: ast.ClassDef, method: str) -> tuple[set[str], bool]:
    function = next(f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == method)
    arguments = function.args
    names = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]} - {"self"}
    return names, arguments.kwarg is not None


def _fields(cls: ast.ClassDef) -> set[str]:
    """Annotated class attributes (dataclass / msgspec fields) and attributes set in __init__."""
    names = {f.target.id for f in cls.body if isinstance(f, ast.AnnAssign) and isinstance(f.target, ast.Name)}
    for function in (f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"):
        for node in ast.walk(function):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            names |= {t.attr for t in targets if isinstance(t, ast.Attribute)}
    return names


def vllm_contract(wheel: Path) -> dict[str, tuple[set[str], str]]:
    """What the wheel accepts: name -> (accepted names, source file that says so)."""
    llm_file, params_file = "vllm/entrypoints/llm.py", "vllm/sampling_params.py"
    outputs_file, engine_file, lora_file = "vllm/outputs.py", "vllm/engine/arg_utils.py", "vllm/lora/request.py"
    with zipfile.ZipFile(wheel) as archive:
        llm, params, outputs, engine, lora = (ast.parse(archive.read(path).decode("utf-8"))
                                              for path in (llm_file, params_file, outputs_file, engine_file, lora_file))
    llm_class = _class(llm, "LLM")
    init, forwards = _method_parameters(llm_class, "__init__")
    if forwards:  # LLM(**kwargs) goes to EngineArgs
        init |= _fields(_class(engine, "EngineArgs"))
    chat, _ = _method_parameters(llm_class, "chat")
    return {
        "LLM": (init, f"{llm_file} LLM.__init__ (+ {engine_file} EngineArgs)"),
        "chat": (chat, f"{llm_file} LLM.chat"),
        "SamplingParams": (_fields(_class(params, "SamplingParams")), params_file),
        "LoRARequest": (_fields(_class(lora, "LoRARequest")), lora_file),
        "outputs": (_fields(_class(outputs, "RequestOutput")) | _fields(_class(outputs, "CompletionOutput")),
                    f"{outputs_file} RequestOutput / CompletionOutput"),
    }


def lm_eval_contract() -> tuple[set[str], set[str], str]:
    """lm-eval's vllm model: the arguments its __init__ takes, and the keys it passes on to vllm.LLM."""
    spec = importlib.util.find_spec("lm_eval")
    source = Path(spec.origin).parent / "models" / "vllm_causallms.py"
    cls = _class(ast.parse(source.read_text(encoding="utf-8")), "VLLM")
    accepted, _ = _method_parameters(cls, "__init__")
    passed: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "model_args"
                                                for t in node.targets) and isinstance(node.value, ast.Dict):
            passed |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    return accepted, passed, str(source)


# ---------------------------------------------------------------------------------------- check
def check(wheel: Path) -> list[Check]:
    accepted = vllm_contract(wheel)
    checks = []
    for kind, names in medr1_vllm_usage().items():
        allowed, where = accepted[kind]
        label = {"LLM": "vllm.LLM(...) keyword", "chat": "LLM.chat(...) keyword",
                 "SamplingParams": "SamplingParams(...) keyword", "LoRARequest": "LoRARequest(...) keyword",
                 "outputs": "field read from the outputs"}[kind]
        checks += [Check(label, name, name in allowed, where) for name in sorted(names)]
    lm_accepted, lm_passed, lm_source = lm_eval_contract()
    checks += [Check("lm-eval vllm model argument", name, name in lm_accepted, f"{lm_source} VLLM.__init__")
               for name in sorted(medr1_lm_eval_arguments())]
    llm_accepted, llm_where = accepted["LLM"]
    checks += [Check("lm-eval's argument to vllm.LLM", name, name in llm_accepted, llm_where)
               for name in sorted(lm_passed)]
    return checks


def download(spec: str, folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder), spec],
                   check=True)
    return next(folder.glob("vllm-*.whl"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="a vLLM wheel already downloaded")
    parser.add_argument("--spec", default="vllm>=0.29,<0.31", help="what to download (medr1's vllm extra)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download(args.spec, Path(tmp))
        checks = check(wheel)
    print(f"medr1's vLLM calls against {wheel.name}")
    for c in checks:
        print(f"  {'ok     ' if c.ok else 'MISSING'}  {c.what:<32} {c.name:<24} ({c.where})")
    missing = [c for c in checks if not c.ok]
    print(f"{len(checks) - len(missing)} of {len(checks)} names found" + (f"; {len(missing)} MISSING" if missing else ""))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
