"""Stopping the processes medr1 starts and showing what they printed (training, a vLLM server, evaluation
workers). Each runs in a session of its own, so stopping its group also stops what it started."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def stop(*processes: subprocess.Popen, grace: float = 20.0) -> None:
    """SIGTERM the processes' groups together, then SIGKILL whatever is left after `grace` seconds."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass  # it ended in the meantime


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a process's log."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no output)"
