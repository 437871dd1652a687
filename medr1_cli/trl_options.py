"""TRL's GRPOConfig options by name: which keys `train.grpo` may hold, and why a key it may not.

`train` builds GRPOConfig itself, which checks every value too; `config validate` and `config show`
check the names alone, with the same messages (a misspelt key with a did-you-mean, a key a newer TRL
removed, a key medr1 sets from its own). Those two commands must stay quick: importing GRPOConfig
pulls in torch, transformers and peft, about 4.5 s of CPU here, for a list of names. So the names are
read from TRL's installed sources instead — the dataclass fields of GRPOConfig and of its bases,
followed through the imports that define them (~20 ms) — and only when that reading fails (a TRL laid
out otherwise) from the imported class. tests/test_config.py checks the reading against the import.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from medr1_cli.suggest import did_you_mean

# GRPOConfig options medr1 derives from its own config keys; setting them in train.grpo would
# silently disagree with the launcher, so it is an error that names the key to use instead.
OWNED_BY_MEDR1 = {
    "output_dir": "train.output_dir",
    "reward_weights": "train.rewards",
    "use_vllm": "train.topology",
    "vllm_mode": "train.topology",
    "vllm_server_host": "train.vllm_server_host",
    "vllm_server_port": "train.vllm_server_port",
    "vllm_server_base_url": "train.vllm_server_host / train.vllm_server_port",
    "vllm_server_timeout": "train.vllm_server_timeout",
    "trust_remote_code": "model.trust_remote_code",
}
# Keys that recipes written for older TRL / transformers still carry.
STALE_KEYS = {
    "max_prompt_length": "removed in TRL 0.28 (prompts are no longer truncated); data.max_prompt_tokens drops long "
    "prompts when the data is prepared",
    "warmup_ratio": "removed in transformers 5; use warmup_steps with a float below 1 (e.g. 0.1 = 10 % of the steps)",
    "vllm_device": "removed from TRL; use train.topology: server, which gives vLLM its own GPUs",
    "vllm_gpu_memory_utilisation": "spelled vllm_gpu_memory_utilization",
}
GRPO_HINT = "every option of train.grpo is documented in help(trl.GRPOConfig)"


def grpo_key_problems(grpo: Mapping[str, Any], known: Collection[str]) -> list[tuple[str, str]]:
    """(key, what is wrong) for every key of train.grpo that training would refuse by its name alone:
    one medr1 sets itself, one TRL or transformers removed, one GRPOConfig does not have (`known`)."""
    problems = [(key, f"set {owner} instead") for key, owner in OWNED_BY_MEDR1.items() if key in grpo]
    problems += [(key, why) for key, why in STALE_KEYS.items() if key in grpo]
    problems += [(key, f"not an option of TRL's GRPOConfig{did_you_mean(key, known)}")
                 for key in grpo if key not in known and key not in OWNED_BY_MEDR1 and key not in STALE_KEYS]
    return problems


@functools.cache
def grpo_option_names() -> frozenset[str]:
    """GRPOConfig's keyword arguments, without importing TRL when its sources can be read (see above)."""
    if "trl.trainer.grpo_config" not in sys.modules:  # once imported, the class itself costs nothing
        names = _read_dataclass_fields("trl", "GRPOConfig")
        if names is not None:
            return frozenset(names)
    return frozenset(imported_option_names())


def imported_option_names() -> list[str]:
    import dataclasses

    from trl import GRPOConfig

    return [f.name for f in dataclasses.fields(GRPOConfig) if f.init]


# ------------------------------------------------------------------------- reading the sources
_MAX_DEPTH = 12  # imports followed and bases climbed; TRL 1.16 needs 5


def _read_dataclass_fields(module: str, name: str, depth: int = 0) -> list[str] | None:
    """The init fields of dataclass `name` as `module` sees it, bases first; None when anything on the way
    is not plainly readable (a base that is not a dataclass, a name made at run time): then import."""
    path = _module_file(module)
    if path is None or depth > _MAX_DEPTH:
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return _class_fields(node, tree, module, path, depth)
    source = _imported_from(tree, module, path, name)  # a package re-exports it (TRL's lazy __init__ does)
    return _read_dataclass_fields(*source, depth + 1) if source else None


def _class_fields(node: ast.ClassDef, tree: ast.Module, module: str, path: Path, depth: int) -> list[str] | None:
    if not any(_names(d) == "dataclass" for d in node.decorator_list):
        return None  # its annotations are not fields
    fields: dict[str, None] = {}
    for base in node.bases:
        if not isinstance(base, ast.Name):
            return None
        local = any(isinstance(n, ast.ClassDef) and n.name == base.id for n in tree.body)
        source = (module, base.id) if local else _imported_from(tree, module, path, base.id)
        inherited = _read_dataclass_fields(*source, depth + 1) if source else None
        if inherited is None:
            return None
        fields.update(dict.fromkeys(inherited))
    for item in node.body:
        if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
            continue
        annotation = ast.unparse(item.annotation)
        if any(word in annotation for word in ("ClassVar", "InitVar", "KW_ONLY")):
            continue  # not init fields (InitVar is, but dataclasses.fields leaves it out, as train does)
        if _init_false(item.value):
            fields.pop(item.target.id, None)
        else:
            fields[item.target.id] = None
    return list(fields)


def _names(node: ast.expr) -> str:
    """`dataclass` for @dataclass, @dataclass(...), @dataclasses.dataclass."""
    if isinstance(node, ast.Call):
        node = node.func
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def _init_false(value: ast.expr | None) -> bool:
    """`field(..., init=False)`."""
    return isinstance(value, ast.Call) and any(
        k.arg == "init" and isinstance(k.value, ast.Constant) and k.value.value is False for k in value.keywords)


def _imported_from(tree: ast.Module, module: str, path: Path, name: str) -> tuple[str, str] | None:
    """(module, name there) of a `from X import name` anywhere in the file (a TYPE_CHECKING block included)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        for alias in node.names:
            if (alias.asname or alias.name) != name:
                continue
            if not node.level:
                return (node.module, alias.name) if node.module else None
            parts = package.split(".")
            if node.level - 1 >= len(parts):
                return None
            base = parts[: len(parts) - (node.level - 1)]
            return ".".join(base + ([node.module] if node.module else [])), alias.name
    return None


def _module_file(module: str) -> Path | None:
    """The source file of `module`, found from its top-level package's folder: find_spec of a top-level
    name imports nothing, whereas find_spec of a submodule would run the packages above it."""
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        return Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    for location in spec.submodule_search_locations or ():
        base = Path(location).joinpath(*rest)
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
    return None
