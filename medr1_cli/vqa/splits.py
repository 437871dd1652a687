"""`medr1 prepare-data --dataset omnimedvqa`: Med-R1's per-group splits of a medical VQA set.

Every question is grouped by imaging modality or question type (`data.vqa.split_by`); each group is
split seeded into training and test parts (`test_share`, ~20 % as in Med-R1). The training part of
`data.vqa.train_on` becomes the training set; every group's test part is written as a Med-R1 JSON
file, so one trained model can be scored on all groups (the generalisation matrix). Every image is
opened and decoded before anything is written, and optionally resized into the prepared folder.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medr1_cli import __version__
from medr1_cli.config import Medr1Config
from medr1_cli.vqa.omnimedvqa import GROUPINGS, group_name, slug
from medr1_cli.data.prepared import row_of, write_prepared
from medr1_cli.data.record import QARecord
from medr1_cli.errors import DataError
from medr1_cli.fsutil import atomic_directory
from medr1_cli.layout import VQA_IMAGES_DIR, VQA_TEST_FILE


def group_of(record: QARecord, split_by: str) -> str | None:
    return record.metadata.modality if split_by == "modality" else record.metadata.question_type


def training_group(config: Medr1Config) -> str:
    """data.vqa.train_on under its canonical name (validated with the config), or the grouping's first."""
    v = config.data.vqa
    return group_name(v.split_by, v.train_on) if v.train_on else GROUPINGS[v.split_by][0]


def split_groups(records: list[QARecord], split_by: str, test_share: float, seed: int) -> dict[str, dict[str, list]]:
    """{group: {"train": [...], "test": [...]}}, each group shuffled with its own seeded generator so
    adding a group never changes another group's split."""
    by_group: dict[str, list[QARecord]] = defaultdict(list)
    for record in records:
        by_group[group_of(record, split_by)].append(record)
    splits = {}
    for group in sorted(by_group):
        items = sorted(by_group[group], key=lambda r: r.id)
        random.Random(f"{seed}:{group}").shuffle(items)
        n_test = max(1, round(test_share * len(items))) if len(items) > 1 else 0
        splits[group] = {"test": items[:n_test], "train": items[n_test:]}
    return splits


def check_images(records: list[QARecord], root: Path) -> dict[str, Path]:
    """Every record's image, opened and fully decoded; one error listing every problem."""
    from PIL import Image, UnidentifiedImageError

    found, problems = {}, []
    for record in records:
        path = (root / record.images[0]).expanduser()
        try:
            with Image.open(path) as image:
                image.load()
        except FileNotFoundError:
            problems.append(f"{record.id}: image not found: {path}")
            continue
        except (UnidentifiedImageError, OSError) as err:
            problems.append(f"{record.id}: image cannot be decoded: {path} ({err})")
            continue
        found[record.id] = path
    if problems:
        listed = "\n  ".join(problems[:10]) + (f"\n  … and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise DataError(f"{len(problems)} of {len(records)} images are unusable:\n  {listed}",
                        hint="set data.vqa.image_root to the folder the relative image paths start from")
    return found


def prepare_vqa(config: Medr1Config, records: list[QARecord], root: Path, report: dict[str, Any],
                output: Path, console: Console) -> tuple[int, dict[str, Any]]:
    """Write the training set of `train_on` and every group's test file into `output`."""
    started = time.perf_counter()
    v = config.data.vqa
    train_on = training_group(config)
    ungrouped = [r.id for r in records if group_of(r, v.split_by) is None]
    if ungrouped:
        raise DataError(f"{len(ungrouped)} question(s) have no {v.split_by} (e.g. {', '.join(ungrouped[:3])})",
                        hint=f"give rows a '{'modality' if v.split_by == 'modality' else 'question_type'}' field, "
                        "or name each split file after its group (e.g. CT.json)")
    splits = split_groups(records, v.split_by, v.test_share, config.data.seed)
    if train_on not in splits or not splits[train_on]["train"]:
        raise DataError(f"no training questions for {v.split_by} '{train_on}'; the data has: "
                        + ", ".join(f"{g} ({len(s['train'])})" for g, s in splits.items()))
    with console.status(f"checking {len(records)} images …"):
        images = check_images(records, root)
    train = splits[train_on]["train"]
    with atomic_directory(output, replace=True) as tmp:
        stored = _store_images(images, tmp, v.image_size, console)
        rows = [{**row_of(record, config, None), "image": stored[record.id]} for record in train]
        test_files = {group: VQA_TEST_FILE.format(group=slug(group)) for group in splits}
        for group, parts in splits.items():
            (tmp / test_files[group]).write_text(json.dumps([_med_r1_row(r, stored[r.id]) for r in parts["test"]],
                                                            indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        manifest = {
            "medr1_version": __version__, "dataset": config.data.dataset, "kind": "vqa", "seed": config.data.seed,
            "template": config.data.template, "rows": len(rows), "split_by": v.split_by, "train_on": train_on,
            "test_share": v.test_share, "image_size": v.image_size, "sources": {config.data.vqa_source: report},
            "evaluation_sets": {},  # the test files are the evaluation sets, split off above
            "groups": {g: {"train": len(p["train"]), "test": len(p["test"]), "test_file": test_files[g]}
                       for g, p in splits.items()},
            "training_ids": [r.id for r in train],
            "held_out_ids": sorted(r.id for p in splits.values() for r in p["test"]),
        }
        manifest = write_prepared(tmp, rows, manifest, config, image_column="image")  # the dataset embeds the images
    _print_summary(console, splits, train_on, v.split_by, output, time.perf_counter() - started)
    return len(rows), manifest


def _store_images(images: dict[str, Path], folder: Path, size: int | None, console: Console) -> dict[str, str]:
    """Image paths as the prepared files will name them: resized copies inside the folder (relative, so
    the folder can move), or the originals (absolute)."""
    if size is None:
        return {item: str(path.resolve()) for item, path in images.items()}
    from PIL import Image

    stored = {}
    with console.status(f"resizing {len(images)} images to {size}×{size} …"):
        for index, (item, path) in enumerate(images.items()):
            relative = f"{VQA_IMAGES_DIR}/{index:06d}-{slug(item)[:60]}.png"  # the index keeps similar ids apart
            (folder / VQA_IMAGES_DIR).mkdir(exist_ok=True)
            with Image.open(path) as image:
                image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC).save(folder / relative)
            stored[item] = relative
    return stored


def _med_r1_row(record: QARecord, image: str) -> dict[str, Any]:
    options = ", ".join(f"{letter}){text}" for letter, text in record.options.items())
    return {"id": record.id, "image": image, "problem": f"{record.question} {options}",
            "solution": f"<answer> {record.answer} </answer>", "modality": record.metadata.modality,
            "question_type": record.metadata.question_type}


def _print_summary(console, splits, train_on: str, split_by: str, output: Path, seconds: float) -> None:
    table = Table(title=f"{split_by} groups (training on {train_on}), {seconds:.1f} s")
    for column in (split_by, "train", "test"):
        table.add_column(column, justify="left" if column == split_by else "right")
    for group, parts in splits.items():
        mark = " ← training set" if group == train_on else ""
        table.add_row(group + mark, str(len(parts["train"])), str(len(parts["test"])))
    console.print(table)
    console.print(f"outputs: [cyan]{escape(str(output))}[/] (dataset/, train.jsonl, test-<group>.json, manifest.json)")
