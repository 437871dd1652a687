"""`medr1 train`: real training on the tiny model (in-process, torchrun, accelerate + ZeRO-3), resume,
the launch plans for GPU topologies, preflight errors, the vLLM server lifecycle and the Slurm script."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import yaml
from rich.console import Console

from medr1_cli.errors import ConfigError
from medr1_cli.layout import checkpoints
from medr1_cli.resolution import resolve_config, shipped_configs_dir
from medr1_cli.train import preflight
from medr1_cli.train.grpo import grpo_kwargs, resume_from
from medr1_cli.train.launch import Command, LaunchError, Plan, Terminated, build_plan, execute
from medr1_cli.train.slurm import sbatch_script
from tests.conftest import run_medr1

HUATUO_MIX = shipped_configs_dir() / "huatuo-o1-7b-mix.yaml"


def tiny_args(tmp_path, *more):
    return ["-c", "tiny", "-o", str(tmp_path / "run"), "--set", f"data.output_dir={tmp_path / 'data'}", *more]


def completion_rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


# ------------------------------------------------------------------------- real training
@pytest.mark.slow
def test_in_process_training_checkpoints_logs_and_resumes(tmp_path):
    first = run_medr1("train", *tiny_args(tmp_path, "--set", "train.grpo.save_steps=1"))
    assert first.returncode == 0, first.stderr
    run = tmp_path / "run"
    assert [p.name for p in checkpoints(run)] == ["checkpoint-1", "checkpoint-2"]
    assert (tmp_path / "data" / "demo" / "manifest.json").is_file()  # prepared on the way
    rows = completion_rows(run / "rollouts.jsonl")
    assert {r["step"] for r in rows} == {0, 1} and len(rows) == 2 * 4
    assert set(rows[0]["rewards"]) == {"accuracy", "format"} and rows[0]["id"] and rows[0]["tokens"] <= 16
    assert "trained 2 steps" in first.stdout
    logged = json.loads((run / "trainer_state.json").read_text())["log_history"]
    assert {"rewards/accuracy/mean", "rewards/format/mean", "answers/unclosed_think_frac"} <= set(logged[0])

    # The same run, asked for 4 steps, continues from checkpoint-2: the step counter goes on.
    second = run_medr1("train", *tiny_args(tmp_path, "--set", "train.grpo.max_steps=4", "--set", "train.grpo.save_steps=1"))
    assert second.returncode == 0, second.stderr
    assert "resuming from" in second.stdout and "checkpoint-2" in second.stdout
    state = json.loads((run / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    steps = [r["step"] for r in completion_rows(run / "rollouts.jsonl")]
    assert steps[-4:] == [3, 3, 3, 3] and 2 in steps  # appended, not restarted

    never = run_medr1("train", *tiny_args(tmp_path, "--resume", "never"))
    assert never.returncode == 2 and "already holds checkpoint-4" in never.stderr


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_newest_checkpoint(tmp_path):
    args = tiny_args(tmp_path, "--set", "train.grpo.max_steps=400", "--set", "train.grpo.save_steps=1")
    from tests.conftest import medr1_executable

    process = subprocess.Popen([medr1_executable(), "train", *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    run = tmp_path / "run"
    deadline = time.monotonic() + 240
    while len(checkpoints(run)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # a crash, not a clean stop
    process.wait()
    reached = int(checkpoints(run)[-1].name.split("-")[1])
    assert 2 <= reached < 400
    resumed = run_medr1("train", *tiny_args(tmp_path, "--set", f"train.grpo.max_steps={reached + 2}"))
    assert resumed.returncode == 0, resumed.stderr
    assert f"checkpoint-{reached}" in resumed.stdout
    state = json.loads((run / f"checkpoint-{reached + 2}" / "trainer_state.json").read_text())
    assert state["global_step"] == reached + 2


@pytest.mark.slow
def test_lora_training_saves_an_adapter(tmp_path):
    result = run_medr1("train", *tiny_args(tmp_path, "--set", "model.lora.enabled=true", "--set", "model.lora.r=4"))
    assert result.returncode == 0, result.stderr
    adapter = json.loads((tmp_path / "run" / "adapter_config.json").read_text())
    assert adapter["r"] == 4 and adapter["peft_type"] == "LORA"
    assert not (tmp_path / "run" / "model.safetensors").exists()  # only the adapter, not a full copy


@pytest.mark.slow
def test_two_cpu_ranks_with_torchrun(tmp_path):
    result = run_medr1("train", *tiny_args(tmp_path, "--topology", "multi", "--num-processes", "2",
                                           "--set", "train.grpo.per_device_train_batch_size=2"))
    assert result.returncode == 0, result.stderr
    assert "terminate called" not in result.stderr  # every rank leaves its gloo group before exiting
    run = tmp_path / "run"
    assert (run / "rollouts-rank0.jsonl").is_file() and (run / "rollouts-rank1.jsonl").is_file()
    assert json.loads((run / "checkpoint-2" / "trainer_state.json").read_text())["global_step"] == 2


def test_the_training_script_leaves_its_process_group_before_exiting(tmp_path):
    script = (
        "import torch.distributed as dist\n"
        "from medr1_cli.train.grpo import _leave_process_group\n"
        f"dist.init_process_group('gloo', init_method='file://{tmp_path / 'store'}', rank=0, world_size=1)\n"
        "_leave_process_group(wait_for_the_others=True)\n"
        "print(dist.is_initialized())\n"
        "_leave_process_group(wait_for_the_others=True)  # a second call (or a run without a group) is a no-op\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.slow
def test_accelerate_launch_with_the_generated_zero3_config(tmp_path):
    result = run_medr1("train", *tiny_args(tmp_path, "--topology", "multi", "--num-processes", "1", "--strategy", "zero3"))
    assert result.returncode == 0, result.stderr
    generated = yaml.safe_load((tmp_path / "run" / "accelerate_config.yaml").read_text())
    assert generated["distributed_type"] == "DEEPSPEED" and generated["deepspeed_config"]["zero_stage"] == 3
    assert any((tmp_path / "run" / "checkpoint-2").glob("global_step*"))  # a DeepSpeed (sharded) checkpoint
    assert "trained 2 steps" in result.stdout


# -------------------------------------------------------------------------- launch plans
def plan_for(config, gpus, extra=()):
    layout = preflight.plan_layout(config, gpus)
    preflight.check(config, layout, extra_args=list(extra), dry_run=True)
    return build_plan(config, layout, extra_args=list(extra), model_path=config.model.name_or_path)


def test_reference_server_plan_three_train_gpus_and_one_vllm_gpu():
    plan = plan_for(resolve_config(HUATUO_MIX), 4)
    assert plan.server.env == {"CUDA_VISIBLE_DEVICES": "3"}
    assert plan.server.argv[1:] == [
        "vllm-serve", "--model", "FreedomIntelligence/HuatuoGPT-o1-7B", "--tensor_parallel_size", "1",
        "--host", "127.0.0.1", "--port", "8000", "--gpu_memory_utilization", "0.9",
    ]
    assert plan.train.env == {"CUDA_VISIBLE_DEVICES": "0,1,2"}
    assert plan.train.argv[1:] == [
        "launch", "--config_file", "runs/huatuo-o1-7b-mix/accelerate_config.yaml", "--num_processes", "3",
        "--num_machines", "1", "--machine_rank", "0", "-m", "medr1_cli.train.grpo",
        "--config", "runs/huatuo-o1-7b-mix/medr1_config.yaml",
    ]
    assert plan.health_url == "http://127.0.0.1:8000/health"
    accelerate = yaml.safe_load(plan.files["accelerate_config.yaml"])
    assert accelerate["deepspeed_config"]["offload_param_device"] == "cpu"  # zero3-offload
    assert (accelerate["num_processes"], accelerate["mixed_precision"]) == (3, "bf16")
    kwargs = grpo_kwargs(resolve_config(HUATUO_MIX), cuda_available=True)
    assert (kwargs["use_vllm"], kwargs["vllm_mode"], kwargs["vllm_server_port"]) == (True, "server", 8000)


def test_colocate_multinode_plan_and_passthrough_arguments():
    config = resolve_config(HUATUO_MIX, [
        "train.topology=colocate", "train.num_machines=2", "train.machine_rank=1",
        "train.main_process_ip=10.0.0.1", "train.strategy=zero2", "train.grpo.vllm_gpu_memory_utilization=0.3",
        "train.grpo.num_generations=4",
    ])
    plan = plan_for(config, 4, extra=["--max_restarts", "1"])
    argv = plan.train.argv
    assert plan.server is None and plan.train.env == {"CUDA_VISIBLE_DEVICES": "0,1,2,3"}
    assert argv[argv.index("--num_processes") + 1] == "8"  # 4 per machine x 2 machines
    assert argv[argv.index("--machine_rank") + 1] == "1"
    assert argv[argv.index("--main_process_ip") + 1] == "10.0.0.1"
    assert argv[argv.index("-m") - 2 : argv.index("-m")] == ["--max_restarts", "1"]
    assert grpo_kwargs(config, cuda_available=True)["vllm_mode"] == "colocate"


def test_dry_run_prints_commands_and_writes_nothing(tmp_path):
    result = run_medr1("train", "-c", str(HUATUO_MIX), "--dataset", "mix", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "CUDA_VISIBLE_DEVICES=3" in result.stdout and "vllm-serve" in result.stdout
    assert "CUDA_VISIBLE_DEVICES=0,1,2" in result.stdout and "--num_processes 3" in result.stdout
    assert "name_or_path: FreedomIntelligence/HuatuoGPT-o1-7B" in result.stdout  # the resolved config
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("recipe", sorted(shipped_configs_dir().glob("*.yaml")), ids=lambda p: p.stem)
def test_every_recipe_passes_preflight_and_trl_and_dry_runs(recipe, tmp_path, monkeypatch):

    from medr1_cli.train.command import run_train

    monkeypatch.chdir(tmp_path)
    console = Console(record=True, width=200)
    assert run_train(resolve_config(recipe), dry_run=True, console=console) is None
    assert "resolved config" in console.export_text()
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ preflight
def preflight_message(config, gpus, extra=(), dry_run=True):
    with pytest.raises(ConfigError) as caught:
        preflight.check(config, preflight.plan_layout(config, gpus), extra_args=list(extra), dry_run=dry_run)
    return caught.value.message


def test_an_explicit_generation_batch_must_hold_whole_global_batches():
    message = preflight_message(resolve_config(HUATUO_MIX, ["train.grpo.generation_batch_size=13"]), 4)
    assert "generation_batch_size 13 is not a multiple of the global batch (3 process(es) x 2 per device = 6)" in message
    assert "generation_batch_size 13 is not divisible by num_generations 3" in message
    ok = resolve_config(HUATUO_MIX, ["train.grpo.generation_batch_size=12"])  # 2 x 6, and 4 x 3
    preflight.check(ok, preflight.plan_layout(ok, 4), extra_args=[], dry_run=True)
    four = resolve_config(HUATUO_MIX, ["train.topology=multi", "train.grpo.generation_batch_size=12"])
    assert "is not a multiple of the global batch (4 process(es) x 2 per device = 8)" in preflight_message(four, 4)


def test_steps_per_generation_with_several_processes_passes_trl(monkeypatch, tmp_path):
    from medr1_cli.train.command import run_train

    monkeypatch.chdir(tmp_path)
    config = resolve_config(HUATUO_MIX, ["train.topology=multi", "train.grpo.gradient_accumulation_steps=1",
                                         "train.grpo.steps_per_generation=1", "train.grpo.num_generations=8"])
    assert run_train(config, dry_run=True, console=Console(quiet=True)) is None  # 4 x 2 x 1 = 8


def test_batch_not_divisible_names_the_nearest_valid_settings():
    config = resolve_config(HUATUO_MIX, ["train.grpo.num_generations=5"])
    message = preflight_message(config, 4)
    assert "(3 process(es) x 2 per device x 16 steps = 96) is not divisible by num_generations 5" in message
    assert "per_device_train_batch_size 5" in message and "num_generations 4" in message


def test_hardware_and_topology_problems_are_collected():
    config = resolve_config(HUATUO_MIX, ["train.grpo.num_generations=1", "model.lora.load_in_4bit=true",
                                         "train.grpo.vllm_gpu_memory_utilization=0.99"])
    message = preflight_message(config, 0, dry_run=False)
    assert "topology 'server' runs vLLM and needs CUDA GPUs; this machine has none" in message
    assert "num_generations is 1" in message
    assert "vllm_gpu_memory_utilization 0.99 is outside (0, 0.95]" in message
    assert "Q-LoRA) needs a CUDA GPU" in message
    assert "gives 1 GPU(s) to vLLM but the machine has 1" in preflight_message(resolve_config(HUATUO_MIX), 1)
    colocate = resolve_config(HUATUO_MIX, ["train.topology=colocate", "train.grpo.vllm_gpu_memory_utilization=0.9"])
    assert "shares each GPU with training" in preflight_message(colocate, 4)


def test_single_topology_takes_no_launcher_arguments():
    assert "topology single does not use" in preflight_message(resolve_config("tiny"), 0, extra=["--foo"])


def test_stale_owned_and_unknown_grpo_keys():
    config = resolve_config("tiny", ["train.grpo.max_prompt_length=512", "train.grpo.warmup_ratio=0.1",
                                     "train.grpo.output_dir=x", "train.grpo.learning_rat=1e-5"])
    with pytest.raises(ConfigError) as caught:
        grpo_kwargs(config, cuda_available=False)
    message = caught.value.message
    assert "max_prompt_length: removed in TRL 0.28" in message and "data.max_prompt_tokens" in message
    assert "warmup_ratio: removed in transformers 5; use warmup_steps" in message
    assert "train.grpo.output_dir: set train.output_dir instead" in message
    assert "learning_rat: not an option of TRL's GRPOConfig (did you mean 'learning_rate'?)" in message


def test_a_curriculum_keeps_trl_from_shuffling():
    assert grpo_kwargs(resolve_config("tiny", ["data.curriculum=interleave"]), cuda_available=False)[
        "shuffle_dataset"] is False
    assert "shuffle_dataset" not in grpo_kwargs(resolve_config("tiny"), cuda_available=False)
    with pytest.raises(ConfigError, match="would shuffle the ordered items"):
        grpo_kwargs(resolve_config("tiny", ["data.curriculum=easy-to-hard", "train.grpo.shuffle_dataset=true"]),
                    cuda_available=False)


def test_prepared_data_is_prepared_again_when_an_input_file_changes(tmp_path):
    from medr1_cli.data.sources import builtin_files
    from medr1_cli.train.grpo import prepared_dataset

    source = tmp_path / "medqa.jsonl"
    source.write_text(builtin_files()["medqa"].read_text())
    config = resolve_config("tiny", [f"data.sources.demo-medqa={source}", f"data.output_dir={tmp_path / 'data'}"])
    console = Console(record=True, width=400)
    first = prepared_dataset(config, console, may_prepare=True)
    assert "not prepared yet" in console.export_text()
    prepared_dataset(config, console, may_prepare=True)
    assert "out of date" not in console.export_text()  # unchanged: reused
    source.write_text("\n".join(source.read_text().splitlines()[:-1]) + "\n")  # one question fewer
    again = prepared_dataset(config, console, may_prepare=True)
    assert f"{source} changed since" in console.export_text()
    assert len(again) == len(first)  # 48 + 16 still fit in 63 + 64 questions
    with pytest.raises(Exception, match="out of date"):
        source.write_text(source.read_text() + "\n")
        prepared_dataset(config, console, may_prepare=False)


def test_cpu_defaults_and_trl_validation_through_the_cli(tmp_path):
    kwargs = grpo_kwargs(resolve_config("tiny"), cuda_available=False)
    assert (kwargs["use_cpu"], kwargs["bf16"], kwargs["output_dir"]) == (True, False, "runs/tiny/train")
    result = run_medr1("train", "-c", "tiny", "--set", "train.grpo.lr_scheduler_type=cosinus", cwd=tmp_path)
    assert result.returncode == 2 and "TRL rejected train.grpo" in result.stderr and "cosinus" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_training_script_prints_an_error_whole_with_its_hint(tmp_path, capsys):
    from medr1_cli.train.grpo import main

    config = tmp_path / "medr1_config.yaml"
    config.write_text("train:\n  '[bold]steps': 1\n")  # Rich would read the key as markup if not escaped
    with pytest.raises(SystemExit) as exited:
        main(["--config", str(config)])
    assert exited.value.code == 2
    printed = capsys.readouterr().err
    assert "medr1: invalid configuration" in printed and "[bold]steps" in printed
    assert "hint: `medr1 config show --explain`" in printed


def test_resume_targets(tmp_path):
    run = tmp_path / "run"
    for step in (5, 10):
        (run / f"checkpoint-{step}").mkdir(parents=True)
        (run / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    (run / "checkpoint-15").mkdir()  # incomplete: no trainer_state.json
    config = resolve_config("tiny", [f"train.output_dir={run}"])
    assert resume_from(config) == str(run / "checkpoint-10")
    assert resume_from(resolve_config("tiny", [f"train.output_dir={run}", f"train.resume={run / 'checkpoint-5'}"])) == str(
        run / "checkpoint-5"
    )
    with pytest.raises(ConfigError, match="not a checkpoint folder"):
        resume_from(resolve_config("tiny", [f"train.output_dir={run}", f"train.resume={run / 'checkpoint-15'}"]))
    assert resume_from(resolve_config("tiny", [f"train.output_dir={tmp_path / 'fresh'}", "train.resume=never"])) is None



def test_a_checkpoint_of_another_model_is_not_resumed(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoint-6").mkdir(parents=True)
    (run / "checkpoint-6" / "trainer_state.json").write_text("{}")
    resolve_config("tiny", [f"train.output_dir={run}", "model.lora.enabled=true", "model.lora.r=8"]).write_beside(run)
    same = resolve_config("tiny", [f"train.output_dir={run}", "model.lora.enabled=true", "model.lora.r=8"])
    assert resume_from(same) == str(run / "checkpoint-6")
    for change in (["model.name_or_path=builtin:smollm2-135m-instruct", "model.lora.enabled=true", "model.lora.r=8"],
                   ["model.lora.enabled=true", "model.lora.r=4"], []):
        with pytest.raises(ConfigError) as caught:
            resume_from(resolve_config("tiny", [f"train.output_dir={run}", *change]))
        assert "was trained from builtin:tiny (LoRA r=8)" in caught.value.message
        assert "another train.output_dir" in caught.value.hint

# ---------------------------------------------------------------------- server lifecycle
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stand_in_plan(tmp_path, server_argv, train_argv, timeout=30.0, port=None):
    """A plan whose server is a real local HTTP process serving /health, like `trl vllm-serve`."""
    port = port or free_port()
    return Plan(
        "server", tmp_path / "run", {}, Command("train", train_argv), Command("vllm-server", server_argv),
        health_url=f"http://127.0.0.1:{port}/health", server_timeout=timeout,
    )


def http_server(tmp_path, port):
    root = tmp_path / "www"
    root.mkdir(exist_ok=True)
    (root / "health").write_text("ok")
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)]


def track_servers(monkeypatch) -> list:
    """Record the server processes execute() starts, to check they are gone afterwards."""
    import medr1_cli.train.launch as launch

    started = []
    real_start = launch.start_server
    monkeypatch.setattr(launch, "start_server", lambda p, c: started.append(real_start(p, c)) or started[-1])
    return started


def test_server_started_health_waited_training_run_and_server_stopped(tmp_path, monkeypatch):
    port = free_port()
    # The training command only succeeds if the server answers while it runs.
    check = f"import urllib.request; assert urllib.request.urlopen('http://127.0.0.1:{port}/health').status == 200"
    plan = stand_in_plan(tmp_path, http_server(tmp_path, port), [sys.executable, "-c", check], port=port)
    started = track_servers(monkeypatch)
    assert execute(plan, Console(quiet=True)) == 0
    assert started[0].poll() is not None  # stopped after success


def test_server_is_stopped_when_training_fails(tmp_path, monkeypatch):
    port = free_port()
    plan = stand_in_plan(tmp_path, http_server(tmp_path, port), [sys.executable, "-c", "raise SystemExit(3)"], port=port)
    started = track_servers(monkeypatch)
    assert execute(plan, Console(quiet=True)) == 3
    assert started and started[0].poll() is not None


@pytest.mark.parametrize(("signum", "raised"), [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)])
def test_ctrl_c_or_sigterm_stops_server_and_training(tmp_path, monkeypatch, signum, raised):
    import threading

    import medr1_cli.train.launch as launch

    port = free_port()
    plan = stand_in_plan(tmp_path, http_server(tmp_path, port),
                         [sys.executable, "-c", "import time; time.sleep(120)"], port=port)
    servers = track_servers(monkeypatch)
    trainings = []
    real_popen = launch.subprocess.Popen

    def recording_popen(*args, **kwargs):
        trainings.append(real_popen(*args, **kwargs))
        return trainings[-1]

    monkeypatch.setattr(launch.subprocess, "Popen", recording_popen)
    # Once training runs, signal this process as a terminal (Ctrl-C) or a scheduler (SIGTERM) would.
    threading.Thread(target=lambda: (_wait_until(lambda: len(trainings) == 2), os.kill(os.getpid(), signum)),
                     daemon=True).start()
    with pytest.raises(raised):
        execute(plan, Console(quiet=True))
    assert servers[0].poll() is not None and trainings[-1].poll() is not None
    assert signal.getsignal(signal.SIGTERM) is not launch._raise_terminated  # handlers restored


def _wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_port_already_answering_is_refused(tmp_path, monkeypatch):
    port = free_port()
    squatter = subprocess.Popen(http_server(tmp_path, port))
    try:
        _wait_until(lambda: __import__("medr1_cli.train.launch").train.launch._healthy(
            f"http://127.0.0.1:{port}/health", 0.5))
        plan = stand_in_plan(tmp_path, [sys.executable, "-c", "pass"], [sys.executable, "-c", "pass"], port=port)
        started = track_servers(monkeypatch)
        with pytest.raises(LaunchError, match="something already answers"):
            execute(plan, Console(quiet=True))
        assert started == []
    finally:
        squatter.kill()
        squatter.wait()


def test_gpu_indices_respect_an_existing_cuda_mask(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6,7")
    plan = plan_for(resolve_config(HUATUO_MIX), 4)
    assert plan.train.env == {"CUDA_VISIBLE_DEVICES": "4,5,6"} and plan.server.env == {"CUDA_VISIBLE_DEVICES": "7"}


def test_server_that_never_gets_healthy_times_out_and_is_killed(tmp_path, monkeypatch):
    plan = stand_in_plan(tmp_path, [sys.executable, "-c", "import time; time.sleep(120)"],
                         [sys.executable, "-c", "pass"], timeout=2.0)
    started = track_servers(monkeypatch)
    begun = time.monotonic()
    with pytest.raises(LaunchError) as caught:
        execute(plan, Console(quiet=True))
    assert time.monotonic() - begun < 30
    assert "did not answer http://127.0.0.1:" in caught.value.message and "within 2 s" in caught.value.message
    assert started[0].poll() is not None


def test_server_that_dies_early_is_reported_with_its_log(tmp_path):
    plan = stand_in_plan(tmp_path, [sys.executable, "-c", "print('CUDA out of memory'); raise SystemExit(1)"],
                         [sys.executable, "-c", "pass"])
    with pytest.raises(LaunchError) as caught:
        execute(plan, Console(quiet=True))
    assert "exited with code 1 before it was ready" in caught.value.message
    assert "CUDA out of memory" in caught.value.hint


# -------------------------------------------------------------------------------- Slurm
def test_slurm_script_puts_vllm_on_a_node_of_its_own(tmp_path):
    config = resolve_config(HUATUO_MIX, ["train.num_machines=2", "train.main_process_ip=placeholder",
                                         f"train.output_dir={tmp_path / 'run'}"])
    layout = preflight.plan_layout(config, 4, server_node_of_its_own=True)
    script = sbatch_script(config, layout, model_path="FreedomIntelligence/HuatuoGPT-o1-7B")
    assert "#SBATCH --nodes=3" in script and "#SBATCH --gres=gpu:4" in script
    assert 'VLLM_NODE="${NODES[0]}"' in script and "--tensor_parallel_size 1" in script
    # Every GPU of the two training nodes trains: 2 x 4 processes.
    assert "--num_processes 8 --num_machines 2 --machine_rank $SLURM_NODEID" in script
    assert 'kill -0 "$SERVER_PID"' in script  # a dead server ends the wait at once
    assert '--set "train.vllm_server_host=$VLLM_NODE"' in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0  # valid bash


def test_slurm_flag_prepares_data_and_writes_the_script_and_run_files(tmp_path):
    target = tmp_path / "job.sbatch"
    # The demo mix (no download) in the reference layout, with every training GPU in use: 4 x 2 x 16 = 128.
    result = run_medr1("train", "-c", str(HUATUO_MIX), "--dataset", "demo", "--slurm", str(target),
                       "-o", str(tmp_path / "run"), "--set", f"data.output_dir={tmp_path / 'data'}",
                       "--set", "train.grpo.num_generations=4", "--model", "builtin:tiny")
    assert result.returncode == 0, result.stderr
    assert target.read_text().startswith("#!/bin/bash")
    accelerate = yaml.safe_load((tmp_path / "run" / "accelerate_config.yaml").read_text())
    assert accelerate["num_processes"] == 4 and (tmp_path / "run" / "medr1_config.yaml").is_file()
    assert (tmp_path / "data" / "demo" / "manifest.json").is_file()  # prepared before the job is queued
    refused = run_medr1("train", "-c", "tiny", "--slurm", str(tmp_path / "cpu.sbatch"))
    assert refused.returncode == 2 and "--slurm writes a multi-GPU job" in refused.stderr


def test_the_training_summary_tells_too_easy_from_too_hard_groups(tmp_path):
    from rich.console import Console

    from medr1_cli.train.grpo import _accuracy_outcomes, _print_summary

    def row(step, item, accuracy):
        return json.dumps({"step": step, "id": item, "completion": "x", "tokens": 2,
                           "rewards": {"accuracy": accuracy}}) + "\n"

    (tmp_path / "rollouts-rank0.jsonl").write_text(row(0, "a", 1.0) + row(0, "a", 1.0) + row(2, "b", 0.0))
    (tmp_path / "rollouts-rank1.jsonl").write_text(row(0, "c", 0.0) + row(0, "c", 1.0) + row(2, "b", 0.0))
    outcomes = _accuracy_outcomes(tmp_path)  # the two ranks' halves of group b make one group
    assert outcomes["first"] == {"all_correct": 0.5, "all_wrong": 0.0}
    assert outcomes["last"] == {"all_correct": 0.0, "all_wrong": 1.0}
    assert outcomes["run"]["all_correct"] == pytest.approx(1 / 3)
    console = Console(record=True, width=200)
    _print_summary(console, {"steps": 3, "rewards": {}, "reward_means": {}, "zero_variance": None,
                             "accuracy_outcomes": outcomes, "model": "m", "rollouts": "r", "checkpoints": []})
    assert "groups all correct (too easy): 50 % at the first step, 0 % at the last, 33 % over the run" in \
        console.export_text()
