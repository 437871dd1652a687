"""Errors a user can fix. Every medr1 process prints them with `print_error`, without a traceback, and
exits with code 2; anything else is a bug and keeps its traceback."""

from __future__ import annotations


class Medr1Error(Exception):
    """An expected failure: bad config, missing file, bad data, missing extra."""

    title = "error"
    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(Medr1Error):
    title = "invalid configuration"


class DataError(Medr1Error):
    title = "bad input data"


class RowDefect(Exception):
    """One data row that is wrong. Loaders raise it per row; the caller reports every defective row of
    a file at once (file:line and message) or, with `data.on_bad_item: skip`, counts them by `reason`."""

    def __init__(self, message: str, reason: str = "malformed row"):
        super().__init__(message)
        self.message, self.reason = message, reason


class MissingExtraError(Medr1Error):
    """An optional dependency group is not installed; the hint carries the install command."""

    title = "missing optional dependency"

    def __init__(self, extra: str, what: str, missing_module: str, install: str | None = None):
        super().__init__(
            f"{what} needs the `{extra}` extra (could not find the module `{missing_module}`).",
            hint=install
            or f'pip install -c constraints.txt -e ".[{extra}]"   (from a medr1 checkout)\n'
            f'pip install "medr1[{extra}]"                        (from PyPI)',
        )
        self.extra = extra

    @staticmethod
    def several(errors: list[MissingExtraError]) -> Medr1Error:
        combined = Medr1Error("\n".join(f"  • {e.message}" for e in errors),
                              hint="\n".join(e.hint for e in errors if e.hint))
        combined.title = f"{len(errors)} missing optional dependencies"
        return combined


def print_error(err: Medr1Error) -> None:
    """An expected failure on stderr: its title, its message and its hint, taken literally (a path or a
    value may hold [brackets]). The CLI, the training script and the evaluation workers all print this way."""
    from rich.console import Console  # here, not above: `medr1 --help` imports this module
    from rich.markup import escape

    # soft_wrap: no line breaks at the console's width, so a long path stays whole, in a terminal or a worker's log
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(f"[bold red]medr1: {escape(err.title)}[/]")
    console.print(escape(err.message))
    if err.hint:
        console.print(f"[dim]hint:[/] {escape(err.hint)}")
