"""PNG figures with matplotlib's headless Agg backend, each written atomically.

Every figure has a fixed size in pixels (no tight bounding box, which would change it with the
labels), so a plot's size is known before it is drawn: 1000 × 600, except the subset heatmap whose
height grows with its rows (see `heatmap_size`). matplotlib is imported only when drawing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

DPI = 100
SIZE = (1000, 600)


def heatmap_size(rows: int, columns: int) -> tuple[int, int]:
    """Width grows with the models compared, height with the subsets (28 px each)."""
    return max(800, 440 + 140 * columns), max(320, 160 + 28 * rows)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _figure(size: tuple[int, int] = SIZE):
    plt = _pyplot()
    return plt, plt.figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI)


def _save(plt, fig, path: Path) -> dict[str, Any]:
    """Render to a temporary sibling, then rename: an interrupted run never leaves half a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=DPI)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the PNG is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        plt.close(fig)
    width, height = (round(v) for v in fig.get_size_inches() * DPI)
    return {"file": path.name, "width": width, "height": height}


def _steps(per_step: list[dict[str, Any]], key: str, inner: str | None = None) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for p in per_step:
        value = p[key] if inner is None else p[key].get(inner)
        if value is not None:
            xs.append(p["step"])
            ys.append(value)
    return xs, ys


def _line(ax, xs, ys, label, **style) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    # A single step draws no line, so mark every point.
    ax.plot(xs, ys, marker="o" if len(xs) <= 50 else None, markersize=3, label=label, **style)


def rewards_plot(training: dict[str, Any], path: Path) -> dict[str, Any]:
    plt, fig = _figure()
    ax = fig.add_subplot()
    per_step = training["per_step"]
    _line(ax, *_steps(per_step, "reward"), "total (weighted)", linewidth=2.2, color="black")
    for name in training["reward_names"]:
        _line(ax, *_steps(per_step, "rewards", name), f"{name} (× {training['weights'][name]:g})", linewidth=1.2)
    title = "Reward per step (mean over the step's completions)"
    if trend := training.get("trend"):
        # The two thirds compared, each as a segment at its mean reward over its own steps.
        for key, steps in (("first_mean", trend["first_steps"]), ("last_mean", trend["last_steps"])):
            ax.hlines(trend[key], steps[0] - 0.4, steps[1] + 0.4, colors="black", linestyles="dashed", linewidth=1)
        low, high = trend["difference_ci95"]
        ax.plot([], [], color="black", linestyle="dashed", linewidth=1,
                label=f"first / last third: {trend['first_mean']:.2f} → {trend['last_mean']:.2f}")
        title += f"\nlast − first third {trend['difference']:+.2f} (95 % bootstrap interval {low:+.2f} to {high:+.2f})"
    ax.set(title=title, xlabel="step", ylabel="reward")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    xs, zero = _steps(per_step, "zero_variance")
    if xs:  # on its own axis: a share, not a reward
        right = ax.twinx()
        right.bar(xs, zero, width=0.6, color="grey", alpha=0.25, label="groups with zero reward variance (right axis)")
        right.set(ylabel="share of groups with zero reward variance", ylim=(0, 1.05))
        ax.set_zorder(right.get_zorder() + 1)  # the lines over the bars
        ax.patch.set_visible(False)
        more = right.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    ax.legend(handles, labels, loc="best", fontsize=9)
    return _save(plt, fig, path)


def groups_plot(training: dict[str, Any], path: Path) -> dict[str, Any]:
    """Where GRPO's signal goes: groups too easy (all correct), too hard (all wrong), or otherwise all equal."""
    plt, fig = _figure()
    ax = fig.add_subplot()
    per_step = training["per_step"]
    _line(ax, *_steps(per_step, "zero_variance"), "zero reward variance (no learning signal)", color="grey",
          linewidth=2.2)
    _line(ax, *_steps(per_step, "all_correct"), "all correct (too easy)", color="tab:green")
    _line(ax, *_steps(per_step, "all_wrong"), "all wrong (too hard)", color="tab:red")
    ax.set(title="Groups GRPO cannot learn from, per step", xlabel="step", ylabel="share of groups",
           ylim=(-0.05, 1.05))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return _save(plt, fig, path)


def length_plot(training: dict[str, Any], path: Path) -> dict[str, Any]:
    plt, fig = _figure()
    ax = fig.add_subplot()
    _line(ax, *_steps(training["per_step"], "mean_length"), "mean completion length", color="tab:blue")
    ax.set(title="Mean completion length per step", xlabel="step", ylabel="tokens")
    ax.grid(alpha=0.3)
    return _save(plt, fig, path)


def reward_length_plot(points: list[tuple[float, float]], stats: dict[str, Any], path: Path) -> dict[str, Any]:
    plt, fig = _figure()
    ax = fig.add_subplot()
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    ax.scatter(xs, ys, s=10, alpha=0.4, color="tab:purple", edgecolors="none")
    r, b = stats["pearson_r"], stats["slope_per_token"]
    if b is not None:
        low, high = min(xs), max(xs)
        intercept = stats["mean_reward"] - b * stats["mean_length"]
        ax.plot([low, high], [intercept + b * low, intercept + b * high], color="black", linewidth=1.2,
                label=f"least squares: {b:+.4g} per token")
        ax.legend(loc="best", fontsize=9)
    shown = "undefined (a constant variable)" if r is None else f"{r:+.3f}"
    ax.set(title=f"Reward vs completion length — Pearson r = {shown}, n = {stats['n']}",
           xlabel="completion tokens", ylabel="total reward")
    ax.grid(alpha=0.3)
    return _save(plt, fig, path)


def format_plot(training: dict[str, Any], path: Path) -> dict[str, Any]:
    plt, fig = _figure()
    ax = fig.add_subplot()
    _line(ax, *_steps(training["per_step"], "format_compliance"), "format compliance", color="tab:green")
    _line(ax, *_steps(training["per_step"], "truncated"), "truncated (hit the length limit)", color="tab:red")
    ax.set(title="Format compliance and truncation per step", xlabel="step", ylabel="share of completions",
           ylim=(-0.05, 1.05))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return _save(plt, fig, path)


def reflection_plot(training: dict[str, Any], path: Path) -> dict[str, Any]:
    plt, fig = _figure()
    ax = fig.add_subplot()
    per_step = training["per_step"]
    _line(ax, *_steps(per_step, "reflective"), "completions with a reflective phrase", color="tab:orange")
    ax.set(title="Self-verification per step", xlabel="step", ylabel="share of completions", ylim=(-0.05, 1.05))
    ax.grid(alpha=0.3)
    right = ax.twinx()
    _line(right, *_steps(per_step, "phrases_per_completion"), "phrases per completion", color="tab:brown",
          linestyle="--")
    right.set_ylabel("phrases per completion")
    handles = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], loc="best", fontsize=9)
    return _save(plt, fig, path)


def accuracy_plot(comparison: dict[str, Any], path: Path) -> dict[str, Any]:
    plt, fig = _figure()
    ax = fig.add_subplot()
    models, benchmarks = comparison["models"], comparison["benchmarks"]
    width = 0.8 / len(models)
    for m, model in enumerate(models):
        xs, heights, below, above = [], [], [], []
        for b, bench in enumerate(benchmarks.values()):
            cell = bench["by_model"].get(model)
            if cell is None:
                continue
            low, high = cell["wilson_95"]
            xs.append(b - 0.4 + width * (m + 0.5))
            heights.append(100 * cell["accuracy"])
            below.append(100 * max(0.0, cell["accuracy"] - low))
            above.append(100 * max(0.0, high - cell["accuracy"]))
        bars = ax.bar(xs, heights, width * 0.9, yerr=[below, above], capsize=3, label=model)
        ax.bar_label(bars, labels=[f"{h:.1f}" for h in heights], fontsize=8, padding=2)
    chance = [(b, found) for b, bench in enumerate(benchmarks.values())
              if (found := next((c["chance"] for c in bench["by_model"].values() if c.get("chance") is not None), None))
              is not None]
    if chance:  # a random letter's accuracy on the items scored: bars under this line are worse than guessing
        ax.hlines([100 * c for _, c in chance], [b - 0.45 for b, _ in chance], [b + 0.45 for b, _ in chance],
                  colors="black", linestyles="dashed", linewidth=1, label="chance")
    ax.set_xticks(range(len(benchmarks)), [b["title"] for b in benchmarks.values()], rotation=15, ha="right")
    ax.set(title="Accuracy per benchmark with 95 % Wilson interval", ylabel="accuracy (%)", ylim=(0, 100))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    fig.subplots_adjust(bottom=0.2)
    return _save(plt, fig, path)


def subsets_plot(comparison: dict[str, Any], path: Path) -> dict[str, Any]:
    models, subsets = comparison["models"], comparison["subsets"]
    cells = {(i, j): cell for i, row in enumerate(subsets) for j, model in enumerate(models)
             if (cell := row["cells"].get(model)) is not None}
    return accuracy_heatmap([f"{r['title']} · {r['key']}: {r['value']}" for r in subsets], models, cells,
                            "Accuracy per subset (%)", path)


def accuracy_heatmap(rows: list[str], columns: list[str], cells: dict[tuple[int, int], dict[str, Any]], title: str,
                     path: Path) -> dict[str, Any]:
    """Rows × columns of accuracy (cells hold `accuracy` and `n`; missing cells stay blank)."""
    import numpy as np

    size = heatmap_size(len(rows), len(columns))
    plt, fig = _figure(size)
    ax = fig.add_subplot()
    grid = np.full((len(rows), len(columns)), np.nan)
    for (i, j), cell in cells.items():
        grid[i, j] = 100 * cell["accuracy"]
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    for (i, j), cell in cells.items():
        value = 100 * cell["accuracy"]
        ax.text(j, i, f"{value:.0f} % (n={cell['n']})", ha="center", va="center", fontsize=8,
                color="white" if value < 60 else "black")
    ax.set_xticks(range(len(columns)), columns, fontsize=9)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    # Room for the row names on the left and the column names below, in pixels of this figure.
    fig.subplots_adjust(left=min(0.6, 300 / size[0]), right=0.95, top=1 - 50 / size[1], bottom=70 / size[1])
    return _save(plt, fig, path)
