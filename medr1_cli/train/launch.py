"""`medr1 train`: turn the config into a launch plan — the files to write and the commands to run —
then print it (--dry-run), write a Slurm script (--slurm), or run it.

Topologies: `single` trains in this process; `multi` starts several training processes (accelerate,
or torchrun on CPU, where accelerate starts only one); `colocate` does the same with vLLM inside each
process; `server` starts `trl vllm-serve` on the last GPUs, waits for its health endpoint, trains on
the others, and always stops the server — after success, failure or Ctrl-C.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rich.console import Console
from rich.markup import escape

from medr1_cli.config import Medr1Config
from medr1_cli.devices import visible_devices
from medr1_cli.errors import Medr1Error
from medr1_cli.fsutil import atomic_write_text
from medr1_cli.layout import ACCELERATE_CONFIG_NAME, RESOLVED_CONFIG_NAME, SERVER_LOG_NAME
from medr1_cli.processes import stop, tail
from medr1_cli.train.presets import accelerate_config
from medr1_cli.train.preflight import Layout

TRAINING_MODULE = "medr1_cli.train.grpo"


class LaunchError(Medr1Error):
    title = "launch failed"


@dataclass
class Command:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # set on top of the current environment

    def shell(self) -> str:
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        return f"{prefix} {shlex.join(self.argv)}".strip()


@dataclass
class Plan:
    topology: str
    run_dir: Path
    files: dict[str, str]  # name in the run folder -> content
    train: Command | None  # None: train in this process
    server: Command | None = None
    health_url: str | None = None
    server_timeout: float = 600.0


def executable(name: str) -> str:
    """A console script of this environment (beside the running interpreter), else from PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def server_argv(config: Medr1Config, *, model_path: str, tensor_parallel: int, trl: str = "trl",
                host: str | None = None) -> list[str]:
    """`trl vllm-serve` with the model options the training processes use too. The server has no
    authentication and accepts weight updates, so it listens only where the training processes
    reach it: `train.vllm_server_host` (the loopback address on one machine), or `host`."""
    argv = [trl, "vllm-serve", "--model", model_path, "--tensor_parallel_size", str(tensor_parallel),
            "--host", host or config.train.vllm_server_host, "--port", str(config.train.vllm_server_port),
            "--gpu_memory_utilization", str(config.train.grpo.get("vllm_gpu_memory_utilization", 0.9))]
    if config.model.revision:
        argv += ["--revision", config.model.revision]
    if config.train.grpo.get("vllm_max_model_length"):
        argv += ["--max_model_len", str(config.train.grpo["vllm_max_model_length"])]
    if config.model.trust_remote_code:
        argv += ["--trust_remote_code", "true"]
    return argv


def build_plan(config: Medr1Config, layout: Layout, *, extra_args: list[str], model_path: str) -> Plan:
    train, grpo = config.train, config.train.grpo
    run_dir = Path(train.output_dir)
    config_path = run_dir / RESOLVED_CONFIG_NAME
    files = {RESOLVED_CONFIG_NAME: config.to_yaml()}
    if train.topology == "single":
        if layout.gpus <= 1:
            return Plan("single", run_dir, files, None)
        # transformers would see every GPU and wrap the model in nn.DataParallel, which GRPOTrainer refuses;
        # the GPU mask must be set before CUDA starts, so the run is a process of its own that sees one GPU.
        command = Command("train", [sys.executable, "-m", TRAINING_MODULE, "--config", str(config_path)],
                          {"CUDA_VISIBLE_DEVICES": visible_devices([0])})
        return Plan("single", run_dir, files, command)

    total = layout.train_processes * train.num_machines
    use_cpu = layout.gpus == 0
    script = ["-m", TRAINING_MODULE, "--config", str(config_path)]
    if use_cpu and layout.train_processes > 1:
        # accelerate starts a single process on CPU whatever --num_processes says; torchrun starts them all.
        argv = [executable("torchrun"), f"--nproc_per_node={layout.train_processes}",
                f"--nnodes={train.num_machines}", f"--node_rank={train.machine_rank}"]
        if train.num_machines > 1:
            argv += [f"--master_addr={train.main_process_ip}", f"--master_port={train.main_process_port}"]
        train_command = Command("train", [*argv, *extra_args, *script])
    else:
        precision = "fp16" if grpo.get("fp16") else ("no" if grpo.get("bf16") is False else "bf16")
        files[ACCELERATE_CONFIG_NAME] = yaml.safe_dump(accelerate_config(
            train.strategy, num_processes=total, num_machines=train.num_machines, machine_rank=train.machine_rank,
            main_process_ip=train.main_process_ip, main_process_port=train.main_process_port,
            mixed_precision=precision, use_cpu=use_cpu,
        ), sort_keys=False)
        argv = [executable("accelerate"), "launch", "--config_file", str(run_dir / ACCELERATE_CONFIG_NAME),
                "--num_processes", str(total), "--num_machines", str(train.num_machines),
                "--machine_rank", str(train.machine_rank)]
        if train.num_machines > 1:
            argv += ["--main_process_ip", str(train.main_process_ip), "--main_process_port", str(train.main_process_port)]
        train_command = Command("train", [*argv, *extra_args, *script])

    plan = Plan(train.topology, run_dir, files, train_command)
    if layout.gpus:
        train_command.env["CUDA_VISIBLE_DEVICES"] = visible_devices(layout.train_devices)
    if train.topology == "server" and train.machine_rank == 0:
        server = server_argv(config, model_path=model_path, tensor_parallel=layout.vllm_gpus, trl=executable("trl"))
        plan.server = Command("vllm-server", server, {"CUDA_VISIBLE_DEVICES": visible_devices(layout.vllm_devices)})
        plan.health_url = f"http://{train.vllm_server_host}:{train.vllm_server_port}/health"
        plan.server_timeout = train.vllm_server_timeout
    return plan


def describe(plan: Plan, console: Console) -> None:
    """What --dry-run prints: the files that would be written and every command, shell-quoted."""
    console.print(f"[bold]topology[/] {plan.topology}; run folder {escape(str(plan.run_dir))}")
    for name in plan.files:
        console.print(f"[bold]writes[/] {escape(str(plan.run_dir / name))}")
    if plan.server:
        console.print(f"[bold]vLLM server[/] (log: {escape(str(plan.run_dir / SERVER_LOG_NAME))}):")
        console.print(escape(plan.server.shell()), soft_wrap=True, highlight=False)
        console.print(f"[bold]wait for[/] {plan.health_url} (up to {plan.server_timeout:.0f} s)")
        console.print(f"[bold]exposure[/] the server listens on {escape(plan.server.argv[plan.server.argv.index('--host') + 1])} "
                      "only: `trl vllm-serve` has no authentication and accepts weight updates from anyone who can "
                      "reach that address")
    if plan.train and plan.topology == "single":
        console.print(f"[bold]training[/] on one GPU (CUDA_VISIBLE_DEVICES={plan.train.env['CUDA_VISIBLE_DEVICES']}): "
                      "topology single trains one process; topology multi trains on every GPU:")
        console.print(escape(plan.train.shell()), soft_wrap=True, highlight=False)
    elif plan.train:
        console.print("[bold]training[/]:")
        console.print(escape(plan.train.shell()), soft_wrap=True, highlight=False)
    else:
        console.print("[bold]training[/]: in this process")


def write_files(plan: Plan) -> None:
    for name, content in plan.files.items():
        atomic_write_text(plan.run_dir / name, content)


class Terminated(BaseException):
    """SIGTERM / SIGHUP (a scheduler cancelling the job, a closed terminal): unwind and clean up."""


def _raise_terminated(signum, frame):
    raise Terminated(signal.Signals(signum).name)


def execute(plan: Plan, console: Console) -> int:
    """Run the plan's commands (the server first, when there is one); the exit code of training.

    Both run in process groups of their own, and both are stopped on every way out: success,
    failure, Ctrl-C, SIGTERM or SIGHUP.
    """
    write_files(plan)
    previous = {sig: signal.signal(sig, _raise_terminated) for sig in (signal.SIGTERM, signal.SIGHUP)}
    server = training = None
    try:
        if plan.server:
            refuse_occupied_port(plan)
            server = start_server(plan, console)
            wait_for_health(plan, server)
            console.print(f"[green]✓[/] vLLM server healthy at {plan.health_url}")
        training = subprocess.Popen(plan.train.argv, env={**os.environ, **plan.train.env}, start_new_session=True)
        return training.wait()
    finally:
        if training is not None:
            stop(training)
        if server is not None:
            stop(server)
            console.print("vLLM server stopped")
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def refuse_occupied_port(plan: Plan) -> None:
    """A server already answering on the port would pass the health check in place of ours."""
    if _healthy(plan.health_url, timeout=1.0):
        raise LaunchError(
            f"something already answers {plan.health_url}; medr1 would train against it instead of its own server",
            hint="stop that server, or set train.vllm_server_port to a free port",
        )


def _healthy(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def start_server(plan: Plan, console: Console) -> subprocess.Popen:
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    log = (plan.run_dir / SERVER_LOG_NAME).open("ab")
    console.print(f"starting the vLLM server (log: {plan.run_dir / SERVER_LOG_NAME})")
    # Its own session, so stopping it also stops the workers it spawns.
    return subprocess.Popen(plan.server.argv, env={**os.environ, **plan.server.env}, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_health(plan: Plan, server: subprocess.Popen, poll: float = 1.0) -> None:
    deadline = time.monotonic() + plan.server_timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise LaunchError(
                f"the vLLM server exited with code {server.returncode} before it was ready",
                hint=f"its output is in {plan.run_dir / SERVER_LOG_NAME}; last lines:\n{tail(plan.run_dir / SERVER_LOG_NAME)}",
            )
        if _healthy(plan.health_url, timeout=poll) and server.poll() is None:
            return
        time.sleep(poll)
    raise LaunchError(
        f"the vLLM server did not answer {plan.health_url} within {plan.server_timeout:.0f} s",
        hint=f"raise train.vllm_server_timeout for a large model, or read {plan.run_dir / SERVER_LOG_NAME}",
    )
