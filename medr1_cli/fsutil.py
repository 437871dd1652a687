"""Writing outputs so that an interrupted command never leaves a half-written file or folder behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from medr1_cli.errors import ConfigError


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to a temporary sibling of `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


@contextlib.contextmanager
def atomic_directory(final: str | os.PathLike, *, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder to fill; it becomes `final` only if the block succeeds.

    Without `replace`, an existing complete `final` is kept: a second process that lost the race
    simply finds the winner's folder. With `replace`, the old folder is swapped out only once the
    new one is complete, so an interrupted run leaves the previous outputs intact.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield tmp
        tmp.chmod(0o755)  # mkdtemp makes it private; the finished folder is an ordinary one
        if replace and final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.rename(final, old / final.name)
            try:
                os.rename(tmp, final)
            except BaseException:
                os.rename(old / final.name, final)  # put the previous outputs back
                old.rmdir()
                raise
            shutil.rmtree(old)
            return
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
            shutil.rmtree(tmp)  # another process finished the same folder first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def append_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> None:
    """Append rows to a JSONL file. A run killed mid-write leaves a cut last row; it is dropped first,
    so the next row starts a line of its own and every line of the file stays valid JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    with path.open("a+b") as handle:  # appends go to the end whatever the position
        start = max(0, handle.seek(0, os.SEEK_END) - (1 << 20))  # a row is far shorter than 1 MiB
        handle.seek(start)
        tail = handle.read()
        if tail and not tail.endswith(b"\n"):
            cut = tail.rfind(b"\n")
            if cut >= 0 or start == 0:
                handle.truncate(start + cut + 1)
            else:
                text = "\n" + text
        handle.write(text.encode("utf-8"))
        handle.flush()


def check_writable_folder(path: str | os.PathLike, setting: str) -> Path:
    """Refuse, before any heavy work, an output folder that cannot be made: an existing file, or a
    place where nothing can be created (/proc, a read-only mount, no permission). Probes by making
    and removing a temporary folder in the nearest existing parent, so nothing is left behind."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{setting}: {path} is an existing file, not a folder", hint="give a folder path")
    parent = path if path.is_dir() else next((p for p in path.parents if p.exists()), Path("."))
    if not parent.is_dir():
        raise ConfigError(f"{setting}: {path} cannot be made, because {parent} is a file", hint="give a folder path")
    try:
        probe = tempfile.mkdtemp(prefix=".medr1-write-check-", dir=parent)
        os.rmdir(probe)
    except OSError as err:
        raise ConfigError(f"{setting}: cannot write in {parent} ({err.strerror or err})",
                          hint="choose a folder you can write to") from None
    return path


def cache_dir() -> Path:
    """Where medr1 keeps what it builds once per machine (materialised models)."""
    if env := os.environ.get("MEDR1_HOME"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "medr1"
