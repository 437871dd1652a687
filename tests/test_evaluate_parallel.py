"""Data-parallel evaluation: GPU layouts, batches dealt to workers, worker supervision, resumable shards,
and real worker processes on CPU giving exactly the single-process completions."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from medr1_cli.devices import visible_devices
from medr1_cli.errors import ConfigError
from medr1_cli.evaluate import parallel
from medr1_cli.evaluate.generate import CompletionStore, Request, chunks_of
from medr1_cli.evaluate.gpus import gpus_per_worker
from medr1_cli.resolution import resolve_config
from tests.conftest import medr1_executable, run_medr1


def config_with(tmp_path, *overrides):
    return resolve_config("tiny", [f"eval.output_dir={tmp_path / 'eval'}", *overrides])


def requests(benchmark: str, count: int) -> list[Request]:
    return [Request(f"k|{benchmark}|{i}", benchmark, str(i), 0, [{"role": "user", "content": f"q{i}"}])
            for i in range(count)]


def test_gpus_per_worker_and_every_impossible_layout(tmp_path):
    assert gpus_per_worker(config_with(tmp_path, "eval.data_parallel_size=4"), 8) == 2
    assert gpus_per_worker(config_with(tmp_path, "eval.data_parallel_size=3"), 8) == 2  # 2 GPUs left idle
    assert gpus_per_worker(config_with(tmp_path, "eval.data_parallel_size=2",
                                       "eval.tensor_parallel_size=1"), 8) == 1
    assert gpus_per_worker(config_with(tmp_path, "eval.data_parallel_size=2"), 0) is None  # CPU workers
    with pytest.raises(ConfigError) as caught:
        gpus_per_worker(config_with(tmp_path, "eval.data_parallel_size=2", "eval.tensor_parallel_size=4"), 4)
    assert "needs 8 GPUs; this machine has 4" in caught.value.message
    with pytest.raises(ConfigError, match="needs 5 GPUs"):
        gpus_per_worker(config_with(tmp_path, "eval.data_parallel_size=5"), 4)
    with pytest.raises(ConfigError, match="this machine has no GPU"):
        gpus_per_worker(config_with(tmp_path, "eval.tensor_parallel_size=2"), 0)


def test_workers_get_consecutive_gpus_within_the_callers_mask(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6,7")
    assert [visible_devices(range(k * 2, k * 2 + 2)) for k in range(2)] == ["4,5", "6,7"]


def test_batches_are_the_single_process_batches_dealt_in_turn():
    missing = {"medqa": requests("medqa", 10), "pubmedqa": requests("pubmedqa", 3)}
    dealt = parallel.deal_batches(missing, 4, 2)
    single = chunks_of(missing["medqa"], 4) + chunks_of(missing["pubmedqa"], 4)  # 4 + 4 + 2, then 3
    assert dealt == [[single[0], single[2]], [single[1], single[3]]]
    assert parallel.deal_batches({"medqa": requests("medqa", 2)}, 4, 3) == [[requests("medqa", 2)], [], []]


def test_batches_group_prompts_of_similar_length_longest_first_keeping_samples_together():
    def request(item: str, sample: int, length: int, images: tuple[str, ...] = ()) -> Request:
        return Request(f"k|{item}|{sample}", "medqa", item, sample, [{"role": "system", "content": "s"},
                                                                     {"role": "user", "content": "x" * length}], images)

    items = {"a": 5, "b": 40, "c": 12, "d": 30}
    arrival = [request(item, sample, length) for item, length in items.items() for sample in range(2)]
    assert [[(r.item_id, r.sample) for r in batch] for batch in chunks_of(arrival, 4)] == [
        [("b", 0), ("b", 1), ("d", 0), ("d", 1)], [("c", 0), ("c", 1), ("a", 0), ("a", 1)]]
    # an image adds hundreds of tokens whatever the text's length: questions with images come first
    with_image = request("e", 0, 1, ("scan.png",))
    assert chunks_of([*arrival, with_image], 3)[0] == [with_image, arrival[2], arrival[3]]


def test_shards_are_read_with_the_store_and_folded_into_it(tmp_path):
    store = CompletionStore(tmp_path / "completions.jsonl")
    store.add([{"key": "a", "completion": "1"}])
    CompletionStore(store.shard_path(0)).add([{"key": "b", "completion": "2"}])
    CompletionStore(store.shard_path(1)).add([{"key": "c", "completion": "3"}, {"key": "a", "completion": "1"}])
    with store.shard_path(1).open("a") as shard:
        shard.write('{"key": "d", "compl')  # a killed worker's half-written last row
    resumed = CompletionStore(tmp_path / "completions.jsonl")
    assert sorted(resumed.done) == ["a", "b", "c"]
    CompletionStore(store.shard_path(1)).add([{"key": "e", "completion": "5"}])  # the rerun's worker goes on
    resumed = CompletionStore(tmp_path / "completions.jsonl")
    assert sorted(resumed.done) == ["a", "b", "c", "e"]  # e starts a new line: not lost after the cut row
    resumed.fold_shards()
    assert not resumed.shards()
    assert sorted(CompletionStore(tmp_path / "completions.jsonl").done) == ["a", "b", "c", "e"]


def test_a_failing_worker_stops_the_others_and_names_its_log(tmp_path, monkeypatch):
    def command(work, model_path, store):
        if work.name == "worker-0.json":
            return [sys.executable, "-c", "import sys; print('out of memory on cuda:0'); sys.exit(3)"]
        return [sys.executable, "-c", "import time; time.sleep(60)"]

    monkeypatch.setattr(parallel, "worker_command", command)
    config = config_with(tmp_path, "eval.data_parallel_size=2", "eval.batch_size=1")
    store = CompletionStore(tmp_path / "eval" / "completions.jsonl")
    with pytest.raises(parallel.WorkerError) as caught:
        parallel.generate_in_parallel({"medqa": requests("medqa", 2)}, config, "model", store, Console(quiet=True))
    assert "worker 0 exited with code 3" in caught.value.message and "out of memory on cuda:0" in caught.value.message
    assert "rerun the same command" in caught.value.hint
    assert (tmp_path / "eval" / "data-parallel" / "worker-0.log").is_file()  # kept for the user


def test_a_workers_own_error_reaches_the_user_whole_with_its_hint(tmp_path, monkeypatch):
    real = parallel.worker_command

    def command(work, model_path, store):
        # a config the real worker refuses, with a key that Rich would read as markup if not escaped
        (work.parent / "medr1_config.yaml").write_text("eval:\n  '[bold]batch': 1\n")
        return real(work, model_path, store)

    monkeypatch.setattr(parallel, "worker_command", command)
    config = config_with(tmp_path, "eval.data_parallel_size=2", "eval.batch_size=1")
    store = CompletionStore(tmp_path / "eval" / "completions.jsonl")
    with pytest.raises(parallel.WorkerError) as caught:
        parallel.generate_in_parallel({"medqa": requests("medqa", 2)}, config, "model", store, Console(quiet=True))
    relayed = caught.value.message
    assert "exited with code 2" in relayed and "medr1: invalid configuration" in relayed
    assert "[bold]batch" in relayed and "hint: `medr1 config show --explain`" in relayed
    assert "fix what it reports" in caught.value.hint


@pytest.mark.slow
def test_two_cpu_workers_generate_exactly_what_one_process_does(tmp_path, talkative_model):
    common = ["-c", "tiny", "-m", str(talkative_model), "-b", "medxpertqa", "-b", "pubmedqa",
              "--set", "eval.data={medxpertqa: builtin:medxpertqa, pubmedqa: builtin:pubmedqa}",
              "--set", "eval.batch_size=4", "--set", "eval.max_new_tokens=16", "--set", "eval.limit=10",
              "--set", f"data.output_dir={tmp_path / 'data'}"]
    one = run_medr1("evaluate", *common, "-o", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    two = run_medr1("evaluate", *common, "-o", str(tmp_path / "two"), "--set", "eval.data_parallel_size=2")
    assert two.returncode == 0, two.stderr
    assert "20 completions generated (native engine, hf × 2 workers)" in two.stdout

    def completions(folder):
        return {k: row["completion"] for k, row in CompletionStore(tmp_path / folder / "completions.jsonl").done.items()}

    # every prompt gets text of its own, so equal stores mean each completion went to its own item
    assert len(set(completions("one").values())) == 20
    assert len(completions("two")) == 20 and completions("two") == completions("one")  # greedy: same batches, same text
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == [
        "completions.jsonl", "medr1_config.yaml", "results.json", "results.md"]  # shards folded, work files gone

    def predictions(folder):
        benchmarks = json.loads((tmp_path / folder / "results.json").read_text())["benchmarks"]
        return {name: [item["predictions"] for item in b["items"]] for name, b in benchmarks.items()}

    assert predictions("two") == predictions("one")


def workers_alive(marker: str) -> list[int]:
    """Pids of live processes whose command line mentions `marker` (the test's own folder)."""
    alive = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = next(line for line in (proc / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if "medr1_cli.evaluate.parallel" in cmdline and marker in cmdline and "zombie" not in state:
            alive.append(int(proc.name))
    return alive


@pytest.mark.slow
def test_killing_evaluate_stops_its_workers_and_a_rerun_generates_only_the_rest(tmp_path):
    args = ["evaluate", "-c", "tiny", "-b", "medxpertqa", "--set", "eval.data={medxpertqa: builtin:medxpertqa}",
            "--set", "eval.batch_size=1", "--set", "eval.max_new_tokens=48", "--set", "eval.data_parallel_size=2",
            "--set", f"data.output_dir={tmp_path / 'data'}", "-o", str(tmp_path / "eval")]
    parent = subprocess.Popen([medr1_executable(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = tmp_path / "eval" / "completions.jsonl"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(CompletionStore(store).done) < 6:
        time.sleep(0.2)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 30
    while workers_alive(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not workers_alive(str(tmp_path))  # no orphan goes on generating beside the rerun's workers
    kept = len(CompletionStore(store).done)
    assert 6 <= kept < 64
    resumed = run_medr1(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{64 - kept} completions generated (native engine, hf × 2 workers), {kept} reused" in resumed.stdout
    assert len(CompletionStore(store).done) == 64 and not CompletionStore(store).shards()
