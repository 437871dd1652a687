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
from medr1_cli.layout import (
    ACCELERATE_CONFIG_NAME,
    OLD_ROLLOUTS_RANK_NAME,
    RESOLVED_CONFIG_NAME,
    ROLLOUTS_NAME,
    ROLLOUTS_RANK_NAME,
    SERVER_LOG_NAME,
    TRAINER_STATE,
    TRAINING_CONFIG_NAME,
    checkpoint_step,
)


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


# Files only a training run writes in its folder (a checkpoint holds TRAINER_STATE too).
RUN_FILES = (TRAINER_STATE, ROLLOUTS_NAME, ACCELERATE_CONFIG_NAME, SERVER_LOG_NAME)
RUN_FILE_PATTERNS = (ROLLOUTS_RANK_NAME.format(rank="*"), OLD_ROLLOUTS_RANK_NAME.format(rank="*"))
# Files that make a folder a model (a merged export, an adapter, a final save).
MODEL_FILES = ("config.json", "adapter_config.json", TRAINING_CONFIG_NAME)


def check_not_training_outputs(path: str | os.PathLike, setting: str, *, flag: str, name: str,
                               run_dir: str | None = None, subject: str | None = None, why: str | None = None,
                               hint: str | None = None) -> None:
    """Refuse, before any work, an output folder that is a training run (the config's own train.output_dir
    included), one of its checkpoints or a model folder. Commands write their resolved config there as
    RESOLVED_CONFIG_NAME, which would replace the one the run trained with — the file resume, export,
    analyze and `evaluate --baseline base` read back to learn what the run was — and mix their files
    with the run's. `name`: the suggested folder of its own (<run>/<name>); `subject`, `why`, `hint`
    replace the parts of the message a command words otherwise."""
    folder = Path(path).expanduser()
    found = _training_outputs(folder, run_dir)
    if found is None:
        return
    what, model = found
    if model:
        instead = folder.parent / f"{folder.name}-{name}"
        why = why or ("the outputs would mix with the model's files (and go with them wherever the folder is copied "
                      "or uploaded)")
    elif checkpoint_step(folder) is not None:
        instead = folder.parent / f"{name}-{folder.name}"
        why = why or (f"the {RESOLVED_CONFIG_NAME} written beside the outputs would be read as the config the "
                      "checkpoint trained with (by resume, export and `evaluate --baseline base`), and TRL deletes old "
                      "checkpoint folders whole")
    else:
        instead = folder / name
        why = why or (f"the {RESOLVED_CONFIG_NAME} written beside the outputs would replace the config the run trained "
                      "with, which resume, export, analyze and `evaluate --baseline base` read")
    raise ConfigError(f"{subject or f'{setting}: {path}'} {what}: {why}",
                      hint=hint or f"write into a folder of its own, e.g. {flag} {instead}")


def _training_outputs(folder: Path, run_dir: str | None) -> tuple[str, bool] | None:
    """What makes `folder` a training run, a checkpoint or a model, and whether it is a model only; None
    for any other folder (an evaluation's, a fresh one)."""
    if run_dir is not None and folder.resolve() == Path(run_dir).expanduser().resolve():
        return "is train.output_dir, this config's training run folder", False
    if not folder.is_dir():
        return None
    if checkpoint_step(folder) is not None and any((folder / f).is_file() for f in (TRAINER_STATE, *MODEL_FILES)):
        return f"is a checkpoint of the training run {folder.parent}", False
    held = [child.name for child in sorted(folder.iterdir()) if child.is_dir() and checkpoint_step(child) is not None]
    held += [f for f in RUN_FILES if (folder / f).is_file()]
    held += sorted(p.name for pattern in RUN_FILE_PATTERNS for p in folder.glob(pattern))
    if held:
        return f"is a training run folder (it holds {', '.join(held[:2])}{', …' if len(held) > 2 else ''})", False
    model = [f for f in MODEL_FILES if (folder / f).is_file()]
    return (f"holds a model ({model[0]})", True) if model else None


def cache_dir() -> Path:
    """Where medr1 keeps what it builds once per machine (materialised models)."""
    if env := os.environ.get("MEDR1_HOME"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "medr1"
