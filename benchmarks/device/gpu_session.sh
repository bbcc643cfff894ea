#!/usr/bin/env bash
# One step of the GPU session for issue 7, run by the device tool in the repository root:
#   bash benchmarks/device/gpu_session.sh STEP
# Each step is one `run` call on ONE warm machine (calls back to back; /tmp survives between them).
# Untimed work runs as background jobs (`job`: setsid, each in its own copy of the repo, logs under
# /tmp/jobs) so that several run at once; timed work (the a/b and v/d tables) runs in the foreground once
# no job is left. Seen on 2026-11-23 (third lease): a call did not return before the jobs it started had
# ended (so a job does not overlap the next call), and faulthandler's periodic all-thread stack dump
# crashed the Unsloth workers (SIGSEGV at the second dump): do not use it.
# Carry per step (folders made by benchmarks/device/pack_device_carry.sh):
#   q1 [.carry-site .devcarry]  q2 [.carry-v1]  q3 [.carry-v2]  q4 [.carry-v3]  q5 [.carry-v4]  q6 []
#   (the embedded run, done on 2026-11-23, needs .carry-g1/.carry-g2 and `embedded --steps 40`)
# Costs seen on 2026-11-23 (H100): machine start ~90 s; an Unsloth run of the 1 B model ~110 s
# (load, compile and 2 warm-up steps ~90 s of it); vLLM engine start 90-150 s; builds: 1 B 6 s, 4 B 16 s,
# 8 B 26 s, 14 B ~40 s; Gemma-3 4B step 1 with vLLM 252 s (7 s of it rollout), step 2 > 85 s.
# Put `2>&1 | tee $OUT/STEP.txt` behind each call: a call stopped at its limit keeps its log.
# Fourth lease (2026-11-23): the former p1..p6 ran (start 90, a/b 456, carries ~10 each, v/d 382, Phi-4 with
# vLLM 271, one more a/b round 337; those steps are in git history, commit 3cedcc2).
# Fifth lease, in this order (~1,450 s): q1 (a/b, the same memory sampler and gc/thread probes in both
# paths), q2-q4 (carries; q2 also builds Gemma-3), q5 (timed d vs e), q6 (Gemma-3 steady state).
# Sixth lease (2026-11-24): t1 (site, Gemma-3 build), t2-t4 (carries .carry-v1..v3), t5 (.carry-v4; Gemma-3's
# recipe with vLLM, stacks sampled), t6 (waits for it). Cut off after t5 with its files unread (lost).
# Seventh lease (2026-11-27): u1 (site, Gemma-3 build), u2-u4 (carries .carry-v1..v3), u5 (.carry-v4; the t5 run
# again: does Gemma-3's step stay ~100 s after step 2, and where does it go), u6 (waits for it). A call returns
# only when the jobs it started have ended or at its limit (u5: rc 124 at 600 s); the job lives on past that.
# Then, on a second machine: w1 (site, build), w2-w4 (carries), w5 (Gemma-3 at its recipe, cold caches), w6 (waits
# for it, then the same run again on the warm compile caches: what a second run on one machine pays), w7 (waits).
# Then a third machine: w1-w4, x5 (the same recipe run for 3 + 10 steps: does the step time, rising over steps
# 4-6 in all three runs, settle?), x6 (waits for it).
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
  date +%s > "$dir/started"  # before the launch: a wait_jobs right after must see the job
  (cd "$dir/repo" && setsid env "${envs[@]}" OUT="$dir/out" PYTHONPATH="/tmp/site$(vllm_path):$(srcs "$dir/repo")" \
     bash -c 'echo $$ > ../pid; python3 benchmarks/gpu_grpo.py "$@" > ../log.txt 2>&1; echo $? > ../rc' \
     job "$@" < /dev/null > /dev/null 2>&1 &)
  echo "job $name started: $*"
}
unfinished() { local n=0 j; for j in "$@"; do [ -f "/tmp/jobs/$j/started" ] && [ ! -f "/tmp/jobs/$j/rc" ] && n=$((n + 1)); done; echo $n; }
running() { unfinished $(ls /tmp/jobs); }
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
  while [ $(( $(date +%s) - t0 )) -lt "$max" ] && [ "$(unfinished "${names[@]}")" -gt 0 ]; do sleep 5; done
  echo "waited $(( $(date +%s) - t0 )) s; jobs running: $(running)"
}
collect() {  # every job's log, out/ and records so far, as one file
  tar czf "$OUT/jobs.tgz" -C /tmp --exclude='jobs/*/repo' --exclude='*.lora' jobs bench 2>/dev/null
  ls -la "$OUT"
}
site_in() { untar /tmp < .carry-site/site.tar.xz && echo "site: $(ls /tmp/site | wc -l) entries"; }  # the first call carries .carry-site
vsite_in() { mkdir -p /tmp/vsite && cat /tmp/vparts/vsite.tar.xz.part* | untar /tmp && echo "vsite: $(ls /tmp/vsite | wc -l) entries"; }  # once every .carry-vN is in /tmp/vparts
bench() { python3 benchmarks/gpu_grpo.py "$@" 2>&1 | grep -v -E "it/s\]|s/it\]|Warning: " ; }
stash
case $step in
  q1)  # timed: b vs a, alternated (2 warm-up + 10 measured steps each), alone on the GPU
    site_in
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    python3 benchmarks/gpu_grpo.py build llama-1b
    bench bench llama-1b --settings r16all-8x256 --paths b,a,b,a --warmup 2 --steps 10 --timeout 150 \
      --tag llama-1b_r16all-8x256_baba10
    collect
    ;;
  q2)  # carry; the Gemma-3 build for q6
    python3 benchmarks/gpu_grpo.py build gemma3-4b; collect;;
  q3|q4) status; collect;;
  q5)  # vLLM in; timed d (our wrapper + vLLM) vs e (the tutorial's own fast_inference=True), alone
    vsite_in
    export PYTHONPATH=/tmp/site:/tmp/vsite:$(srcs "$root")
    bench bench llama-1b --settings r16all-8x256 --paths d,e --warmup 2 --steps 6 --tag llama-1b_r16all-8x256_de \
      --timeout 260
    collect
    ;;
  q6)  # Gemma-3 steady state: the recipe with vLLM at 0.2 (= 0.7 of a 24 GB card), 2 warm-up steps
    python3 benchmarks/gpu_grpo.py build gemma3-4b
    job gemma_vllm_24gb -- recipe gemma3-4b apps/gemma3_gsm8k/recipe.yaml --paths d --warmup 2 --steps 1 \
      --gpu-memory-utilization 0.2 --timeout 540 --tag gemma3-4b_recipe_vllm_24gb_steady
    wait_jobs 560; status; collect
    ;;
  r1)  # a second machine in one session: site in, both builds
    site_in
    python3 benchmarks/gpu_grpo.py build llama-1b && python3 benchmarks/gpu_grpo.py build gemma3-4b;;
  r2|r3|r4) ;;
  r5) vsite_in;;
  r6)  # timed e vs d, alternated, alone (the first pair's d paid vLLM's cold compile caches)
    export PYTHONPATH=/tmp/site:/tmp/vsite:$(srcs "$root")
    bench bench llama-1b --settings r16all-8x256 --paths e,d,e,d --warmup 2 --steps 8 --tag llama-1b_r16all-8x256_eded \
      --timeout 140
    collect;;
  r7)  # Gemma-3 at its recipe with vLLM at 0.2, in the foreground; run twice: the second finds the compile caches warm
    export PYTHONPATH=/tmp/site:/tmp/vsite:$(srcs "$root")
    bench recipe gemma3-4b apps/gemma3_gsm8k/recipe.yaml --paths d --warmup 2 --steps 2 --gpu-memory-utilization 0.2 \
      --timeout "${2:-570}" --tag "gemma3-4b_recipe_vllm_24gb_${3:-cold}"
    cp /tmp/bench/gemma3-4b_recipe_vllm_24gb_${3:-cold}/0_d.json.partial "$OUT/" 2>/dev/null; collect;;
  t1|u1|w1)  # sixth and seventh leases: site in, the Gemma-3 build
    site_in && python3 benchmarks/gpu_grpo.py build gemma3-4b;;
  t2|t3|t4|u2|u3|u4|w2|w3|w4) ;;
  t5)  # vLLM in; Gemma-3 at its recipe with vLLM at 0.2 for 2 warm-up + 4 steps, with dynamo's recompile log and
       # a stack sample every 2 s per step (where the ~100 s training pass goes); t6 waits for the rest
    vsite_in
    job gemma_lease6 GRPO_STACK_SAMPLES=2 TORCH_LOGS=recompiles -- recipe gemma3-4b apps/gemma3_gsm8k/recipe.yaml \
      --paths d --warmup 2 --steps 4 --gpu-memory-utilization 0.2 --timeout 1150 --tag gemma3-4b_recipe_vllm_24gb_lease6
    wait_jobs 540; status; cp /tmp/bench/gemma3-4b_recipe_vllm_24gb_lease6/0_d.json.* "$OUT/" 2>/dev/null; collect;;
  t6) wait_jobs 560; status; cp /tmp/bench/gemma3-4b_recipe_vllm_24gb_lease6/0_d.json.* "$OUT/" 2>/dev/null; collect;;
  u5)  # t5 with a shorter first wait (t5's 540 s ran into the 600 s call limit)
    vsite_in
    job gemma_lease7 GRPO_STACK_SAMPLES=2 TORCH_LOGS=recompiles -- recipe gemma3-4b apps/gemma3_gsm8k/recipe.yaml \
      --paths d --warmup 2 --steps 4 --gpu-memory-utilization 0.2 --timeout 1150 --tag gemma3-4b_recipe_vllm_24gb_lease7
    wait_jobs 470; status; cp /tmp/bench/gemma3-4b_recipe_vllm_24gb_lease7/0_d.json* "$OUT/" 2>/dev/null; collect;;
  u6) wait_jobs "${2:-540}"; status; cp /tmp/bench/gemma3-4b_recipe_vllm_24gb_lease7/0_d.json* "$OUT/" 2>/dev/null; collect;;
  w5|w6)  # the Gemma-3 recipe with vLLM at 0.2, 3 warm-up + 3 steps: w5 on cold compile caches, w6 again on warm ones
    if [ "$step" = w5 ]; then
      vsite_in
      ls -d /tmp/torchinductor_* ~/.triton/cache ~/.cache/vllm 2>&1 | head -3
      name=cold
    else
      wait_jobs 540 gemma_cold; status; name=warm
      [ "$(unfinished gemma_cold)" -gt 0 ] && { echo "cold run still going: warm run not started"; collect; exit 0; }
      du -sh /tmp/torchinductor_* ~/.triton/cache ~/.cache/vllm 2>&1 | head -3
    fi
    job "gemma_$name" -- recipe gemma3-4b apps/gemma3_gsm8k/recipe.yaml --paths d --warmup 3 --steps 3 \
      --gpu-memory-utilization 0.2 --timeout 1150 --tag "gemma3-4b_recipe_vllm_24gb_$name"
    wait_jobs 200; status; collect;;
  w7) wait_jobs "${2:-540}"; status; collect;;
  x5) vsite_in
    job gemma_long -- recipe gemma3-4b apps/gemma3_gsm8k/recipe.yaml --paths d --warmup 3 --steps 10 \
      --gpu-memory-utilization 0.2 --timeout 1150 --tag gemma3-4b_recipe_vllm_24gb_long
    wait_jobs 450; status; cp /tmp/bench/gemma3-4b_recipe_vllm_24gb_long/0_d.json.partial "$OUT/" 2>/dev/null; collect;;
  x6) wait_jobs "${2:-540}"; status; cp /tmp/bench/gemma3-4b_recipe_vllm_24gb_long/0_d.json* "$OUT/" 2>/dev/null; collect;;
  *) echo "unknown step $step"; exit 2;;
esac
