"""`medr1 config validate`: check config files or whole folders of them, reporting every problem."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from medr1_cli.errors import ConfigError
from medr1_cli.resolution import resolve_config, shipped_configs_dir


def config_files(paths: list[Path]) -> list[Path]:
    """Files named directly, plus every *.yaml / *.yml below each folder; default: the configs folder."""
    if not paths:
        local = Path("configs")
        paths = [local if local.is_dir() else shipped_configs_dir()]
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()))
        else:
            files.append(path)  # a missing file is reported by the check itself
    return files


def validate_paths(paths: list[Path], console: Console | None = None) -> bool:
    """Print one line per file (and its problems); True when every file is valid."""
    console = console or Console(highlight=False, soft_wrap=True)
    files = config_files(paths)
    if not files:
        raise ConfigError(f"no *.yaml files under {', '.join(map(str, paths))}")
    failed = 0
    for path in files:
        try:
            resolve_config(path, trl_names=True)  # train.grpo's names too, as train would check them
        except ConfigError as err:
            failed += 1
            console.print(f"[bold red]FAIL[/] {escape(str(path))}")
            console.print(escape(err.message), style="red")
        else:
            console.print(f"[green]ok[/]   {escape(str(path))}")
    console.print(f"{len(files) - failed} valid, {failed} invalid")
    return failed == 0
