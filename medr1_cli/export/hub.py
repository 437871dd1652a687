"""Publishing an exported folder to the Hugging Face Hub, or listing what that would upload."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medr1_cli.errors import DataError


def upload_listing(folder: Path) -> list[tuple[str, int]]:
    return [(str(p.relative_to(folder)), p.stat().st_size) for p in sorted(folder.rglob("*")) if p.is_file()]


def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def push(folder: Path, repo: str, *, revision: str | None, private: bool, dry_run: bool, console: Console) -> None:
    files = upload_listing(folder)
    where = f"{repo}{'@' + revision if revision else ''} ({'private' if private else 'public'} when created)"
    if dry_run:
        console.print(f"dry run: would upload {len(files)} files, {human(sum(s for _, s in files))}, to {escape(where)}",
                      soft_wrap=True)
        table = Table()
        table.add_column("file")
        table.add_column("size", justify="right")
        for name, size in files:
            table.add_row(escape(name), human(size))
        console.print(table)
        return
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError, OfflineModeIsEnabled

    api = HfApi()
    try:
        api.create_repo(repo, private=private, exist_ok=True, repo_type="model")
        if revision:
            api.create_branch(repo, branch=revision, exist_ok=True)
        info = api.upload_folder(repo_id=repo, folder_path=folder, revision=revision,
                                 commit_message=f"Upload {folder.name} exported by medr1")
    except OfflineModeIsEnabled:
        raise DataError(f"cannot push to {repo}: HF_HUB_OFFLINE is set",
                        hint="unset HF_HUB_OFFLINE on a machine with network access, or use --dry-run") from None
    except LocalTokenNotFoundError:
        raise DataError(f"cannot push to {repo}: no Hugging Face token",
                        hint="set HF_TOKEN or run `hf auth login`") from None
    except HfHubHTTPError as err:
        raise DataError(f"the Hub refused the upload to {repo}: {err}",
                        hint="check the repo id, that your token may write to it, and your network") from None
    console.print(f"uploaded {len(files)} files to {escape(where)}: {escape(str(info.commit_url))}")
