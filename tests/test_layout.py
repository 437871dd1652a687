"""medr1_cli.layout: the one module that names what medr1 writes, a leaf every module can import; checkpoints
found alike by resume, export and analyze; training rollouts under their own name, old runs still read."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

from medr1_cli import layout
from medr1_cli.analyze.inputs import read_completions, sort_inputs
from medr1_cli.analyze.run import run_analysis
from tests.test_analyze import HAND_ROWS, hand_run, recording


def test_layout_imports_only_the_standard_library():
    tree = ast.parse(Path(layout.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported and all(name.split(".")[0] in sys.stdlib_module_names for name in imported), imported


def test_checkpoints_are_the_complete_ones_in_step_order(tmp_path):
    for name in ("checkpoint-10", "checkpoint-9", "checkpoint-100", "checkpoint-2", "checkpoint-x", "checkpoint-"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-11").mkdir()  # a save cut short: no trainer_state.json yet
    (tmp_path / "checkpoint-12").write_text("")  # a file, not a checkpoint
    assert [p.name for p in layout.checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-9", "checkpoint-10",
                                                             "checkpoint-100"]
    assert layout.checkpoints(str(tmp_path / "missing")) == []
    assert layout.checkpoint_step(tmp_path / "checkpoint-10") == 10 and layout.checkpoint_step(tmp_path) is None


def test_training_writes_rollouts_under_their_own_name(tmp_path):
    assert layout.rollouts_file(tmp_path, 0, 1) == tmp_path / "rollouts.jsonl"
    assert layout.rollouts_file(tmp_path, 1, 2) == tmp_path / "rollouts-rank1.jsonl"
    assert layout.COMPLETIONS_NAME == "completions.jsonl"  # the evaluation store keeps its name


def test_rollout_logs_are_one_per_process_old_name_first(tmp_path):
    for name in ("completions.jsonl", "rollouts.jsonl", "rollouts-rank1.jsonl", "completions-rank10.jsonl",
                 "completions-rank1.jsonl", "completions-dp0.jsonl", "rollouts-rankx.jsonl", "results.json"):
        (tmp_path / name).write_text("")
    assert [[p.name for p in log] for log in layout.rollout_logs(tmp_path)] == [
        ["completions.jsonl", "rollouts.jsonl"], ["completions-rank1.jsonl", "rollouts-rank1.jsonl"],
        ["completions-rank10.jsonl"]]
    assert layout.rollout_logs(tmp_path / "missing") == []


def test_analyze_reads_runs_under_the_old_rollout_name_and_the_new(tmp_path):
    old = hand_run(tmp_path / "old", name="completions.jsonl")  # a run made before rollouts had their own name
    new = hand_run(tmp_path / "new", name="rollouts.jsonl")
    figures = []
    for run in (old, new):
        assert sort_inputs([run], [])[0] == run
        summary = run_analysis(run, [], None, None, recording())
        assert summary["training"]["overall"]["completions"] == len(HAND_ROWS)
        figures.append(summary["training"]["per_step"])
    assert figures[0] == figures[1]
    ranks = hand_run(tmp_path / "ranks", HAND_ROWS[:2], name="completions-rank0.jsonl")
    (ranks / "completions-rank1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in HAND_ROWS[2:]))
    assert run_analysis(ranks, [], None, None, recording())["training"]["overall"]["completions"] == len(HAND_ROWS)


def test_a_run_resumed_across_the_rename_keeps_one_trajectory(tmp_path):
    # killed after step 2 while still writing completions.jsonl, resumed from checkpoint-1 into rollouts.jsonl
    def rows(steps, start):
        return [{"step": s, "completion": f"c{start + i}", "tokens": 1, "rewards": {"accuracy": float(start > 0)}}
                for i, s in enumerate(steps)]

    run = hand_run(tmp_path / "run", rows([0, 0, 1, 1, 2], 0), name="completions.jsonl")
    (run / "rollouts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows([1, 1, 2, 3], 5)))
    kept, dropped = read_completions(*layout.rollout_logs(run)[0])
    assert [r.completion for r in kept] == ["c0", "c1", "c5", "c6", "c7", "c8"] and dropped == 3
    summary = run_analysis(run, [], None, None, recording())
    assert [p["rewards"]["accuracy"] for p in summary["training"]["per_step"]] == [0.0, 1.0, 1.0, 1.0]
    assert summary["training"]["superseded_completions"] == 3
