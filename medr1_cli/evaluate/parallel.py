"""Data-parallel generation for the native engine (`eval.data_parallel_size` > 1).

The parent cuts the missing requests into the same batches one process would generate and deals
them out round-robin to N worker processes (`python -m medr1_cli.evaluate.parallel`), each with its
own model replica and, on GPU machines, its own `eval.tensor_parallel_size` GPUs. A worker appends
every batch to its own shard of the completion store as soon as it is generated, so a killed run
resumes like a single-process one; the parent shows the progress of all workers from the shards,
which `run_evaluation` folds into the store when every worker has finished. How the GPUs are shared
out between the workers is `gpus.py`'s.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from medr1_cli.config import Medr1Config
from medr1_cli.devices import visible_devices
from medr1_cli.errors import Medr1Error, print_error
from medr1_cli.evaluate.generate import (
    CompletionStore, Request, backend_for, chunk_size, chunks_of, generate_chunk, make_backend,
)
from medr1_cli.evaluate.gpus import describe_layout, gpus_per_worker, machine_gpus, sharded_sizes, worker_config
from medr1_cli.fsutil import atomic_write_text
from medr1_cli.layout import DATA_PARALLEL_DIR, RESOLVED_CONFIG_NAME, WORKER_BATCHES, WORKER_LOG
from medr1_cli.processes import stop, tail
from medr1_cli.resolution import resolve_config


class WorkerError(Medr1Error):
    title = "evaluation worker failed"


def deal_batches(missing: dict[str, list[Request]], batch_size: int, workers: int) -> list[list[list[Request]]]:
    """Each worker's batches: the single-process batches of every benchmark, dealt out in turn."""
    batches = [chunk for requests in missing.values() for chunk in chunks_of(requests, batch_size)]
    return [batches[k::workers] for k in range(workers)]


def worker_command(work: Path, model_path: str, store: Path) -> list[str]:
    return [sys.executable, "-m", "medr1_cli.evaluate.parallel", "--work", str(work), "--model", model_path,
            "--store", str(store), "--parent", str(os.getpid())]


def generate_in_parallel(missing: dict[str, list[Request]], config: Medr1Config, model_path: str,
                         store: CompletionStore, console: Console) -> str:
    """Generate `missing` with eval.data_parallel_size workers; returns the backend label for the results."""

    backend = backend_for(config, model_path)  # a missing extra or a refused backend: said once, here
    gpus, sizes = machine_gpus(config), sharded_sizes(config, model_path, backend)
    per_worker = gpus_per_worker(config, gpus, sizes)
    console.print(f"{backend} layout: {describe_layout(config, gpus, per_worker, sizes)}")
    folder = store.path.parent / DATA_PARALLEL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / RESOLVED_CONFIG_NAME, worker_config(config, per_worker).to_yaml())
    workers = config.eval.data_parallel_size
    size = chunk_size(config, backend, sum(len(requests) for requests in missing.values()), workers)
    dealt = [b for b in deal_batches(missing, size, workers) if b]
    processes: list[tuple[int, subprocess.Popen, Path]] = []
    try:
        for index, batches in enumerate(dealt):
            work = folder / WORKER_BATCHES.format(index=index)
            atomic_write_text(work, json.dumps([[dataclasses.asdict(r) for r in b] for b in batches]) + "\n")
            env = dict(os.environ)
            if per_worker:
                env["CUDA_VISIBLE_DEVICES"] = visible_devices(range(index * per_worker, (index + 1) * per_worker))
            log = folder / WORKER_LOG.format(index=index)
            with log.open("w", encoding="utf-8") as handle:
                # Its own session, so stopping it stops what it started too (vLLM's engine processes).
                command = worker_command(work, model_path, store.shard_path(index))
                processes.append((index, subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                                          start_new_session=True), log))
        _follow(processes, store, sum(len(b) for batches in dealt for b in batches), console)
    finally:
        stop(*(process for _, process, _ in processes), grace=30.0)  # a failed worker or Ctrl-C: shards stay
    shutil.rmtree(folder)  # kept only when a worker failed, for its log
    return f"{backend} × {len(dealt)} workers"


def _follow(processes: list[tuple[int, subprocess.Popen, Path]], store: CompletionStore, total: int,
            console: Console) -> None:
    """Progress over all workers, read from the shards' line counts; stops at the first failed worker."""
    shards = [store.shard_path(index) for index, _, _ in processes]
    before = sum(_lines(shard) for shard in shards)
    with Progress(TextColumn(f"[bold]{len(processes)} workers"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("generate", total=total, rate="")
        started = time.perf_counter()
        while True:
            finished = [(index, process.poll(), log) for index, process, log in processes]
            done = sum(_lines(shard) for shard in shards) - before
            progress.update(task, completed=done, rate=f"{done / (time.perf_counter() - started):.2f} items/s")
            failed = [(index, code, log) for index, code, log in finished if code not in (None, 0)]
            if failed:
                index, code, log = failed[0]
                fix = "fix what it reports, then rerun" if code == Medr1Error.exit_code else "rerun the same command"
                raise WorkerError(f"worker {index} exited with code {code}; the end of {log}:\n{tail(log)}",
                                  hint=f"{fix}: what the workers finished is kept and not generated again")
            if all(code == 0 for _, code, _ in finished):
                return
            time.sleep(0.5)


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def main(argv: list[str] | None = None) -> None:
    """A worker: generate the batches in --work with the model at --model, appending to --store."""
    parser = argparse.ArgumentParser(description="medr1's data-parallel evaluation worker (started by `medr1 evaluate`).")
    parser.add_argument("--work", required=True, help="the JSON list of batches this worker generates")
    parser.add_argument("--model", required=True, help="the resolved model folder or Hub id")
    parser.add_argument("--store", required=True, help="this worker's shard of the completion store")
    parser.add_argument("--parent", type=int, required=True, help="the pid of `medr1 evaluate`; its death stops us")
    args = parser.parse_args(argv)
    _die_with(args.parent)
    work = Path(args.work)
    try:
        config = resolve_config(work.parent / RESOLVED_CONFIG_NAME, builtin_entries=False)
        batches = [[Request(**{**r, "images": tuple(r["images"])}) for r in b] for b in json.loads(work.read_text())]
        _, backend = make_backend(config, args.model)
        store = CompletionStore(Path(args.store))
        for batch in batches:
            generate_chunk(backend, batch, store)
    except Medr1Error as err:
        print_error(err)  # into the worker's log, whose end the parent's WorkerError quotes
        sys.exit(err.exit_code)


def _die_with(parent: int) -> None:
    """Stop when `medr1 evaluate` dies, even by SIGKILL: an orphaned worker would go on generating (and
    holding its GPUs) beside the workers of a rerun."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before we asked
        sys.exit(1)


if __name__ == "__main__":
    main()
