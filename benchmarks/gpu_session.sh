#!/usr/bin/env bash
# One step of the GPU session for issue 7, run by the device tool in the repository root:
#   bash benchmarks/gpu_session.sh STEP
# Each step is one `run` call on ONE warm machine (calls back to back; /tmp survives between them).
# Carry per step (see benchmarks/RESULTS.md):
#   c1 [.whl-a .devcarry .gguf-1]   c2 [.whl-b .gguf-2]   c3 [.vllm-7 .gguf-3]   c4 [.vllm-1 .gguf-4]
#   c5 [.vllm-2 .gguf-5]   c6 [.vllm-3]   c7 [.vllm-4]   c8 [.vllm-5]   c9 [.vllm-6]
# .whl-a/.whl-b: ../shared/device/fetch_wheels.sh; .vllm-N: ../shared/device/fetch_vllm.sh;
# .devcarry and .gguf-N: `python benchmarks/gpu_grpo.py prepare --qwen-tiktoken .../qwen.tiktoken`.
set -u
step=$1
root=$PWD
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export VLLM_USE_FLASHINFER_SAMPLER=0 GRPO_CACHE=/tmp/grpo-cache UNSLOTH_DISABLE_STATISTICS=1
src=$root/packages/rewards/src:$root/packages/data/src:$root/packages/training/src:$root/packages/export/src
export PYTHONPATH=/tmp/site:$src
OUT=${OUT:-/tmp/out}; export OUT; mkdir -p "$OUT"
pipi() { python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$@"; }
stash() {  # keep what this call carried in /tmp: the repo copy may not keep it
  mkdir -p /tmp/gguf /tmp/vparts /tmp/devcarry
  for d in .gguf-*; do [ -d "$d" ] && cp "$d"/* /tmp/gguf/; done
  for d in .vllm-*; do [ -d "$d" ] && cp "$d"/* /tmp/vparts/; done
  if [ -d .devcarry ]; then cp -r .devcarry/. /tmp/devcarry/; else mkdir -p .devcarry && cp -r /tmp/devcarry/. .devcarry/; fi
  ls /tmp/gguf /tmp/vparts | tr '\n' ' '; echo; df -h /tmp | tail -1
}
with_vllm() { export PYTHONPATH=/tmp/site:/tmp/vsite:$src; }
bench() { python3 benchmarks/gpu_grpo.py "$@" 2>&1 | grep -v -E "it/s\]|s/it\]|Warning: " ; }
stash
case $step in
  c1)
    pipi /tmp/site .whl-a/*.whl .devcarry/wheels/*.whl && echo "installed whl-a + gguf"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    python3 -c "import torch, transformers, peft; print(torch.__version__, transformers.__version__, peft.__version__)"
    python3 benchmarks/gpu_grpo.py build llama-1b && python3 benchmarks/gpu_grpo.py build phi4-llama
    ;;
  c2)
    pipi /tmp/site .whl-b/*.whl && echo "installed whl-b"
    bench bench llama-1b --settings r16all-8x256 --paths a,b,c --warmup 2 --steps 5 --timeout 200
    ;;
  c3)
    bench bench phi4-llama --settings t1 --paths a,b --warmup 1 --steps 5 --timeout 280
    ;;
  c4)
    python3 benchmarks/gpu_grpo.py build qwen3-8b && \
      bench recipe qwen3-8b apps/r1_qwen3_dapo_id/recipe.yaml --warmup 1 --steps 2 --timeout 200
    python3 benchmarks/gpu_grpo.py build gemma3-4b && \
      bench recipe gemma3-4b apps/gemma3_gsm8k/recipe.yaml --warmup 1 --steps 2 --timeout 420
    rm -rf /tmp/models/gemma3-4b
    ;;
  c5)
    mkdir -p $GRPO_CACHE/gguf && cat /tmp/gguf/chunk* > $GRPO_CACHE/gguf/SmolLM2-135M-Instruct.Q4_1.gguf
    ls -la $GRPO_CACHE/gguf
    bench embedded --steps 60
    ;;
  c6)
    rm -rf /tmp/models/phi4-llama
    bench recipe phi4-phi3 apps/phi4_gsm8k/recipe.yaml --warmup 1 --steps 2 --timeout 300
    ;;
  c7|c8) echo "carried";;
  c9)
    mkdir -p /tmp/vw && cat /tmp/vparts/part* | tar x -C /tmp/vw && pipi /tmp/vsite /tmp/vw/*/*.whl && echo "installed vllm"
    with_vllm
    bench bench llama-1b --settings r16all-8x256 --paths v,d,a --tag llama-1b_r16all-8x256_vllm --timeout 200
    ;;
  c10)
    with_vllm
    bench recipe qwen3-8b apps/r1_qwen3_dapo_id/recipe.yaml --paths d --warmup 1 --steps 3 --tag qwen3-8b_recipe_vllm --timeout 400
    ;;
  *) echo "unknown step $step"; exit 2;;
esac
ls -la "$OUT"
