"""Write docs/config-reference.md: every config key with its default and meaning, from the schema.

The table comes from `medr1_cli.resolution.explain_fields` (the same list `medr1 config show --explain`
prints): one row per leaf key, in declaration order, grouped by section. The output depends only on
the schema, so running this twice gives the same file; tests/test_docs.py checks that the committed
file is fresh.

    .venv/bin/python scripts/write_config_reference.py
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "config-reference.md"
COMMAND = ".venv/bin/python scripts/write_config_reference.py"


def cell(text: str) -> str:
    """Text that stays in one table cell: one line, `|` escaped (GitHub needs it even in code spans)."""
    return " ".join(text.split()).replace("|", "\\|")


def prose(text: str) -> str:
    """A description as markdown shows it verbatim: outside its code spans, `<` would open an HTML tag
    (GitHub drops `<think>` or `<run>`) and `*` could start emphasis, so both are escaped."""
    parts = re.split(r"(`+[^`]*?`+)", text)
    return "".join(
        part if part.startswith("`") else part.replace("<", "&lt;").replace("*", "\\*") for part in parts
    )


def code(text: str) -> str:
    """`text` as a code span whose fence is longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest or text.startswith(" ") or text.endswith(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render(fields: Iterable[tuple[str, str, str]]) -> str:
    """The reference page for (dotted key, default, description) rows, grouped by top-level section."""
    lines = [
        "# Config key reference",
        "",
        "Every key of a medr1 config, with its default and meaning, in the order the schema declares",
        "them. The same list is printed by `medr1 config show --explain`; how values resolve is in",
        "[configuration](config.md).",
        "",
        f"Generated from the schema in `medr1_cli/config.py` by `{COMMAND}`; do not edit by hand.",
    ]
    section = None
    for key, default, description in fields:
        top = key.split(".", 1)[0]
        if top != section:
            section = top
            lines += ["", f"## {section}", "", "| key | default | help |", "|---|---|---|"]
        lines.append(f"| {cell(code(key))} | {cell(code(default))} | {cell(prose(description))} |")
    return "\n".join(lines) + "\n"


def reference() -> str:
    """The page for the schema as it is now."""
    sys.path.insert(0, str(ROOT))
    try:
        from medr1_cli.resolution import explain_fields
    finally:
        sys.path.remove(str(ROOT))
    return render(explain_fields())


def main() -> None:
    OUTPUT.write_text(reference(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
