"""Reading a source — a file, a folder, a built-in demo set or a Hub id — into raw rows that
remember where they came from (file and line), so every later error can point at them."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medr1_cli.errors import DataError

DEMO_DIR = Path(__file__).resolve().parent / "demo"
BUILTIN_PREFIX = "builtin:"
DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
# Files that sit beside a release's questions but are not questions themselves.
AUXILIARY_FILES = ("test_ground_truth.json",)
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+(?::[\w.-]+)?$")
# Releases name their validation file differently (MedMCQA's own release: dev.json; the Hub: validation).
_SPLIT_SPELLINGS = {"validation": ("validation", "dev", "val")}


@dataclass(frozen=True, slots=True)
class RawRow:
    where: str  # "path:line" or "hub-id[split] row N": shown in every error about this row
    data: dict[str, Any]


@dataclass
class RawSource:
    spec: str
    rows: list[RawRow]
    files: list[Path] = field(default_factory=list)  # local files read, for the manifest's checksums
    hub: str | None = None

    def fingerprints(self) -> list[dict[str, Any]]:
        return [{"path": str(p), "sha256": sha256_file(p), "bytes": p.stat().st_size} for p in self.files]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def builtin_files() -> dict[str, Path]:
    """Built-in demo data by name: `builtin:medqa` is the packaged demo/medqa.jsonl, and so on;
    `builtin:omnimedvqa` (images) is generated into the medr1 cache on first use."""
    files = {p.stem.removesuffix("_ori_pqal"): p for p in sorted(DEMO_DIR.iterdir()) if p.suffix in DATA_SUFFIXES}
    return {**files, "omnimedvqa": None}


def _builtin_file(name: str) -> Path:
    if name == "omnimedvqa":
        from medr1_cli.data.vqa_demo import demo_file

        return demo_file()
    return builtin_files()[name]


def read_source(spec: str, *, split: str | None = None) -> RawSource:
    """Rows of `spec`: a data file, a folder (the file for `split` in it), `builtin:NAME`, or a Hub id."""
    if spec.startswith(BUILTIN_PREFIX):
        name = spec.removeprefix(BUILTIN_PREFIX)
        files = builtin_files()
        if name not in files:
            raise DataError(f"unknown built-in data '{spec}'; built-in: {', '.join(BUILTIN_PREFIX + n for n in files)}")
        return _read_files(spec, [_builtin_file(name)])
    path = Path(spec).expanduser()
    if path.is_dir():
        return _read_files(spec, [_pick_file(path, split)])
    if path.is_file():
        return _read_files(spec, [path])
    if _HUB_ID.match(spec):
        return _read_hub(spec, split)
    raise DataError(f"data source '{spec}' is not a file or folder, and does not look like a Hub id (owner/name)")


def _pick_file(folder: Path, split: str | None) -> Path:
    candidates = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix in DATA_SUFFIXES and p.name not in AUXILIARY_FILES
    )
    if not candidates:
        raise DataError(f"{folder}: no data files ({', '.join(DATA_SUFFIXES)}) in this folder")
    if len(candidates) == 1:
        return candidates[0]
    for spelling in _SPLIT_SPELLINGS.get(split, (split,)) if split else ():
        matching = [p for p in candidates if re.search(rf"(^|[^a-z]){re.escape(spelling)}([^a-z]|$)", p.stem.lower())]
        if len(matching) == 1:
            return matching[0]
        if len(matching) > 1:
            listed = ", ".join(str(p.relative_to(folder)) for p in matching)
            raise DataError(f"{folder}: several files for split '{split}' ({listed}); name the file instead")
    listed = ", ".join(str(p.relative_to(folder)) for p in candidates[:12])
    wanted = f"for split '{split}' " if split else ""
    raise DataError(f"{folder}: cannot tell which file to read {wanted}among {listed}; name the file instead")


def _read_files(spec: str, files: list[Path]) -> RawSource:
    rows: list[RawRow] = []
    for path in files:
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            rows.extend(_read_jsonl(path))
        elif suffix == ".json":
            rows.extend(_read_json(path))
        elif suffix == ".csv":
            rows.extend(_read_csv(path))
        elif suffix == ".parquet":
            rows.extend(_read_parquet(path))
        else:
            raise DataError(f"{path}: unsupported file type '{suffix}'; use one of {', '.join(DATA_SUFFIXES)}")
    if not rows:
        raise DataError(f"{', '.join(map(str, files))}: no rows")
    return RawSource(spec, rows, files)


def _read_jsonl(path: Path) -> list[RawRow]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{number}: invalid JSON ({err.msg} at column {err.colno})") from None
            if not isinstance(data, dict):
                raise DataError(f"{path}:{number}: expected a JSON object per line, got {type(data).__name__}")
            rows.append(RawRow(f"{path}:{number}", data))
    return rows


def _read_json(path: Path) -> list[RawRow]:
    """A JSON file is a list of rows, an object of rows by key (PubMedQA: PMID -> record), or an
    object of row lists by group (the HuatuoGPT-o1 bundle: benchmark -> questions)."""
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: invalid JSON ({err.msg} at column {err.colno})") from None
    line_of = _line_finder(text)
    if isinstance(data, list):
        return [RawRow(f"{path} item {i}", _object(row, path, f"item {i}")) for i, row in enumerate(data)]
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON list or object, got {type(data).__name__}")
    if data and all(isinstance(v, list) for v in data.values()):
        return [
            RawRow(f"{path}:{line_of(key)} {key}[{i}]", {**_object(row, path, f"{key}[{i}]"), "_group": key})
            for key, rows in data.items()
            for i, row in enumerate(rows)
        ]
    return [RawRow(f"{path}:{line_of(key)} {key}", {**_object(row, path, key), "_key": key}) for key, row in data.items()]


def _line_finder(text: str):
    """Line numbers of top-level keys, found lazily (a key's first quoted occurrence)."""

    def line_of(key: str) -> int:
        position = text.find(json.dumps(key))
        return text.count("\n", 0, position) + 1 if position >= 0 else 1

    return line_of


def _object(row: Any, path: Path, where: str) -> dict:
    if not isinstance(row, dict):
        raise DataError(f"{path} {where}: expected a JSON object, got {type(row).__name__}")
    return row


def _read_csv(path: Path) -> list[RawRow]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise DataError(f"{path}: empty CSV (no header row)")
        rows = []
        for row in reader:
            if None in row:
                raise DataError(f"{path}:{reader.line_num}: more values than the {len(reader.fieldnames)} header columns")
            rows.append(RawRow(f"{path}:{reader.line_num}", row))
        return rows


def _read_parquet(path: Path) -> list[RawRow]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return [RawRow(f"{path} row {i}", row) for i, row in enumerate(table.to_pylist())]


def _read_hub(spec: str, split: str | None) -> RawSource:
    import datasets

    name, _, config = spec.partition(":")
    split = split or "train"
    try:
        dataset = datasets.load_dataset(name, config or None, split=split)
    except Exception as err:  # datasets raises many types for offline, missing and gated repos
        raise DataError(
            f"could not load '{spec}' (split '{split}') from the Hugging Face Hub: {type(err).__name__}: {err}",
            hint="without network, point data.sources / eval.data at a local file or folder instead",
        ) from None
    return RawSource(spec, [RawRow(f"{spec}[{split}] row {i}", dict(row)) for i, row in enumerate(dataset)], hub=spec)
