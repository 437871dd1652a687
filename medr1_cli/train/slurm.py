"""An sbatch script for a multi-node run: training nodes, plus a node of its own for the vLLM server
in topology server. The training command reaches the server through the node's hostname, which the
script passes to the training script as an override."""

from __future__ import annotations

import shlex
from pathlib import Path

from medr1_cli.config import Medr1Config
from medr1_cli.layout import ACCELERATE_CONFIG_NAME, RESOLVED_CONFIG_NAME, SERVER_LOG_NAME
from medr1_cli.train.launch import TRAINING_MODULE, server_argv
from medr1_cli.train.preflight import Layout


def sbatch_script(config: Medr1Config, layout: Layout, *, model_path: str, job_name: str = "medr1") -> str:
    """`layout` describes a training node (plan_layout(..., server_node_of_its_own=True))."""
    train = config.train
    run = Path(train.output_dir).resolve()
    server = train.topology == "server"
    nodes = train.num_machines + (1 if server else 0)
    gpus = layout.gpus
    total = layout.train_processes * train.num_machines
    port = train.vllm_server_port
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={job_name}",
        f"#SBATCH --nodes={nodes}",
        "#SBATCH --ntasks-per-node=1",
        f"#SBATCH --gres=gpu:{gpus}",
        "#SBATCH --exclusive",
        f"#SBATCH --output={run}/slurm-%j.out",
        "set -euo pipefail",
        "",
        'NODES=($(scontrol show hostnames "$SLURM_JOB_NODELIST"))',
    ]
    if server:
        # It listens on the address the training nodes reach it by (its node's name), not on every interface.
        serve = shlex.join(server_argv(config, model_path=model_path, tensor_parallel=train.vllm_server_gpus,
                                       host="$VLLM_NODE")).replace("'$VLLM_NODE'", '"$VLLM_NODE"')
        lines += [
            'VLLM_NODE="${NODES[0]}"',
            'TRAIN_NODES=("${NODES[@]:1}")',
            "",
            "# The vLLM server on a node of its own; stopped when the job ends.",
            f'srun --nodes=1 --ntasks=1 -w "$VLLM_NODE" {serve} > {shlex.quote(str(run / SERVER_LOG_NAME))} 2>&1 &',
            "SERVER_PID=$!",
            "trap 'kill $SERVER_PID 2>/dev/null || true' EXIT",
            f"deadline=$((SECONDS + {int(train.vllm_server_timeout)}))",
            f'until curl -sf "http://$VLLM_NODE:{port}/health" > /dev/null; do',
            '  if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "the vLLM server exited; see its log" >&2; exit 1; fi',
            '  if (( SECONDS > deadline )); then echo "vLLM server not healthy in time" >&2; exit 1; fi',
            "  sleep 5",
            "done",
        ]
        override = '--set "train.vllm_server_host=$VLLM_NODE"'
    else:
        lines += ['TRAIN_NODES=("${NODES[@]}")']
        override = ""
    launch = (
        f"accelerate launch --config_file {shlex.quote(str(run / ACCELERATE_CONFIG_NAME))} "
        f"--num_processes {total} --num_machines {train.num_machines} --machine_rank $SLURM_NODEID "
        f'--main_process_ip "$MAIN" --main_process_port {train.main_process_port} '
        f"-m {TRAINING_MODULE} --config {shlex.quote(str(run / RESOLVED_CONFIG_NAME))} {override}"
    ).strip()
    lines += [
        'MAIN="${TRAIN_NODES[0]}"',
        "export MAIN VLLM_NODE" if server else "export MAIN",
        "",
        "# One accelerate launcher per training node; SLURM_NODEID gives each its machine rank.",
        f'srun --nodes={train.num_machines} --ntasks={train.num_machines} -w "$(IFS=,; echo "${{TRAIN_NODES[*]}}")" \\',
        f"  bash -c {shlex.quote(launch)}",
        "",
    ]
    return "\n".join(lines)
