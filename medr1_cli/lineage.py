"""A model's data lineage: the prepared manifest its run trained on, copied into the run folder when
training starts and kept by every checkpoint and export, so that an evaluation leaves out exactly the
items that model saw — not those of whatever `data/prepared/<mix>/` holds by the time it is evaluated.

The copy is the prepare-data manifest as it was (training ids, sources with their digests, seed, mix)
plus a `lineage` block: where it was prepared, the digests of the manifest and of the rows trained on,
and, for a run continued on changed data by explicit consent, the earlier manifests it also trained on.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medr1_cli.data.sources import read_text, sha256_file
from medr1_cli.errors import DataError
from medr1_cli.fsutil import atomic_write_text
from medr1_cli.layout import JSONL_NAME, LINEAGE_NAME, MANIFEST_NAME, TRAINER_STATE, checkpoints, lineage_file

_RESUME_OVERRIDE = "train.resume_with_changed_data"


@dataclass(frozen=True)
class Lineage:
    """The training items of one model (or of one manifest named by eval.exclude_manifest)."""

    path: Path  # the file read
    sha256: str  # of that file, as read
    dataset: str | None
    seed: int | None
    training_ids: frozenset[str]  # every item trained on, those of earlier manifests included
    manifest: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        """What results.json and the model card record of it."""
        return {"path": str(self.path.resolve()), "sha256": self.sha256, "dataset": self.dataset, "seed": self.seed,
                "training_ids": len(self.training_ids),
                "prepared_sha256": (self.manifest.get("lineage") or {}).get("manifest_sha256"),
                "continued_on_changed_data": len(self.manifest.get("lineage", {}).get("earlier", []))}


def read_lineage(path: Path, setting: str) -> Lineage:
    """A lineage file or a plain prepare-data manifest; `setting` names where it came from in errors."""
    hint = f"give the {MANIFEST_NAME} that prepare-data wrote, or a model's {LINEAGE_NAME}"
    if not path.is_file():
        raise DataError(f"{setting}: {path} {'is a folder' if path.is_dir() else 'does not exist'}", hint=hint)
    text = read_text(path)  # a byte that is not UTF-8 is named with its line
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{setting}: {path}:{err.lineno} is not a JSON manifest ({err.msg})", hint=hint) from None
    manifests = [manifest, *((manifest.get("lineage") or {}).get("earlier", []) if isinstance(manifest, dict) else [])]
    ids: set[str] = set()
    for one in manifests:
        found = one.get("training_ids") if isinstance(one, dict) else None
        if not isinstance(found, list) or not all(isinstance(i, str) for i in found):
            raise DataError(f"{setting}: {path} has no list of training_ids; it is not a prepare-data manifest",
                            hint=hint)
        ids.update(found)
    return Lineage(path, hashlib.sha256(text.encode("utf-8")).hexdigest(), manifest.get("dataset"),
                   manifest.get("seed"), frozenset(ids), manifest)


def prepared_identity(prepared: Path) -> dict[str, Any]:
    """The prepared set in `prepared` as a run's lineage records it: its manifest and the digests that
    say whether a later set is the same data (the rows hold the rendered prompts and answers)."""
    manifest_file = prepared / MANIFEST_NAME
    manifest = json.loads(read_text(manifest_file))
    rows = prepared / JSONL_NAME
    return {**manifest, "lineage": {
        "prepared_folder": str(prepared.resolve()),
        "manifest_sha256": sha256_file(manifest_file),
        "rows_sha256": sha256_file(rows) if rows.is_file() else None,
    }}


def data_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """How the data of `after` differs from `before`, in words; empty when it is the same data."""
    changes = []
    for key in ("dataset", "seed"):
        if before.get(key) != after.get(key):
            changes.append(f"{key} {before.get(key)} → {after.get(key)}")
    old, new = before.get("training_ids") or [], after.get("training_ids") or []
    if set(old) != set(new):
        changes.append(f"{len(set(new) - set(old))} training item(s) added and {len(set(old) - set(new))} removed")
    elif old != new:
        changes.append("the same items in another order")
    rows = [(m.get("lineage") or {}).get("rows_sha256") for m in (before, after)]
    if not changes and None not in rows and rows[0] != rows[1]:
        changes.append("the same items with other prompts or answers (the rows' digest differs)")
    return changes


def run_has_trained(run: Path) -> bool:
    """Whether `run` already holds weights trained on its recorded data: a checkpoint or a finished save."""
    return bool(checkpoints(run)) or (run / TRAINER_STATE).is_file()


def check_run_data(run: Path, prepared: Path, *, allow_change: bool) -> dict[str, Any] | None:
    """The lineage `run` should hold for training on the set in `prepared` now; None when its recorded
    lineage is already that. Refuses a run that trained on other data, unless `allow_change`."""
    now = prepared_identity(prepared)
    recorded_file = run / LINEAGE_NAME
    if not recorded_file.is_file():
        return now
    recorded = read_lineage(recorded_file, "the run's lineage").manifest
    changes = data_changes(recorded, now)
    if not changes:
        return None
    if not run_has_trained(run):
        return now  # nothing was trained on the old data: the run starts afresh on the new
    if not allow_change:
        raise DataError(
            f"{run} trained on other data than the prepared set {prepared} now holds: {'; '.join(changes)}. "
            "Continuing would train one model on two datasets, and its evaluation would leave out only one's items",
            hint=f"start a new run folder (-o / train.output_dir), prepare the run's own data again (its manifest "
            f"is {recorded_file}: same data.seed, data.dataset and sources), or set {_RESUME_OVERRIDE}: true to "
            "continue on the new data (its lineage then keeps both sets' training ids)",
        )
    earlier = recorded.get("lineage", {}).get("earlier", [])
    past = {key: value for key, value in recorded.items() if key != "lineage"}
    past["lineage"] = {key: value for key, value in recorded.get("lineage", {}).items() if key != "earlier"}
    now["lineage"]["earlier"] = [*earlier, past]
    return now


def record_run_data(run: Path, lineage: dict[str, Any]) -> Path:
    """Write a run's lineage (written once by the process that saves, before training starts)."""
    lineage = {**lineage, "lineage": {**lineage["lineage"],
                                      "recorded_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}}
    return atomic_write_text(run / LINEAGE_NAME, json.dumps(lineage, indent=2, ensure_ascii=False) + "\n")


def copy_lineage(source: Path, folder: Path) -> Path | None:
    """Copy the lineage file of `source` (a model folder, a checkpoint, a run) into `folder`."""
    found = lineage_file(str(source))
    if found is None:
        return None
    return atomic_write_text(folder / LINEAGE_NAME, read_text(Path(found)))
