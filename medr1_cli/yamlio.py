"""YAML reading that remembers where every key came from.

PyYAML alone loses the line of each key, silently keeps the last of two duplicate keys, reads
`1e-6` as a string and `no` / `on` as booleans (YAML 1.1). Config errors must name the line,
duplicates are almost always a mistake, `learning_rate: 1e-6` must be a float and
`save_strategy: no` must stay the string TRL expects, so this loader follows YAML 1.2 there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from medr1_cli.errors import ConfigError

KeyPath = tuple[str, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (only true / false) and exponent floats without a dot."""


_BOOL = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_scalar(text: str) -> Any:
    """Type a command-line value the way the same text would be typed in a YAML file."""
    try:
        return yaml.load(text, Loader=_Loader) if text.strip() else text
    except yaml.YAMLError:
        return text  # e.g. "a: b: c" — keep it verbatim, the schema will judge it


def load_yaml_file(path: Path) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    """Return the mapping in `path` and the 1-based line of every key in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder; pass a YAML file") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None

    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        lines: dict[KeyPath, int] = {}
        duplicates: list[str] = []
        _index_keys(node, (), lines, duplicates, path)
        if duplicates:
            raise ConfigError("\n".join(duplicates))
        data = loader.construct_document(node)
    except yaml.YAMLError as err:
        raise ConfigError(_describe_yaml_error(path, err)) from None
    finally:
        loader.dispose()

    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}:{node.start_mark.line + 1}: the top level must be a mapping of sections "
            f"(model, data, train, eval, export), not a {type(data).__name__}"
        )
    return data, lines


def _index_keys(node: yaml.Node, prefix: KeyPath, lines: dict, duplicates: list, path: Path) -> None:
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key == "<<":  # a merge key may repeat and is expanded by the constructor
                continue
            if key in first_seen:
                dotted = ".".join((*prefix, key))
                duplicates.append(
                    f"{path}:{line}: duplicate key '{dotted}' (first defined on line {first_seen[key]}); "
                    "YAML would silently keep only the last one — remove one of them"
                )
            first_seen[key] = line
            lines[(*prefix, key)] = line
            _index_keys(value_node, (*prefix, key), lines, duplicates, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_keys(item, (*prefix, str(index)), lines, duplicates, path)


def _describe_yaml_error(path: Path, err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    detail = f"{problem} ({context})" if context else problem
    return f"{where}: malformed YAML: {detail}"


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
