#!/usr/bin/env bash
# The GPU machine's side of running the benchmarks without network access: installs the GPU stack from the
# wheelhouse that wheelhouse.sh made (pip, offline) and runs the benchmarks at their real size on random weights.
# From the repository root, one step per command, all on one machine (/tmp and /dev/shm keep what a step leaves):
#   bash benchmarks/device/install.sh STEP [ARGS] 2>&1 | tee $OUT/STEP.txt
# README.md beside this script gives the order. Every step fails loudly (a non-zero status, an `error:` line).
set -euo pipefail
shopt -s nullglob

usage() {
  cat >&2 <<'EOF'
usage: bash benchmarks/device/install.sh STEP [ARGS]
steps, in order:
  build     starts building the random-init base of $APP's shape into $MODELS (background; needs .gpu-inputs/)
  stash     keeps the wheelhouse parts this command brought (.wheelhouse/partNN) in /tmp/whparts
  install   joins the wheelhouse, pip install --no-index of the four packages, pip check, llama.cpp's tools
  app       the app $APP through its own train.py on the base, 2 GRPO steps and its export (a job)
  export    the export alone on the base: a random LoRA of the app's rank, merged, GGUF (a job)
  eval      evaluation through vLLM against HF generate on the base, $ROWS rows
  bench ARGS  benchmarks/gpu_grpo.py ARGS (e.g. `bench bench llama-1b --paths a,b`) as a job
  wait      waits for the job, then push --dry-run of its merged model; its records into $OUT
environment: APP=phi4|gemma3|r1 (phi4), SHAPE (the app's), RUN (APP's run name), GGUF methods ("q8_0 q4_k_m"),
  EXTRA_SET ('--set key=value ...' for the app), WAIT seconds, ROWS (64), MODELS (/dev/shm/models),
  PYTHON (python3: the machine's Python that has torch), OUT (/tmp/out)
EOF
}
[ $# -ge 1 ] || { usage; exit 2; }
step=$1; shift

PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/out}
APP=${APP:-phi4}
GGUF=${GGUF:-q8_0 q4_k_m}
EXTRA_SET=${EXTRA_SET:-}
ROWS=${ROWS:-64}
MODELS=${MODELS:-/dev/shm/models}  # the base and the GGUF's 16-bit intermediate in RAM: the disk holds the outputs
INPUTS=/tmp/gpu-inputs             # what `gpu_grpo.py prepare` wrote into .gpu-inputs/, kept for later steps
case $APP in
  phi4)   app_dir=apps/phi4_gsm8k;       shape=phi4-llama; run=phi4-14b
          data=(--set "data.source=$INPUTS/gsm8k_head.jsonl" --set data.config=null) ;;
  gemma3) app_dir=apps/gemma3_gsm8k;     shape=gemma3-4b;  run=gemma3-4b
          data=(--set "data.source=$INPUTS/gsm8k_head.jsonl" --set data.config=null) ;;
  r1)     app_dir=apps/r1_qwen3_dapo_id; shape=qwen3-8b;   run=r1-qwen3-8b
          data=(--set data.source=synthetic --set data.synthetic_rows=128) ;;
  *) echo "error: APP=$APP is not an app here: use phi4, gemma3 or r1" >&2; exit 2 ;;
esac
SHAPE=${SHAPE:-$shape}
RUN=${RUN:-$run}
recipe=$app_dir/recipe.yaml
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export GRPO_CACHE=/tmp/grpo-cache UNSLOTH_DISABLE_STATISTICS=1
export GRPO_EXPORT_WORK_DIR=${GRPO_EXPORT_WORK_DIR:-/dev/shm}
export VLLM_USE_FLASHINFER_SAMPLER=${VLLM_USE_FLASHINFER_SAMPLER:-0}  # vLLM's own sampler, as measured
mkdir -p "$OUT" /tmp/whparts "$GRPO_CACHE"

# what this command brought: wheelhouse parts into /tmp/whparts; .gpu-inputs/ into /tmp (and back when absent)
for part in .wheelhouse/part*/*; do cp -u "$part" /tmp/whparts/; done
if [ -d .gpu-inputs ]; then
  mkdir -p "$INPUTS" && cp -r .gpu-inputs/. "$INPUTS"/
elif [ -d "$INPUTS" ]; then
  mkdir -p .gpu-inputs && cp -r "$INPUTS"/. .gpu-inputs/
fi

wait_base() {  # the base build that the build step started
  if [ ! -f /tmp/build.log ]; then
    echo "error: no base build on this machine: run the build step first (APP=$APP)" >&2; exit 2
  fi
  while [ ! -f /tmp/build.rc ]; do sleep 3; done
  tail -1 /tmp/build.log
  if [ "$(cat /tmp/build.rc)" != 0 ]; then
    tail -20 /tmp/build.log; echo "error: the base build failed (rc $(cat /tmp/build.rc))" >&2; exit 1
  fi
  if [ ! -f "$MODELS/$SHAPE/.complete" ]; then
    echo "error: $MODELS/$SHAPE is not built: the build step built $(cat /tmp/build.shape 2>/dev/null || echo another shape); run it with APP=$APP" >&2
    exit 2
  fi
}

start_job() {  # start_job DIR RUN COMMAND...: COMMAND in the background, output in DIR/console.txt, rc in DIR/rc
  local dir=$1 run=$2; shift 2
  rm -rf "$dir" && mkdir -p "$dir"
  printf '%s\n' "$dir" > /tmp/job
  printf '%s\n' "$run" > "$dir/run"
  (setsid nohup bash -c '"$@" > "$0/console.txt" 2>&1; echo $? > "$0/rc"' "$dir" "$@" < /dev/null > /dev/null 2>&1 &)
  echo "job started in $dir: $*"
}

job_wait() {  # job_wait SECONDS DIR: waits for the job to end, shows its log's tail; 1 when it failed, 3 when running
  local dir=$2 until=$(( $(date +%s) + $1 ))
  while [ ! -f "$dir/rc" ] && [ "$(date +%s)" -lt "$until" ]; do sleep 5; done
  tail -c 3000 "$dir/console.txt"; echo
  df -h /tmp /dev/shm | tail -2
  if [ ! -f "$dir/rc" ]; then echo "job still running: run the wait step"; return 3; fi
  if [ "$(cat "$dir/rc")" != 0 ]; then echo "error: the job ended with rc $(cat "$dir/rc")" >&2; return 1; fi
  echo "job rc 0"
}

watch_job() {  # after starting a job: its first minutes; fails when the job already failed
  sleep 10
  local status=0
  job_wait "${WAIT:-540}" "$1" || status=$?
  [ "$status" = 1 ] && exit 1
  return 0
}

recipe_value() {  # recipe_value EXPR: a Python expression of the recipe dict `r`, printed
  "$PY" -c "import json, sys, yaml; r = yaml.safe_load(open(sys.argv[1])); print($1)" "$recipe"
}

case $step in
build)
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; free -g; df -h /tmp /dev/shm | tail -2
  if [ ! -d "$INPUTS" ]; then
    echo "error: no .gpu-inputs/ here: bring the folder that \`gpu_grpo.py prepare\` wrote with this command" >&2
    exit 2
  fi
  rm -f /tmp/build.rc && printf '%s\n' "$SHAPE" > /tmp/build.shape
  (setsid nohup bash -c '"$0" benchmarks/gpu_grpo.py build "$1" --models "$2" > /tmp/build.log 2>&1; echo $? > /tmp/build.rc' \
     "$PY" "$SHAPE" "$MODELS" < /dev/null > /dev/null 2>&1 &)
  sleep 5; tail -2 /tmp/build.log
  if [ -f /tmp/build.rc ] && [ "$(cat /tmp/build.rc)" != 0 ]; then echo "error: the base build failed" >&2; exit 1; fi ;;
stash)
  echo "wheelhouse parts on this machine: $(ls /tmp/whparts | wc -l) files, $(du -sm /tmp/whparts | cut -f1) MiB" ;;
install)
  if [ ! -f /tmp/whparts/wheelhouse.txt ]; then
    echo "error: no wheelhouse.txt in /tmp/whparts: bring the wheelhouse's last part (it lists every file)" >&2; exit 2
  fi
  missing=$(cd /tmp/whparts && while read -r f; do [ -f "$f" ] || echo "$f"; done < wheelhouse.txt)
  if [ -n "$missing" ]; then
    echo "error: /tmp/whparts lacks $(echo "$missing" | wc -l) of the wheelhouse's files (e.g." \
      "$(echo "$missing" | head -3 | tr '\n' ' ')): bring every .wheelhouse/partNN, then run this step again" >&2
    exit 2
  fi
  rm -rf /tmp/wh && mkdir -p /tmp/wh
  for f in /tmp/whparts/*; do
    case $f in
      *.part00) cat "${f%.part00}".part?? > "/tmp/wh/$(basename "${f%.part00}")" ;;
      *.part??|*/wheelhouse.txt) ;;
      *) cp "$f" /tmp/wh/ ;;
    esac
  done
  mv /tmp/wh/llama.cpp.tar.xz /tmp/ && tar xJf /tmp/llama.cpp.tar.xz -C "$GRPO_CACHE"
  echo "wheelhouse: $(ls /tmp/wh | wc -l) files, $(du -sm /tmp/wh | cut -f1) MiB"
  t0=$(date +%s)
  if ! "$PY" -m pip install --no-index --find-links /tmp/wh --progress-bar off "./packages/rewards[math]" \
      ./packages/data "./packages/training[gpu]" ./packages/export > "$OUT/pip-install.txt" 2>&1; then
    tail -20 "$OUT/pip-install.txt"; echo "error: pip install failed (whole log: \$OUT/pip-install.txt)" >&2; exit 1
  fi
  echo "pip install: done in $(( $(date +%s) - t0 )) s"; tail -1 "$OUT/pip-install.txt" | cut -c1-400
  "$PY" -m pip check | tee "$OUT/pip-check.txt"
  "$PY" -m pip list --format=freeze > "$OUT/installed.txt"
  "$PY" -c "import unsloth, vllm, trl, transformers, torch, bitsandbytes, datasets, peft, grpo_training, grpo_export
for m in (unsloth, vllm, trl, transformers, torch, bitsandbytes, datasets, peft): print(m.__name__, m.__version__)
print('grpo_training from', grpo_training.__file__)" 2>&1 | tail -10 | tee "$OUT/versions.txt"
  # llama.cpp's tools (the GGUF stage's converter, quantizer and check) build meanwhile, from the wheelhouse's copy of the sources
  rm -f /tmp/llama-build.rc
  (setsid nohup bash -c '"$0" -c "from grpo_export.llama_cpp import ensure_llama_cpp_tools as e; print(e())" \
     > /tmp/llama-build.log 2>&1; echo $? > /tmp/llama-build.rc' "$PY" < /dev/null > /dev/null 2>&1 &)
  echo "llama.cpp's tools are building in the background (/tmp/llama-build.log)" ;;
app)
  wait_base
  # On random weights every reward of the tutorials is constant, so every advantage is 0 and the LoRA stays zero
  # (the app rightly refuses it): each app's rewards get random_weights_reward.py's length reward beside them.
  funcs=$(recipe_value 'json.dumps(r["rewards"]["funcs"] + ["benchmarks/device/random_weights_reward.py:text_length"])')
  read -r -a extra <<< "$EXTRA_SET"
  start_job /tmp/job-app "$RUN" "$PY" benchmarks/apps_at_size.py run "$RUN" --out /tmp/job-app --disk /tmp -- \
    "$PY" "$app_dir/train.py" --set "model.name=$MODELS/$SHAPE" "${data[@]}" --set data.eval_rows=20 \
    --set grpo.max_steps=2 --set grpo.save_steps=2 --set run.output_dir=/tmp/runs --set "run.name=$RUN" \
    --set run.report_to=none --set "rewards.funcs=$funcs" --gguf $GGUF "${extra[@]}"
  watch_job /tmp/job-app ;;
export)
  wait_base
  lora=$(recipe_value '" ".join([str(r["lora"]["r"]), str(r["lora"]["alpha"]), *r["lora"]["target_modules"]])')
  read -r rank alpha targets <<< "$lora"
  results=/tmp/job-export/results.jsonl merged=/tmp/runs/$RUN/merged_16bit
  start_job /tmp/job-export "$RUN" bash -c '
    set -e; PY=$1 base=$2 results=$3 merged=$4 run=$5 rank=$6 alpha=$7 gguf=$8 targets=$9
    stage() { "$PY" benchmarks/export_at_size.py stage "$run $1" --results "$results" "${@:2}"; }
    "$PY" benchmarks/export_at_size.py lora "$base" /tmp/job-export/lora --r "$rank" --alpha "$alpha" --targets $targets
    stage merged --measure "$merged" -- "$PY" -m grpo_export -v merged "$base" /tmp/job-export/lora "$merged"
    stage "gguf $gguf" --measure "${merged%/*}/gguf" -- "$PY" -m grpo_export -v gguf "$merged" "${merged%/*}/gguf" --methods $gguf
    "$PY" benchmarks/export_at_size.py table "$results"' \
    export "$PY" "$MODELS/$SHAPE" "$results" "$merged" "$RUN" "$rank" "$alpha" "$GGUF" "$targets"
  watch_job /tmp/job-export ;;
eval)
  wait_base
  log=$OUT/eval_engines_$RUN.log
  if ! timeout "${WAIT:-560}" "$PY" benchmarks/eval_engines.py "$recipe" --set "model.name=$MODELS/$SHAPE" \
      "${data[@]}" --set "data.eval_rows=$ROWS" --set run.report_to=none --max-new-tokens 512 \
      --hf-batch-size "$ROWS" --out "$OUT/eval_engines_$RUN.json" > "$log" 2>&1; then
    tail -20 "$log"; echo "error: eval_engines.py failed or ran past ${WAIT:-560} s (log: \$OUT/${log##*/})" >&2; exit 1
  fi
  tail -12 "$log" ;;
bench)
  [ $# -ge 1 ] || { echo "error: bench needs gpu_grpo.py's arguments, e.g. \`bench build llama-1b\`" >&2; exit 2; }
  start_job /tmp/job-bench bench env OUT=/tmp/job-bench "$PY" benchmarks/gpu_grpo.py "$@"
  watch_job /tmp/job-bench ;;
wait)
  [ -f /tmp/job ] || { echo "error: no job on this machine: start one (app, export or bench) first" >&2; exit 2; }
  dir=$(cat /tmp/job) && run=$(cat "$dir/run")
  status=0; job_wait "${WAIT:-560}" "$dir" || status=$?
  [ "$status" = 3 ] && exit 0  # still running: run this step again
  merged=/tmp/runs/$run/merged_16bit
  if [ "$status" = 0 ] && [ -d "$merged" ]; then
    "$PY" benchmarks/export_at_size.py stage "push --dry-run" --results "$dir/push.jsonl" -- \
      "$PY" -m grpo_export push "$merged" "you/$run-grpo" --dry-run > "$dir/push.txt" 2>&1 || status=1
    tail -4 "$dir/push.txt"
    ls -la "/tmp/runs/$run" "/tmp/runs/$run"/gguf || status=1
  fi
  for f in merged_16bit/.grpo-export.json:merged-checks.json gguf/.grpo-export.json:gguf-checks.json \
           eval.json:eval.json train.log:train.log; do
    if [ -f "/tmp/runs/$run/${f%%:*}" ]; then cp "/tmp/runs/$run/${f%%:*}" "$dir/${f##*:}"; fi
  done
  if [ -f /tmp/llama-build.log ]; then cp /tmp/llama-build.log "$dir/"; fi
  tar czf "$OUT/${dir##*/}-$run.tar.gz" -C "$dir" --exclude ./lora .
  echo "records: \$OUT/${dir##*/}-$run.tar.gz"
  [ "$status" = 0 ] || { echo "error: the job or its push --dry-run failed (records above)" >&2; exit 1; } ;;
*)
  echo "error: unknown step '$step'" >&2; usage; exit 2 ;;
esac
