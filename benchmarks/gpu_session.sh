#!/usr/bin/env bash
# One step of the GPU session for issue 7, run by the device tool in the repository root:
#   bash benchmarks/gpu_session.sh STEP
# Each step is one `run` call on ONE warm machine (calls back to back; /tmp survives between them).
# Carry per step (folders made by benchmarks/pack_device_carry.sh):
#   s1 [.carry-site .devcarry]  s2 [.carry-v1]  s3 [.carry-v2]  s4 [.carry-v3]  s5 [.carry-v4]
#   s6 [.carry-g1]  s7 [.carry-g2]  s8 []
# Costs seen on 2026-11-23 (H100): machine start ~90 s; an Unsloth run of the 1 B model ~110 s
# (load, compile and 2 warm-up steps ~90 s of it); vLLM engine start 90-150 s; a 14 B build 40 s.
# Put `2>&1 | tee $OUT/sN.txt` behind each call: a call stopped at its limit keeps its log.
set -u
step=$1
root=$PWD
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export VLLM_USE_FLASHINFER_SAMPLER=0 GRPO_CACHE=/tmp/grpo-cache UNSLOTH_DISABLE_STATISTICS=1
src=$root/packages/rewards/src:$root/packages/data/src:$root/packages/training/src:$root/packages/export/src
export PYTHONPATH=/tmp/site:$src
OUT=${OUT:-/tmp/out}; export OUT; mkdir -p "$OUT"
untar() { python3 -c "import sys, tarfile; tarfile.open(fileobj=sys.stdin.buffer, mode='r|xz').extractall(sys.argv[1], filter='tar')" "$1"; }
stash() {  # keep what this call carried in /tmp: the next call's repo copy does not have it
  mkdir -p /tmp/vparts /tmp/gguf /tmp/devcarry
  for d in .carry-v*; do [ -d "$d" ] && cp "$d"/* /tmp/vparts/; done
  for d in .carry-g*; do [ -d "$d" ] && cp "$d"/* /tmp/gguf/; done
  if [ -d .devcarry ]; then cp -r .devcarry/. /tmp/devcarry/; else mkdir -p .devcarry && cp -r /tmp/devcarry/. .devcarry/; fi
  echo "carried so far: $(ls /tmp/vparts /tmp/gguf | tr '\n' ' ')"; df -h /tmp | tail -1
}
with_vllm() { export PYTHONPATH=/tmp/site:/tmp/vsite:$src; }
bench() { python3 benchmarks/gpu_grpo.py "$@" 2>&1 | grep -v -E "it/s\]|s/it\]|Warning: " ; }
stash
case $step in
  s1)
    untar /tmp < .carry-site/site.tar.xz && echo "site: $(ls /tmp/site | wc -l) entries"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    python3 -c "import torch, transformers, peft, trl; print(torch.__version__, transformers.__version__, peft.__version__, trl.__version__)"
    python3 benchmarks/gpu_grpo.py build llama-1b && python3 benchmarks/gpu_grpo.py build gemma3-4b
    bench bench llama-1b --settings r16all-8x256 --paths a,b,a,b --warmup 2 --steps 6 --timeout 140
    ;;
  s2)  # Gemma-3 alone, HF-generate rollouts (2026-11-23: no step done in 460 s beside another run)
    bench recipe gemma3-4b apps/gemma3_gsm8k/recipe.yaml --warmup 0 --steps 1 --timeout 520
    ;;
  s3|s4) echo "carried";;
  s5)
    mkdir -p /tmp/vsite && cat /tmp/vparts/vsite.tar.xz.part* | untar /tmp && echo "vsite: $(ls /tmp/vsite | wc -l) entries"
    with_vllm
    python3 -c "import vllm; print('vllm', vllm.__version__)"
    bench bench llama-1b --settings r16all-8x256 --paths v,d --warmup 2 --steps 4 --tag llama-1b_r16all-8x256_vllm_lora --timeout 230
    ;;
  s6)
    with_vllm
    bench recipe gemma3-4b apps/gemma3_gsm8k/recipe.yaml --paths d --warmup 1 --steps 1 --tag gemma3-4b_recipe_vllm --timeout 500
    ;;
  s7)
    with_vllm
    python3 benchmarks/gpu_grpo.py build qwen3-8b
    bench recipe qwen3-8b apps/r1_qwen3_dapo_id/recipe.yaml --paths d --warmup 1 --steps 2 --tag qwen3-8b_recipe_vllm --timeout 480
    ;;
  s8)
    mkdir -p "$GRPO_CACHE/gguf" && cat /tmp/gguf/chunk* > "$GRPO_CACHE/gguf/SmolLM2-135M-Instruct.Q4_1.gguf"
    bench embedded --steps 40
    ;;
  *) echo "unknown step $step"; exit 2;;
esac
ls -la "$OUT"
