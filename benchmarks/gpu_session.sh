#!/usr/bin/env bash
# One step of the GPU session for issue 7, run by the device tool in the repository root:
#   bash benchmarks/gpu_session.sh STEP
# Each step is one `run` call on ONE warm machine (calls back to back; /tmp survives between them).
# Work that needs no clean timing runs as background jobs (`job`: setsid, so they outlive the call that
# started them, each in its own copy of the repo) while later calls carry the next parts; timed work
# (the a/b and v/d tables) runs in the foreground only once no job is left (`wait_jobs`).
# Carry per step (folders made by benchmarks/pack_device_carry.sh):
#   c1 [.carry-site .devcarry]  c2 [.carry-g1]  c3 [.carry-g2]  c4 [.carry-v1]  c5 [.carry-v2]
#   c6 [.carry-v3]  c7 [.carry-v4]  c8..c10 []
# Costs seen on 2026-11-23 (H100): machine start ~90 s; an Unsloth run of the 1 B model ~110 s
# (load, compile and 2 warm-up steps ~90 s of it); vLLM engine start 90-150 s; a 14 B build 40 s.
# Put `2>&1 | tee $OUT/STEP.txt` behind each call: a call stopped at its limit keeps its log.
set -u
step=$1
root=$PWD
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export VLLM_USE_FLASHINFER_SAMPLER=0 GRPO_CACHE=/tmp/grpo-cache UNSLOTH_DISABLE_STATISTICS=1
srcs() { echo "$1/packages/rewards/src:$1/packages/data/src:$1/packages/training/src:$1/packages/export/src"; }
export PYTHONPATH=/tmp/site:$(srcs "$root")
OUT=${OUT:-/tmp/out}; export OUT; mkdir -p "$OUT" /tmp/jobs
untar() { python3 -c "import sys, tarfile; tarfile.open(fileobj=sys.stdin.buffer, mode='r|xz').extractall(sys.argv[1], filter='tar')" "$1"; }
stash() {  # keep what this call carried in /tmp: the next call's repo copy does not have it
  mkdir -p /tmp/vparts /tmp/gguf /tmp/devcarry
  for d in .carry-v*; do [ -d "$d" ] && cp "$d"/* /tmp/vparts/; done
  for d in .carry-g*; do [ -d "$d" ] && cp "$d"/* /tmp/gguf/; done
  if [ -d .devcarry ]; then cp -r .devcarry/. /tmp/devcarry/; else mkdir -p .devcarry && cp -r /tmp/devcarry/. .devcarry/; fi
  echo "carried so far: $(ls /tmp/vparts /tmp/gguf | tr '\n' ' ')"; df -h /tmp | tail -1
}
vllm_path() { [ -d /tmp/vsite/vllm ] && echo ":/tmp/vsite"; }
# job NAME [ENV=VALUE ...] -- ARGS...: `python3 benchmarks/gpu_grpo.py ARGS` in the background, in its own
# copy of the repo (the next call replaces this one), logging to /tmp/jobs/NAME/log.txt, rc in .../rc.
job() {
  local name=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  local dir=/tmp/jobs/$name
  rm -rf "$dir" && mkdir -p "$dir/out" "$dir/repo"
  tar cf - --exclude='./.carry-*' --exclude=./unsloth_compiled_cache . | tar xf - -C "$dir/repo"
  (cd "$dir/repo" && setsid env "${envs[@]}" OUT="$dir/out" PYTHONPATH="/tmp/site$(vllm_path):$(srcs "$dir/repo")" \
     bash -c 'echo $$ > ../pid; date +%s > ../started; python3 benchmarks/gpu_grpo.py "$@" > ../log.txt 2>&1; echo $? > ../rc' \
     job "$@" < /dev/null > /dev/null 2>&1 &)
  echo "job $name started: $*"
}
running() { local n=0 d; for d in /tmp/jobs/*/; do [ -f "$d/started" ] && [ ! -f "$d/rc" ] && n=$((n + 1)); done; echo $n; }
status() {
  local d
  for d in /tmp/jobs/*/; do
    [ -f "$d/started" ] || continue
    echo "--- $(basename "$d"): $([ -f "$d/rc" ] && echo "rc $(cat "$d/rc")" || echo running) after $(( $(date +%s) - $(cat "$d/started") )) s"
    grep -v -E "it/s\]|s/it\]|Warning: |^  File |^    " "$d/log.txt" 2>/dev/null | tail -n 4
  done
  for m in /tmp/bench/*/*.memory; do [ -f "$m" ] && echo "$m: $(cat "$m")"; done
  nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader
}
# wait_jobs MAX_SECONDS [NAME...]: until the named jobs (all when none named) ended, or MAX_SECONDS passed
wait_jobs() {
  local max=$1; shift; local t0; t0=$(date +%s)
  local names=("$@"); [ ${#names[@]} -eq 0 ] && names=($(ls /tmp/jobs))
  while [ $(( $(date +%s) - t0 )) -lt "$max" ]; do
    local left=0 n
    for n in "${names[@]}"; do [ -f "/tmp/jobs/$n/started" ] && [ ! -f "/tmp/jobs/$n/rc" ] && left=$((left + 1)); done
    [ $left -eq 0 ] && break
    sleep 5
  done
  echo "waited $(( $(date +%s) - t0 )) s; jobs running: $(running)"
}
collect() {  # every job's log, out/ and records so far, as one file
  tar czf "$OUT/jobs.tgz" -C /tmp --exclude='jobs/*/repo' --exclude='*.lora' jobs bench 2>/dev/null
  ls -la "$OUT"
}
bench() { python3 benchmarks/gpu_grpo.py "$@" 2>&1 | grep -v -E "it/s\]|s/it\]|Warning: " ; }
stash
case $step in
  c1)
    untar /tmp < .carry-site/site.tar.xz && echo "site: $(ls /tmp/site | wc -l) entries"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    python3 -c "import torch, transformers, peft, trl; print(torch.__version__, transformers.__version__, peft.__version__, trl.__version__)"
    python3 benchmarks/gpu_grpo.py build gemma3-4b
    # Gemma-3 4B at its recipe without vLLM (HF generate): 2026-11-23 it never finished step 1 (430 s, beside
    # another run). Stack dumps every 60 s say where the time goes; the second run tells compile from cost.
    job gemma_hf GRPO_STACKS_EVERY=60 -- recipe gemma3-4b apps/gemma3_gsm8k/recipe.yaml --warmup 0 --steps 2 \
      --timeout 480 --tag gemma3-4b_recipe_hf
    job gemma_hf_nocompile GRPO_STACKS_EVERY=60 UNSLOTH_COMPILE_DISABLE=1 -- recipe gemma3-4b \
      apps/gemma3_gsm8k/recipe.yaml --warmup 0 --steps 2 --timeout 300 --tag gemma3-4b_recipe_hf_nocompile
    python3 benchmarks/gpu_grpo.py build llama-1b && python3 benchmarks/gpu_grpo.py build qwen3-8b
    status; collect
    ;;
  c2|c4|c5|c6) status; collect;;
  c3)  # the embedded SmolLM2 on the unsloth backend: a short real run whose reward should rise
    mkdir -p "$GRPO_CACHE/gguf" && cat /tmp/gguf/chunk* > "$GRPO_CACHE/gguf/SmolLM2-135M-Instruct.Q4_1.gguf"
    ls -la "$GRPO_CACHE/gguf"
    job embedded -- embedded --steps 40
    status; collect
    ;;
  c7)  # vLLM in; Qwen3-8B with vLLM at its recipe as soon as the no-compile Gemma run has given its memory back
    mkdir -p /tmp/vsite && cat /tmp/vparts/vsite.tar.xz.part* | untar /tmp && echo "vsite: $(ls /tmp/vsite | wc -l) entries"
    PYTHONPATH=/tmp/site:/tmp/vsite python3 -c "import vllm; print('vllm', vllm.__version__)"
    wait_jobs 200 gemma_hf_nocompile embedded
    job qwen3_vllm GRPO_STACKS_EVERY=120 -- recipe qwen3-8b apps/r1_qwen3_dapo_id/recipe.yaml --paths d --warmup 1 \
      --steps 2 --timeout 540 --tag qwen3-8b_recipe_vllm
    wait_jobs 330
    status; collect
    ;;
  c8)  # timed: d (our wrapper + vLLM) vs v (raw vLLM through a fresh LoRA adapter), nothing else on the GPU
    wait_jobs 320; status
    export PYTHONPATH=/tmp/site:/tmp/vsite:$(srcs "$root")
    if [ "$(running)" -eq 0 ]; then
      bench bench llama-1b --settings r16all-8x256 --paths v,d --warmup 2 --steps 4 --tag llama-1b_r16all-8x256_vllm_lora \
        --timeout 240
    else echo "jobs still running: v,d not timed now (call c8 again)"; fi
    collect
    ;;
  c9)  # Gemma-3 with vLLM, the recipe exactly, at 0.2 of the H100 (= 0.7 of a 24 GB card): the 24 GB question
    job gemma_vllm_24gb GRPO_STACKS_EVERY=120 -- recipe gemma3-4b apps/gemma3_gsm8k/recipe.yaml --paths d --warmup 1 \
      --steps 1 --gpu-memory-utilization 0.2 --timeout 540 --tag gemma3-4b_recipe_vllm_24gb
    wait_jobs 560; status; collect
    ;;
  c10)  # timed: a vs b once more (2 warm-up + 8 measured steps each)
    wait_jobs 300
    [ "$(running)" -eq 0 ] && bench bench llama-1b --settings r16all-8x256 --paths a,b --warmup 2 --steps 8 --timeout 160 --tag llama-1b_r16all-8x256_ab3
    collect
    ;;
  *) echo "unknown step $step"; exit 2;;
esac
