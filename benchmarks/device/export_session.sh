#!/usr/bin/env bash
# Device side of benchmarks/export_at_size.py (issue 17), on nvidia-h100-x2 (128 GB disk: a 14.66 B base,
# its merge and its GGUFs need ~112 GB). Carry .devcarry (tokenizers, wheels: gguf, diskcache; the unpacked
# llama.cpp sources as llama.cpp.tar.xz). Usage there:
#   bash benchmarks/device/export_session.sh tools                      (once: wheels, llama.cpp sources, build)
#   CUDA_VISIBLE_DEVICES=0 setsid bash benchmarks/device/export_session.sh phi4-llama 16 16 gate_proj up_proj down_proj &
#   CUDA_VISIBLE_DEVICES=1 setsid bash benchmarks/device/export_session.sh qwen3-8b 32 64 all &
# (tutorial 1's LoRA: r16, alpha 16, gate/up/down; tutorial 2's: r32, alpha 64, all linear layers)
# Each shape: random-init model (benchmarks/gpu_grpo.py build), a random LoRA, then merged, gguf q8_0+q4_k_m
# and a push dry run, each a stage of export_at_size.py in its own process. Results: /tmp/export/results.jsonl
set -uo pipefail
root=$(pwd)
mkdir -p /tmp/export /tmp/site /tmp/grpo-cache/llama.cpp-0.3.36-shared
[ -f /tmp/site/.done ] || { python3 -m pip install -q --no-index --no-deps --target /tmp/site .devcarry/wheels/*.whl && touch /tmp/site/.done; }
export PYTHONPATH=/tmp/site:$root/packages/export/src:$root/packages/training/src:$root/packages/data/src:$root/packages/rewards/src
export GRPO_CACHE=/tmp/grpo-cache HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
[ -d /tmp/grpo-cache/llama.cpp-0.3.36-shared/llama.cpp ] || tar xJf .devcarry/llama.cpp.tar.xz -C /tmp/grpo-cache/llama.cpp-0.3.36-shared
results=/tmp/export/results.jsonl
if [ "$1" = tools ]; then
  python3 benchmarks/export_at_size.py stage "llama.cpp tools (cmake, all cores)" --results $results -- \
    python3 -c "from grpo_export.llama_cpp import ensure_llama_cpp_tools as e; print(e())"
  exit
fi
shape=$1 r=$2 alpha=$3; shift 3
targets=("$@"); [ "${targets[0]}" = all ] && targets=(q_proj k_proj v_proj o_proj gate_proj up_proj down_proj)
bench() { python3 benchmarks/export_at_size.py stage "$shape $1" --results $results "${@:2}"; }
python3 benchmarks/gpu_grpo.py build "$shape" --models /tmp/models || exit 1
python3 benchmarks/export_at_size.py lora /tmp/models/$shape /tmp/export/$shape-lora --r $r --alpha $alpha --targets "${targets[@]}"
out=/tmp/export/$shape
bench merged --measure $out/merged -- python3 -m grpo_export -v merged /tmp/models/$shape /tmp/export/$shape-lora $out/merged
bench "gguf q8_0 q4_k_m" --measure $out/gguf -- python3 -m grpo_export -v gguf $out/merged $out/gguf --methods q8_0 q4_k_m
bench "push --dry-run" -- python3 -m grpo_export push $out/merged you/$shape-grpo --dry-run
cp $out/merged/.grpo-export.json /tmp/export/$shape-merged-checks.json 2>/dev/null
cp $out/gguf/.grpo-export.json /tmp/export/$shape-gguf-checks.json 2>/dev/null
df -h /tmp | tail -1
# the models stay: a later call may rerun a stage on them (x4 has 235 GB: both shapes fit)
echo "done $shape"
