"""What a prepared folder holds, written in one place for every kind of training set (the text mixes
of `prepare.py`, Med-R1's VQA splits of `vqa.py`): the HF dataset TRL trains on, a JSONL copy of its
rows, `manifest.json` (with the resolved config in it) and the resolved config as YAML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medr1_cli.config import Medr1Config
from medr1_cli.data.prompts import TEMPLATES, build_prompt
from medr1_cli.data.record import QARecord
from medr1_cli.layout import DATASET_DIR, JSONL_NAME, MANIFEST_NAME, RESOLVED_CONFIG_NAME


def row_of(record: QARecord, config: Medr1Config, tokens: int | None) -> dict[str, Any]:
    """One training row: the record's fields, its rendered prompt and the template that rendered it."""
    row = record.as_row()
    return {
        "id": row.pop("id"),
        "source": row.pop("source"),
        "prompt": build_prompt(record, config.data.template, config.data.system_prompt),
        "solution": row.pop("answer"),
        "options": row.pop("options"),
        "question": row.pop("question"),
        **row,
        "prompt_tokens": tokens,
        "template": config.data.template,
        "thinks": TEMPLATES[config.data.template].thinks,
    }


def write_prepared(folder: Path, rows: list[dict], manifest: dict[str, Any], config: Medr1Config, *,
                   image_column: str | None = None) -> dict[str, Any]:
    """Write the training set into `folder` — the temporary folder of the caller's
    `fsutil.atomic_directory`, so a failure here leaves nothing half-written — and return the manifest
    as written (with the resolved config under "config").

    With `image_column`, that column holds image paths (relative to `folder`, or absolute): the JSONL
    keeps the paths, the HF dataset embeds each image's bytes in an `Image` column (self-contained)."""
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    written = {**manifest, "config": config.model_dump(mode="json")}
    jsonl = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    manifest_text = json.dumps(written, indent=2, ensure_ascii=False) + "\n"
    if image_column is None:
        Dataset.from_list(rows).save_to_disk(str(folder / DATASET_DIR))
    else:
        _save_with_images(rows, folder, image_column)
    (folder / JSONL_NAME).write_text(jsonl, encoding="utf-8")
    (folder / MANIFEST_NAME).write_text(manifest_text, encoding="utf-8")
    (folder / RESOLVED_CONFIG_NAME).write_text(config.to_yaml(), encoding="utf-8")
    return written


def _save_with_images(rows: list[dict], folder: Path, column: str) -> None:
    from datasets import Dataset, Image

    embedded = [{**row, column: {"bytes": _image_bytes(folder, row[column]), "path": None}} for row in rows]
    Dataset.from_list(embedded).cast_column(column, Image()).save_to_disk(str(folder / DATASET_DIR))


def _image_bytes(base: Path, path: str) -> bytes:
    file = Path(path) if Path(path).is_absolute() else base / path
    return file.read_bytes()
