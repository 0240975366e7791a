#!/usr/bin/env bash
# GPU checks: the TensorFlow.js trainers on the webgpu backend, the PyTorch trainers with
# --device cuda (fp32, fp16, bf16), and the data-parallel trainers on NCCL where the GPU count
# allows. Run from the repository root with the CLI bundle built by scripts/gpu-bundle.sh:
#   DEVICE=cuda BACKEND=webgpu OUT=/some/folder bash scripts/gpu-checks.sh
# DEVICE=cpu BACKEND=cpu gives the same checks on the CPU, for comparison.
# Writes one line per check to $OUT/checks.tsv (name, exit code, seconds, last output line) and
# each check's full output to $OUT/<name>.txt. SECTIONS picks what runs (default "tfjs torch
# ddp"; "frameworks" runs pytorch-ignite, poutyne and Keras, which must be importable there).
set -u
DEVICE=${DEVICE:-cuda}
BACKEND=${BACKEND:-webgpu}
OUT=${OUT:-out}
CLI=${CLI:-.gpu/cli.mjs}
NODE=${NODE:-node}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
printf 'check\texit\tseconds\tlast line\n' >"$OUT/checks.tsv"

run() {
  local name=$1
  shift
  local start=$SECONDS
  timeout -k 10 "${LIMIT:-150}" "$@" >"$OUT/$name.txt" 2>&1
  local rc=$?
  local last
  last=$(grep -v '^\s*$' "$OUT/$name.txt" | tail -n 1 | cut -c1-200)
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - start))" "$last" | tee -a "$OUT/checks.tsv"
}

SCENARIO=(--dataset-size 110 --batch-size 8 --accumulation 4 --epochs 2 --shuffle 7)
SECTIONS=${SECTIONS:-tfjs torch ddp}
has() { [[ " $SECTIONS " == *" $1 "* ]]; }
PY=(--python "$PYTHON" --device "$DEVICE")

{
  nvidia-smi -L 2>&1 || true
  "$PYTHON" -c 'import torch,sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.device_count(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")'
  "$PYTHON" -c 'import torch.distributed as d; print("nccl available", d.is_nccl_available())' 2>&1
  "$NODE" --version
} >"$OUT/environment.txt" 2>&1

# TensorFlow.js on the chosen backend.
if has tfjs; then
run tfjs-reference "$NODE" "$CLI" check --trainer reference --backend "$BACKEND" "${SCENARIO[@]}"
run tfjs-docs-loop "$NODE" "$CLI" check --trainer docs-loop --backend "$BACKEND" "${SCENARIO[@]}"
run tfjs-reference-mlp "$NODE" "$CLI" check --trainer reference --backend "$BACKEND" "${SCENARIO[@]}" --model mlp
run tfjs-reference-fp16 "$NODE" "$CLI" check --trainer reference --backend "$BACKEND" "${SCENARIO[@]}" --precision fp16
run tfjs-audit "$NODE" "$CLI" audit --trainer reference --trainer docs-loop --trainer two-loop --backend "$BACKEND" --runs 25 --seed 5 --json
fi

# PyTorch trainers on the device.
if has torch; then
run py-reference "$NODE" "$CLI" check --trainer python:reference "${PY[@]}" "${SCENARIO[@]}"
run py-reference-fp16 "$NODE" "$CLI" check --trainer python:reference "${PY[@]}" "${SCENARIO[@]}" --precision fp16
run py-reference-bf16 "$NODE" "$CLI" check --trainer python:reference "${PY[@]}" "${SCENARIO[@]}" --precision bf16
run py-reference-mlp "$NODE" "$CLI" check --trainer python:reference "${PY[@]}" "${SCENARIO[@]}" --model mlp
run py-docs-loop "$NODE" "$CLI" check --trainer python:docs-loop "${PY[@]}" "${SCENARIO[@]}"
run py-lightning "$NODE" "$CLI" check --trainer python:lightning "${PY[@]}" "${SCENARIO[@]}"
run py-lightning-fp16 "$NODE" "$CLI" check --trainer python:lightning "${PY[@]}" "${SCENARIO[@]}" --precision fp16
run py-accelerate "$NODE" "$CLI" check --trainer python:accelerate "${PY[@]}" "${SCENARIO[@]}"
run py-hf-trainer "$NODE" "$CLI" check --trainer python:hf-trainer "${PY[@]}" "${SCENARIO[@]}"
run py-hf-trainer-items "$NODE" "$CLI" check --trainer python:hf-trainer-items "${PY[@]}" "${SCENARIO[@]}"
LIMIT=200 run py-audit "$NODE" "$CLI" audit --trainer python:reference --trainer python:docs-loop "${PY[@]}" --runs 40 --seed 5 --json
fi

# Frameworks beyond Lightning, Accelerate and transformers.
if has frameworks; then
for name in ignite poutyne keras; do
  run "fw-$name" "$NODE" "$CLI" check --trainer "python:$name" "${PY[@]}" "${SCENARIO[@]}"
  run "fw-$name-fp16" "$NODE" "$CLI" check --trainer "python:$name" "${PY[@]}" "${SCENARIO[@]}" --precision fp16
done
LIMIT=200 run fw-audit "$NODE" "$CLI" audit --trainer python:ignite --trainer python:poutyne --trainer python:keras "${PY[@]}" --runs 30 --seed 5
fi

# Data parallel: W=1 runs without a process group; W=2 needs one GPU per rank on NCCL.
if has ddp; then
run ddp-reference-w1 "$NODE" "$CLI" check --trainer python:ddp-reference "${PY[@]}" "${SCENARIO[@]}" --world-size 1
run ddp-reference-w2 "$NODE" "$CLI" check --trainer python:ddp-reference "${PY[@]}" "${SCENARIO[@]}" --world-size 2
fi
echo "done" >>"$OUT/checks.tsv"
