"""Every file and folder name medr1 writes, or reads back, and the few path helpers over them: one place
that says what a run folder, a prepared set or an evaluation folder holds. A leaf (the standard library
only), so any module can import it without pulling in another."""

from __future__ import annotations

import re
from pathlib import Path

# --------------------------------------------------------------------------- every output folder
# Medr1Config.write_beside writes it beside every command's outputs; training, resume, export, analyze,
# matrix and the evaluation workers read it back.
RESOLVED_CONFIG_NAME = "medr1_config.yaml"

# ------------------------------------------------------------------- a training run (train.output_dir)
# TRL writes it in every checkpoint and train at the end of a run; resume, export and analyze read it.
TRAINER_STATE = "trainer_state.json"
# TRL's checkpoint folders; resume, export and analyze look them up.
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
# Train's recorder appends every rollout with its rewards; analyze and train's summary read it.
ROLLOUTS_NAME = "rollouts.jsonl"
ROLLOUTS_RANK_NAME = "rollouts-rank{rank}.jsonl"  # the same, per process of a multi-process run
# The rollout log's names before it had its own (the evaluation store's name): still read, never written.
OLD_ROLLOUTS_NAME, OLD_ROLLOUTS_RANK_NAME = "completions.jsonl", "completions-rank{rank}.jsonl"
# Train writes the prepared manifest it trains on into the run folder (lineage.py), and into every
# checkpoint; export copies it into the exported folder; evaluate leaves out the training ids it lists.
LINEAGE_NAME = "training_manifest.json"
# Train's launcher (or --slurm's script) writes it for several processes; `accelerate launch` reads it.
ACCELERATE_CONFIG_NAME = "accelerate_config.yaml"
# Train's launcher (or --slurm's script) sends the vLLM server's output there; launch errors quote its end.
SERVER_LOG_NAME = "vllm-server.log"


def checkpoint_step(folder: Path) -> int | None:
    """The step of a checkpoint-N folder; None for any other folder."""
    match = CHECKPOINT.match(folder.name)
    return int(match.group(1)) if match else None


def checkpoint_folder(run: str | Path, step: int) -> Path:
    """Where TRL saves the checkpoint of `step` in a run folder."""
    return Path(run) / f"checkpoint-{step}"


def checkpoints(run: str | Path) -> list[Path]:
    """A run folder's complete checkpoints (TRL writes trainer_state.json last), oldest first."""
    folder = Path(run)
    if not folder.is_dir():
        return []
    found = [(step, p) for p in folder.iterdir()
             if (step := checkpoint_step(p)) is not None and (p / TRAINER_STATE).is_file()]
    return [p for _, p in sorted(found)]


def rollouts_file(run: Path, rank: int, world_size: int) -> Path:
    """Where training process `rank` of `world_size` appends its rollouts."""
    return run / (ROLLOUTS_NAME if world_size == 1 else ROLLOUTS_RANK_NAME.format(rank=rank))


def rollout_logs(run: Path) -> list[list[Path]]:
    """A run's rollout files, one list per training process, in the order written: a run started before the
    rollout log had its own name and resumed since has its old file first."""
    if not run.is_dir():
        return []
    logs = [[run / name for name in (OLD_ROLLOUTS_NAME, ROLLOUTS_NAME) if (run / name).is_file()]]
    ranks = sorted(_ranks(run, OLD_ROLLOUTS_RANK_NAME) | _ranks(run, ROLLOUTS_RANK_NAME))
    logs += [[path for name in (OLD_ROLLOUTS_RANK_NAME, ROLLOUTS_RANK_NAME)
              if (path := run / name.format(rank=rank)).is_file()] for rank in ranks]
    return [files for files in logs if files]


def _ranks(run: Path, pattern: str) -> set[int]:
    before, after = pattern.split("{rank}")
    found = (p.name[len(before) : len(p.name) - len(after)] for p in run.glob(f"{before}*{after}"))
    return {int(rank) for rank in found if rank.isdigit()}


# ------------------------------------------------ a prepared training set (<data.output_dir>/<dataset>/)
# prepare-data writes all three (and RESOLVED_CONFIG_NAME); training loads the dataset and checks the
# manifest is up to date, evaluation reads the manifest's training ids, export's card its sources.
DATASET_DIR, JSONL_NAME, MANIFEST_NAME = "dataset", "train.jsonl", "manifest.json"
# The prepared folder of Med-R1 VQA data, one per grouping and training group: prepare-data writes it,
# training and evaluation look it up.
VQA_PREPARED_DIR = "{dataset}-{split_by}-{group}"
# A Med-R1 group's test split in a VQA prepared folder: prepare-data writes it, evaluation scores it.
VQA_TEST_FILE = "test-{group}.json"
# The resized images of a VQA prepared folder: prepare-data writes them, rows name them relative to the folder.
VQA_IMAGES_DIR = "images"

# --------------------------------------------------------------- an evaluation (eval.output_dir)
# evaluate writes both; compare, report, matrix, analyze and export's card read results.json.
RESULTS_JSON, RESULTS_MD = "results.json", "results.md"
# The resumable completion store: evaluate appends to it in its output folder and grade in its grading
# folder; both read it back to generate only what is missing.
COMPLETIONS_NAME = "completions.jsonl"
# Data-parallel evaluation: the workers' files (their batches, config and log), in eval.output_dir;
# evaluate writes them, each worker reads its own, and evaluate quotes a failed worker's log.
DATA_PARALLEL_DIR = "data-parallel"
WORKER_BATCHES, WORKER_LOG = "worker-{index}.json", "worker-{index}.log"
# The evaluated model's baseline: evaluate --baseline writes its results to this folder beside the
# evaluation's (and reuses its completion store), the comparison files into the evaluation's.
BASELINE_DIR = "baseline-{model}"
BASELINE_RESULTS, COMPARISON_JSON, COMPARISON_MD = "baseline_results.json", "comparison.json", "comparison.md"
# `medr1 evaluate matrix` writes them; nothing reads them back.
MATRIX_JSON, MATRIX_MD, MATRIX_PNG = "matrix.json", "matrix.md", "matrix.png"
# report writes them; nothing reads them back.
REPORT_JSON, REPORT_MD, REPORT_TEX, REPORT_PNG = "report.json", "report.md", "report.tex", "report.png"


def completion_shard(store: Path, index: int) -> Path:
    """Data-parallel worker `index`'s shard of a completion store: the worker appends to it, the store
    reads it too and evaluate folds it into the store when every worker is done."""
    return store.with_name(f"{store.stem}-dp{index}{store.suffix}")


def completion_shards(store: Path) -> list[Path]:
    return sorted(store.parent.glob(f"{store.stem}-dp*{store.suffix}"))


# ----------------------------------------------------------------------------- the other commands
# grade writes its default output to <data.output_dir>/grading/<dataset>.jsonl and its completion store
# to grading/<dataset>/; prepare-data reads whichever grading file data.grading_file names.
GRADING_DIR = "grading"
# analyze writes its plots and summary.json there (in the run folder, or where it was run); analyze
# skips that folder when it looks for runs and results.
ANALYSIS_DIR, SUMMARY_JSON = "analysis", "summary.json"
# export writes the config the run trained with into an exported model; evaluate's baseline and
# matrix read it to know what the model was trained from.
TRAINING_CONFIG_NAME = "medr1_training_config.yaml"
# export writes the model card; the Hugging Face Hub shows it.
MODEL_CARD = "README.md"
# export's output folder inside the run folder, unless export.output_dir names another.
EXPORT_DIR = "export"
# demo writes its first stage's check of the model; nothing reads it back.
MODEL_CHECK_JSON = "model_check.json"
# A built-in model's folder: its builder writes where its weights came from; nothing reads it back.
MODEL_PROVENANCE = "medr1_provenance.json"


def _own_or_runs(target: str, name: str) -> str | None:
    """The file `name` in folder `target`, else, for a checkpoint, in its run folder."""
    folder = Path(target).expanduser()
    for candidate in (folder / name, folder.parent / name):
        if candidate.is_file() and (candidate.parent == folder or checkpoint_step(folder) is not None):
            return str(candidate)
    return None


def run_config_file(target: str) -> str | None:
    """The resolved config a run folder (or a checkpoint inside one) was trained with."""
    return _own_or_runs(target, RESOLVED_CONFIG_NAME)


def lineage_file(model: str) -> str | None:
    """The data lineage of a model medr1 trained: its own (a run folder, a checkpoint that kept one, an
    export), else its run's for a checkpoint; None for a model medr1 did not train."""
    return _own_or_runs(model, LINEAGE_NAME)


def training_config_file(model: str) -> str | None:
    """The config a model was trained with by medr1: its run folder's, a checkpoint's run's, or the
    copy an export keeps; None for a model medr1 did not train."""
    exported = Path(model).expanduser() / TRAINING_CONFIG_NAME
    return str(exported) if exported.is_file() else run_config_file(model)
