"""Resolving a config: built-in defaults < a YAML file (a path or a shipped recipe's name) < `--set`
overrides < explicit flags, validated against the schema (config.py) with every problem collected into
one error that names where each bad value came from (file:line, --set or flag)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from medr1_cli.config import INVALID_ERROR_TYPE, Medr1Config
from medr1_cli.errors import ConfigError
from medr1_cli.suggest import did_you_mean
from medr1_cli.trl_options import GRPO_HINT, grpo_key_problems, grpo_option_names
from medr1_cli.yamlio import KeyPath, load_yaml_file, parse_scalar


def shipped_configs_dir() -> Path:
    """The recipes folder: the checkout's `configs/`, or the copy packed inside an installed wheel."""
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / "configs", package / "configs"):
        if candidate.is_dir():
            return candidate
    raise ConfigError("this medr1 install has no configs/ folder; reinstall medr1 or pass a file path")


def find_config_file(name: str | Path) -> Path:
    """A path as given, or the name of a shipped recipe (`-c demo-cpu` finds configs/demo-cpu.yaml)."""
    path = Path(name).expanduser()
    if path.exists() or path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        return path
    shipped = shipped_configs_dir()
    candidate = shipped / f"{name}.yaml"
    if candidate.is_file():
        return candidate
    names = sorted(p.stem for p in shipped.glob("*.yaml"))
    raise ConfigError(
        f"config '{name}' is neither a file nor a shipped recipe{did_you_mean(str(name), names)}",
        hint=f"shipped recipes: {', '.join(names)}",
    )


def resolve_config(
    config_file: str | Path | None = None,
    overrides: Sequence[str] = (),
    flags: Mapping[str, tuple[str, Any]] | None = None,
    *,
    builtin_entries: bool = True,
    trl_names: bool = False,
) -> Medr1Config:
    """Build the validated config: defaults < `config_file` < `overrides` ("a.b=v") < `flags`.

    `flags` maps dotted keys to (flag name, value) of explicit command-line flags; a None value means
    the flag was not given. `builtin_entries=False` reads a file that is already a resolved config
    (what a run folder holds): its registries are complete, and entries removed from them must stay
    removed. `trl_names`: also check the names of train.grpo's keys against TRL's GRPOConfig (what
    `train` checks when it builds it), for the commands that only check a config. Raises ConfigError
    listing every problem found.
    """
    merged: dict[str, Any] = _extensible_defaults() if builtin_entries else {}
    origins: dict[KeyPath, str] = {}
    problems: list[str] = []

    if config_file is not None:
        path = find_config_file(config_file)
        data, lines = load_yaml_file(path)
        _add_registry_entries(merged, data)
        _merge(merged, data)
        origins.update({key: f"{path}:{line}" for key, line in lines.items()})

    for text in overrides:
        key, sep, raw = text.partition("=")
        keypath = tuple(key.strip().split("."))
        if keypath[:2] == ("train", "rewards") and len(keypath) > 3:  # a reward of one's own: pkg.module:function
            keypath = (*keypath[:2], ".".join(keypath[2:]))
        if not sep or not all(keypath):
            problems.append(f"--set {text!r}: expected section.key=value, e.g. --set train.grpo.learning_rate=1e-6")
            continue
        try:
            _assign(merged, keypath, parse_scalar(raw))
        except ConfigError as err:
            problems.append(f"--set {text!r}: {err.message}")
            continue
        origins[keypath] = f"--set {text}"

    for dotted, (flag, value) in (flags or {}).items():
        if value is None:
            continue
        keypath = tuple(dotted.split("."))
        _assign(merged, keypath, value)
        origins[keypath] = f"flag {flag}"

    _drop_removed_entries(merged)
    config = None
    try:
        config = Medr1Config.model_validate(merged)
    except ValidationError as err:
        problems.extend(_describe_validation_error(err, origins))

    grpo = merged.get("train", {}).get("grpo") if isinstance(merged.get("train"), dict) else None
    trl = [_describe(("train", "grpo", key), _NO_VALUE, why, origins)
           for key, why in grpo_key_problems(grpo, grpo_option_names())] if trl_names and isinstance(grpo, dict) else []
    problems.extend(trl)

    if problems:
        source = f" (from {config_file})" if config_file is not None else ""
        header = f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in the configuration{source}:"
        hint = "`medr1 config show --explain` lists every key with its meaning and default."
        raise ConfigError(
            "\n".join([header, *(f"  • {p}" for p in problems)]),
            hint=f"{hint} {GRPO_HINT[0].upper()}{GRPO_HINT[1:]}." if trl else hint,
        )
    return config


def explain_fields(model: type[BaseModel] = Medr1Config, prefix: str = "") -> Iterable[tuple[str, str, str]]:
    """(dotted key, default, description) for every leaf key of the schema, in declaration order."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from explain_fields(annotation, f"{prefix}{name}.")
            continue
        default = field.get_default(call_default_factory=True)
        yield f"{prefix}{name}", repr(default), field.description or ""


# Mappings that are registries of named entries: a file or --set adds or changes entries and keeps
# the built-in ones (a null value removes one). Every other mapping is replaced as a whole.
EXTENSIBLE = (("data", "sources"), ("data", "splits"), ("data", "mixes"), ("data", "holdout"))


def _extensible_defaults() -> dict[str, Any]:
    defaults = Medr1Config().model_dump(mode="json")
    tree: dict[str, Any] = {}
    for section, key in EXTENSIBLE:
        tree.setdefault(section, {})[key] = defaults[section][key]
    return tree


def _add_registry_entries(tree: dict[str, Any], data: dict[str, Any]) -> None:
    """A file's registry entries replace built-in entries of the same name whole: `mix: {medqa: 100}`
    means that mix is 100 MedQA questions, not 100 plus the built-in mix's MedXpertQA share."""
    for section, key in EXTENSIBLE:
        entries = data.get(section, {}).get(key) if isinstance(data.get(section), dict) else None
        if isinstance(entries, dict) and isinstance(tree.get(section, {}).get(key), dict):
            tree[section][key].update(data[section].pop(key))


def _drop_removed_entries(tree: dict[str, Any]) -> None:
    for section, key in EXTENSIBLE:
        entries = tree.get(section, {}).get(key)
        if isinstance(entries, dict):
            tree[section][key] = {name: value for name, value in entries.items() if value is not None}


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _assign(tree: dict[str, Any], keypath: KeyPath, value: Any) -> None:
    node = tree
    for depth, part in enumerate(keypath[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            above = ".".join(keypath[: depth + 1])
            raise ConfigError(f"'{above}' holds a value ({child!r}), not a section; it has no key '{keypath[depth + 1]}'")
        node = child
    node[keypath[-1]] = value


def _describe_validation_error(err: ValidationError, origins: Mapping[KeyPath, str]) -> list[str]:
    described = []
    for item in err.errors(include_url=False):
        loc = tuple(str(part) for part in item["loc"] if part != "[key]")  # pydantic's marker for dict keys
        if item["type"] == "extra_forbidden":
            allowed = _fields_at(loc[:-1])
            message = f"unknown key{did_you_mean(loc[-1], allowed)}; allowed here: {', '.join(allowed)}"
            described.append(_describe(loc, _NO_VALUE, message, origins))
            continue
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == INVALID_ERROR_TYPE:  # raised by a section validator about one of its keys
            loc = (*loc, item["ctx"]["key"])
            described.append(_describe(loc, item["ctx"]["value"], message, origins))
            continue
        if item["type"] == "literal_error":
            allowed = re.findall(r"'([^']*)'", item.get("ctx", {}).get("expected", ""))
            message += did_you_mean(str(item["input"]), allowed)
        described.append(_describe(loc, item["input"], message, origins))
    return described


_NO_VALUE = object()


def _describe(loc: KeyPath, value: Any, message: str, origins: Mapping[KeyPath, str]) -> str:
    """One line of the error report: key path, the bad value, where it came from, what is wrong."""
    dotted = ".".join(loc) or "<top level>"
    shown = "" if value is _NO_VALUE else f" = {value!r}"
    where = _origin_of(loc, origins)
    return f"{dotted}{shown}{f'  ({where})' if where else ''}: {message}"


def _origin_of(loc: KeyPath, origins: Mapping[KeyPath, str]) -> str | None:
    """Where the value at `loc` was set: that key, else the last key set below it (a mapping's
    entry), else the nearest section above it."""
    if loc in origins:
        return origins[loc]
    below = [where for key, where in origins.items() if key[: len(loc)] == loc]
    if below:
        return below[-1]
    for end in range(len(loc) - 1, 0, -1):
        if loc[:end] in origins:
            return origins[loc[:end]]
    return None


def _fields_at(loc: KeyPath) -> list[str]:
    model: type[BaseModel] = Medr1Config
    for part in loc:
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
