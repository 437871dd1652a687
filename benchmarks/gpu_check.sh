#!/usr/bin/env bash
# The first-GPU-run check: on one CUDA GPU with no network, time
#   1. bf16 GRPO steps in-process (topology single, the hf generation path TRL uses without vLLM),
#   2. the same under accelerate + DeepSpeed ZeRO-3 with one process,
#   3. `medr1 evaluate` of the trained model on the GPU (hf backend),
# and write what each printed and how long it took to OUT/gpu_check.txt.
#
# The GPU machine has its own python3 with a CUDA torch and no network, so the packages medr1 pins
# that it lacks travel as wheels, fetched beforehand on a machine with network (no torch, no CUDA
# libraries: the GPU machine's own are used):
#
#   bash benchmarks/gpu_check.sh --fetch-wheels       # here: pinned wheels into .gpu-wheels/ (~40 MB)
#   bash benchmarks/gpu_check.sh [OUT]                # there, from the repository root
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=.gpu-wheels
GPU_PYTHON="${GPU_PYTHON:-3.12}"  # the GPU image's python3 (3.12 on this workplace's CUDA image)
# Packages medr1 needs beyond a CUDA PyTorch image (its python3 carries torch, numpy, pyarrow, …).
PACKAGES="trl transformers accelerate peft datasets deepspeed pydantic pydantic_core annotated-types
typing-inspection typer rich tokenizers safetensors huggingface_hub hf-xet dill multiprocess xxhash
pyyaml hjson ninja py-cpuinfo msgpack"

pinned() {  # name==version from constraints.txt (names compared without case, - and _ alike)
    local key
    key=$(echo "$1" | tr 'A-Z_' 'a-z-')
    awk -F'==' -v key="$key" '{name=tolower($1); gsub("_", "-", name)} name==key {print $1"=="$2}' constraints.txt
}

if [[ "${1:-}" == "--fetch-wheels" ]]; then
    mkdir -p "$WHEELS"
    for package in $PACKAGES; do
        spec=$(pinned "$package")
        [[ -n "$spec" ]] || { echo "not pinned in constraints.txt: $package" >&2; exit 2; }
        # wheels for the GPU machine's Python; deepspeed ships a source archive: built here, no ops compiled
        python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "$GPU_PYTHON" \
            --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
            -d "$WHEELS" "$spec" 2>/dev/null \
            || DS_BUILD_OPS=0 python3 -m pip wheel --quiet --no-deps "$spec" -w "$WHEELS"
    done
    du -sh "$WHEELS"
    exit 0
fi

OUT="${1:-${OUT:-gpu-check}}"
mkdir -p "$OUT"
REPORT="$OUT/gpu_check.txt"
PYTHON="${PYTHON:-python3}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
export MEDR1_HOME="$OUT/medr1-home"

"$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU visible'" || {
    echo "this check needs a CUDA GPU and a python3 whose torch sees it" >&2; exit 2; }
if [[ -d "$WHEELS" ]]; then
    DS_BUILD_OPS=0 "$PYTHON" -m pip install --quiet --no-index --no-deps --find-links "$WHEELS" "$WHEELS"/*.whl
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # medr1 from this checkout, in every process it launches

{
    echo "medr1 GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    "$PYTHON" -c "import torch, transformers, trl; print('torch', torch.__version__, 'transformers', transformers.__version__, 'trl', trl.__version__)"
} | tee "$REPORT"

timed() {  # timed NAME COMMAND...: run it, keep its output, record its wall time and exit code
    local name=$1 start code
    shift
    start=$(date +%s.%N)
    set +e
    "$@" > "$OUT/$name.log" 2>&1
    code=$?
    set -e
    printf '%-22s exit %d  %7.1f s\n' "$name" "$code" "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')" \
        | tee -a "$REPORT"
    tail -n 15 "$OUT/$name.log" | sed 's/^/    /' >> "$REPORT"
}

MEDR1=("$PYTHON" -m medr1_cli.cli)
GPU=(--set train.grpo.use_cpu=false --set train.grpo.bf16=true --set model.dtype=bfloat16
     --set train.grpo.max_steps=8 --set train.grpo.save_steps=8 --set "data.output_dir=$OUT/data")
timed train-bf16-single "${MEDR1[@]}" train -c tiny -o "$OUT/train-single" "${GPU[@]}"
timed train-zero3-1proc "${MEDR1[@]}" train -c tiny -o "$OUT/train-zero3" "${GPU[@]}" \
    --set train.topology=multi --set train.strategy=zero3 --set train.num_processes=1
timed evaluate-hf-gpu "${MEDR1[@]}" evaluate -c tiny -m "$OUT/train-single" -b demo --backend hf \
    --set model.dtype=bfloat16 -o "$OUT/eval"
echo "report: $REPORT"
