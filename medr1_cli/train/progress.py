"""A Rich progress bar for training: steps done, time left, and the latest reward figures."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from transformers import TrainerCallback


class RichProgress(TrainerCallback):
    def __init__(self, console: Console):
        self.console = console
        self.progress: Progress | None = None
        self.task = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.progress = Progress(
            TextColumn("[bold]GRPO[/]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            TextColumn("{task.fields[figures]}"), console=self.console,
        )
        self.task = self.progress.add_task("train", total=state.max_steps, completed=state.global_step, figures="")
        self.progress.start()

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.progress is None or not logs:
            return
        figures = [f"reward {logs['reward']:.3f}"] if "reward" in logs else []
        figures += [
            f"{key.split('/')[1]} {value:.2f}" for key, value in logs.items()
            if key.startswith("rewards/") and key.endswith("/mean")
        ]
        if "completions/mean_length" in logs:
            figures.append(f"len {logs['completions/mean_length']:.0f}")
        self.progress.update(self.task, figures="  ".join(figures))

    def on_train_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)
            self.progress.stop()
            self.progress = None
