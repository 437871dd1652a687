"""Reading a source — a file, a folder, a built-in demo set or a Hub id — into raw rows that
remember where they came from (file and line), so every later error can point at them."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medr1_cli.data.record import RawRow
from medr1_cli.vqa.demo_data import demo_file
from medr1_cli.errors import DataError

DEMO_DIR = Path(__file__).resolve().parent / "demo"
BUILTIN_PREFIX = "builtin:"
DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
# Files that sit beside a release's questions but are not questions themselves.
AUXILIARY_FILES = ("test_ground_truth.json",)
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+(?::[\w.-]+)?$")
# Releases name their validation file differently (MedMCQA's own release: dev.json; the Hub: validation).
_SPLIT_SPELLINGS = {"validation": ("validation", "dev", "val")}
# The splits a file's name can name, for telling a lone file of one split from the split asked for.
_KNOWN_SPLITS = ("train", "test", "validation")


@dataclass
class RawSource:
    spec: str
    rows: list[RawRow]
    files: list[Path] = field(default_factory=list)  # local files read, for the manifest's checksums
    hub: str | None = None
    split: str | None = None  # the split read, where the files or Hub id hold several

    def origin(self) -> tuple[str, ...]:
        """What was read, however the spec spells it (`./a.jsonl`, `a.jsonl`, the folder around it): the
        resolved files, or the Hub id, and the split where those hold several."""
        read = tuple(str(path.resolve()) for path in self.files) or (self.hub or self.spec,)
        return (*read, f"[{self.split}]") if self.split else read

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
        return demo_file()
    return builtin_files()[name]


def read_source(spec: str, *, split: str | None = None, file_splits: tuple[str, ...] = ()) -> RawSource:
    """Rows of `spec`: a data file, a folder (the file for `split` in it), `builtin:NAME`, or a Hub id.
    `file_splits`: what local copies name that split's file, tried first in a folder, where it differs
    from the Hub's name (PubMedQA's labelled set is the Hub's `train` split, a test file everywhere else)."""
    if spec.startswith(BUILTIN_PREFIX):
        name = spec.removeprefix(BUILTIN_PREFIX)
        files = builtin_files()
        if name not in files:
            raise DataError(f"unknown built-in data '{spec}'; built-in: {', '.join(BUILTIN_PREFIX + n for n in files)}")
        return _read_files(spec, [_builtin_file(name)])
    path = Path(spec).expanduser()
    if path.is_dir() and _saved_dataset(path):
        return _read_saved_dataset(spec, path, split)
    if path.is_dir():
        return _read_files(spec, [_pick_file(path, split, file_splits)])
    if path.is_file():
        return _read_files(spec, [path])
    # `data/medqa.jsonl` also has the shape owner/name: a data file's suffix says it is a missing file
    if _HUB_ID.match(spec) and path.suffix.lower() not in DATA_SUFFIXES:
        return _read_hub(spec, split)
    raise DataError(f"data source '{spec}' is not a file or folder, and does not look like a Hub id (owner/name)")


def _pick_file(folder: Path, split: str | None, file_splits: tuple[str, ...] = ()) -> Path:
    candidates = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix in DATA_SUFFIXES and p.name not in AUXILIARY_FILES
    )
    if not candidates:
        raise DataError(f"{folder}: no data files ({', '.join(DATA_SUFFIXES)}) in this folder")
    if len(candidates) == 1:
        return _lone_file(candidates[0], folder, split, file_splits)
    names = (*file_splits, split) if split else ()
    for spelling in (s for name in names for s in _SPLIT_SPELLINGS.get(name, (name,))):
        matching = [p for p in candidates if _names(p.stem, spelling)]
        if len(matching) == 1:
            return matching[0]
        if len(matching) > 1:
            listed = ", ".join(str(p.relative_to(folder)) for p in matching)
            raise DataError(f"{folder}: several files for split '{split}' ({listed}); name the file instead")
    listed = ", ".join(str(p.relative_to(folder)) for p in candidates[:12])
    wanted = f"for split '{split}' " if split else ""
    raise DataError(f"{folder}: cannot tell which file to read {wanted}among {listed}; name the file instead")


def _names(name: str, spelling: str) -> bool:
    """Whether `name` holds `spelling` as a word of its own (`phrases_no_exclude_train`, not `latest`)."""
    return re.search(rf"(^|[^a-z]){re.escape(spelling)}([^a-z]|$)", name.lower()) is not None


def _split_of(name: str) -> str:
    """The split a name stands for: `dev` and `val` are validation."""
    return next((known for known, spellings in _SPLIT_SPELLINGS.items() if name.lower() in spellings), name.lower())


def _lone_file(path: Path, folder: Path, split: str | None, file_splits: tuple[str, ...] = ()) -> Path:
    """A folder's only data file is read for the split asked unless its name names other splits only: a
    folder holding just MedQA's test.jsonl, read as the train split, would train the model on its test set."""
    if not split:
        return path
    wanted = {_split_of(name) for name in (split, *file_splits)}
    # the subfolders it sits in count too (a folder holding only test/questions.jsonl)
    name = str(path.relative_to(folder).with_suffix(""))
    named = [known for known in _KNOWN_SPLITS if any(_names(name, s) for s in _SPLIT_SPELLINGS.get(known, (known,)))]
    if not named or wanted & set(named):
        return path
    raise DataError(
        f"{folder}: the only data file, {path.relative_to(folder)}, is named for split '{' / '.join(named)}', not for "
        f"the split '{split}' that is read here",
        hint=f"if {path.name} really is the {split} data, name the file itself ({path}) instead of its folder; "
        f"otherwise put the {split} file in the folder",
    )


def _read_files(spec: str, files: list[Path]) -> RawSource:
    rows: list[RawRow] = []
    for path in files:
        rows.extend(_read_file(path))
    if not rows:
        raise DataError(f"{', '.join(map(str, files))}: no rows")
    return RawSource(spec, rows, files)


# Each file is parsed once per process: `evaluate` reads the HuatuoGPT-o1 bundle for five benchmarks,
# and prepare-data reads the evaluation sets it decontaminates against. Keyed by the file's size and
# modification time, so a file changed in between is read again.
_PARSED: dict[tuple[str, int, int], list[RawRow]] = {}


def _read_file(path: Path) -> list[RawRow]:
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise DataError(f"{path}: unsupported file type '{suffix}'; use one of {', '.join(DATA_SUFFIXES)}")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _PARSED:
        _PARSED[key] = _READERS[suffix](path)
    return list(_PARSED[key])


def read_text(path: Path) -> str:
    """The file as text: UTF-8, with or without a byte-order mark; anything else names its line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        start = err.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)  # the offset counts after the BOM
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise DataError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[start]:02x} at column {column})",
            hint=f"save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 {path} > {path.stem}.utf8{path.suffix}`",
        ) from None


def _read_jsonl(path: Path) -> list[RawRow]:
    return _json_lines(path, read_text(path))


def _json_lines(path: Path, text: str) -> list[RawRow]:
    rows = []
    # split on "\n" only: JSON strings may hold U+2028 and other characters str.splitlines() breaks at
    for number, line in enumerate(text.split("\n"), 1):
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
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        if err.msg == "Extra data" and text.lstrip().startswith("{"):
            return _json_lines(path, text)  # JSON lines under a .json name: MedMCQA's own train/dev/test.json
        raise DataError(f"{path}:{err.lineno}: invalid JSON ({err.msg} at column {err.colno})") from None
    if isinstance(data, list):
        return [RawRow(f"{path} item {i}", _object(row, path, f"item {i}")) for i, row in enumerate(data)]
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON list or object, got {type(data).__name__}")
    if data and not all(isinstance(v, (dict, list)) for v in data.values()):
        return [RawRow(f"{path}:1", data)]  # one row on its own (a JSON-lines file of a single line)
    lines = _key_lines(text, list(data))
    if data and all(isinstance(v, list) for v in data.values()):
        return [
            RawRow(f"{path}:{lines[key]} {key}[{i}]", {**_object(row, path, f"{key}[{i}]"), "_group": key})
            for key, rows in data.items()
            for i, row in enumerate(rows)
        ]
    return [RawRow(f"{path}:{lines[key]} {key}", {**_object(row, path, key), "_key": key}) for key, row in data.items()]


def _key_lines(text: str, keys: list[str]) -> dict[str, int]:
    """The line of each top-level key, in one pass: json keeps the file's key order, so each key is
    looked for after the previous one (a key's text inside an earlier value cannot be mistaken for it)."""
    lines: dict[str, int] = {}
    position, line = 0, 1
    for key in keys:
        found = re.compile(re.escape(json.dumps(key)) + r"\s*:").search(text, position)
        if found is None:  # written with other escapes than json.dumps uses: keep the last known line
            lines[key] = line
            continue
        line += text.count("\n", position, found.start())
        position = found.start()
        lines[key] = line
    return lines


def _object(row: Any, path: Path, where: str) -> dict:
    if not isinstance(row, dict):
        raise DataError(f"{path} {where}: expected a JSON object, got {type(row).__name__}")
    return row


def _read_csv(path: Path) -> list[RawRow]:
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
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

    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises its own error types for damaged or non-parquet files
        raise DataError(f"{path}: not a readable Parquet file ({type(err).__name__}: {err})") from None
    return [RawRow(f"{path} row {i}", row) for i, row in enumerate(table.to_pylist())]


_READERS = {".jsonl": _read_jsonl, ".json": _read_json, ".csv": _read_csv, ".parquet": _read_parquet}


def _saved_dataset(folder: Path) -> bool:
    """A folder written by `datasets`' save_to_disk: a Dataset (state.json) or a DatasetDict."""
    return (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file()


def _read_saved_dataset(spec: str, folder: Path, split: str | None) -> RawSource:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(folder))
    except Exception as err:  # datasets raises its own types for damaged folders
        raise DataError(f"{folder}: a saved dataset that cannot be read ({type(err).__name__}: {err})") from None
    where, chosen = str(folder), None
    if isinstance(loaded, datasets.DatasetDict):
        names = [s for s in _SPLIT_SPELLINGS.get(split, (split,)) if s in loaded] if split else list(loaded)
        if split and not names:  # never another split in its place: a train split is not a test set
            raise DataError(f"{folder}: a saved dataset with the splits {', '.join(loaded)}; none is '{split}'",
                            hint="point at the split's own folder inside it, or at a dataset that has it")
        if len(names) > 1:
            raise DataError(f"{folder}: a saved dataset with the splits {', '.join(loaded)}, and no split was asked "
                            "for", hint="say which with data.splits.<source>")
        chosen = names[0]
        where, loaded = f"{folder}[{chosen}]", loaded[chosen]
    rows = [RawRow(f"{where} row {i}", dict(row)) for i, row in enumerate(loaded)]
    if not rows:
        raise DataError(f"{where}: no rows")
    # a DatasetDict's files hold every split: the split read is part of what was read
    return RawSource(spec, rows, sorted(p for p in folder.rglob("*") if p.is_file()), split=chosen)


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
    return RawSource(spec, [RawRow(f"{spec}[{split}] row {i}", dict(row)) for i, row in enumerate(dataset)], hub=spec,
                     split=split)
