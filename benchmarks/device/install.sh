#!/usr/bin/env bash
# The GPU machine's side: installs the GPU stack from the carried wheelhouse with pip (offline) and runs the Phi-4
# app at its real size (14.66 B, random weights) through that install. One step per call, from the repository
# root, calls back to back on one machine (/tmp and /dev/shm persist between them):
#   bash benchmarks/device/install.sh STEP 2>&1 | tee $OUT/STEP.txt
# Steps (README.md beside this script gives the order and each call's carry folders):
#   build     [.devcarry]     the random-init Phi-4-shaped base into /dev/shm/models, in the background
#   stash     [.carry-whK]    keeps this call's part of the wheelhouse in /tmp/whparts
#   install   [.carry-whN]    reassembles the wheelhouse, `pip install --no-index --find-links` of the four
#                             packages (from ./packages) into the machine's Python, pip check and the installed
#                             versions into $OUT; llama.cpp's tools start building in the background
#   app       []              waits for the base, starts the Phi-4 app as a background job, waits up to $WAIT s
#   wait      []              waits for the app job, `push --dry-run`, the run's records into $OUT
# Every step first stashes whatever wheelhouse folder its call carries. EXTRA_SET holds more `--set key=value`
# arguments for the app (e.g. a memory cap); SHAPE, RUN and GGUF choose the base shape, the run's name and the GGUF
# methods (default: the Phi-4 shape, phi4-14b, q8_0 q4_k_m); PYTHON is the machine's Python that has torch (default python3).
set -u
step=${1:?step: build, stash, install, app or wait}
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/out}
EXTRA_SET=${EXTRA_SET:-}
SHAPE=${SHAPE:-phi4-llama}   # a shape of benchmarks/gpu_grpo.py (llama-1b: the whole path in a few minutes)
RUN=${RUN:-phi4-14b}
GGUF=${GGUF:-q8_0 q4_k_m}
MODELS=/dev/shm/models  # the 29 GB base and the GGUF's 16-bit intermediate live in RAM: the disk holds the outputs
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export GRPO_CACHE=/tmp/grpo-cache UNSLOTH_DISABLE_STATISTICS=1
export VLLM_USE_FLASHINFER_SAMPLER=${VLLM_USE_FLASHINFER_SAMPLER:-0}  # vLLM's own sampler, as measured
mkdir -p "$OUT" /tmp/whparts /tmp/apps "$GRPO_CACHE"

for part in .carry-wh*/*; do [ -f "$part" ] && cp -u "$part" /tmp/whparts/; done
if [ -d .devcarry ]; then mkdir -p /tmp/devcarry && cp -r .devcarry/. /tmp/devcarry/
elif [ -d /tmp/devcarry ]; then mkdir -p .devcarry && cp -r /tmp/devcarry/. .devcarry/; fi

job_wait() {  # waits up to $1 s for the job whose folder is $2 to write rc; shows its log's tail
  local dir=$2 until=$(( $(date +%s) + $1 ))
  if [ ! -f "$dir/console.txt" ]; then
    echo "no job on this machine ($dir/console.txt missing): a fresh machine; start again from the first step"
    return 1
  fi
  while [ ! -f "$dir/rc" ] && [ "$(date +%s)" -lt "$until" ]; do sleep 5; done
  tail -c 3000 "$dir/console.txt"; echo
  [ -f "$dir/rc" ] && echo "job rc $(cat "$dir/rc")" || echo "job still running"
}

case $step in
build)
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; free -g | head -2; df -h /tmp /dev/shm | tail -2
  rm -f /tmp/build.rc
  (setsid nohup bash -c "$PY benchmarks/gpu_grpo.py build $SHAPE --models $MODELS > /tmp/build.log 2>&1; \
     echo \$? > /tmp/build.rc" < /dev/null > /dev/null 2>&1 &)
  sleep 5; tail -2 /tmp/build.log ;;
stash)
  ls /tmp/whparts | wc -l; du -sh /tmp/whparts ;;
install)
  missing=$(cd /tmp/whparts && for f in $(cat wheelhouse.txt 2>/dev/null || echo wheelhouse.txt); do
    [ -f "$f" ] || echo "$f"; done)
  if [ -n "$missing" ]; then
    echo "error: /tmp/whparts lacks $(echo $missing | wc -w) of the wheelhouse's files (e.g. $(echo $missing | cut -c1-200));" \
      "carry every .carry-wh folder, each in one call, on this machine"; exit 2
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
  "$PY" -m pip install --no-index --find-links /tmp/wh --progress-bar off \
    "./packages/rewards[math]" ./packages/data "./packages/training[gpu]" ./packages/export > "$OUT/pip-install.txt" 2>&1
  echo "pip install rc=$? in $(( $(date +%s) - t0 )) s"; tail -2 "$OUT/pip-install.txt" | cut -c1-400
  "$PY" -m pip check > "$OUT/pip-check.txt" 2>&1; echo "pip check rc=$?"; cat "$OUT/pip-check.txt"
  "$PY" -m pip list --format=freeze > "$OUT/installed.txt"
  "$PY" -c "import unsloth, vllm, trl, transformers, torch, bitsandbytes, datasets, peft, grpo_training, grpo_export
for m in (unsloth, vllm, trl, transformers, torch, bitsandbytes, datasets, peft): print(m.__name__, m.__version__)
print('grpo_training from', grpo_training.__file__)" 2>&1 | tail -10 | tee "$OUT/versions.txt"
  (setsid nohup bash -c "$PY -c 'from grpo_export.llama_cpp import ensure_llama_cpp_tools as e; print(e())' \
     > /tmp/llama-build.log 2>&1; echo \$? > /tmp/llama-build.rc" < /dev/null > /dev/null 2>&1 &)
  tail -1 /tmp/build.log 2>/dev/null ;;
app)
  [ -f /tmp/build.log ] || { echo "error: no base build on this machine: start again from the build step"; exit 2; }
  while [ ! -f /tmp/build.rc ]; do sleep 3; done; tail -1 /tmp/build.log; echo "base build rc $(cat /tmp/build.rc)"
  df -h /tmp /dev/shm | tail -2
  rm -rf /tmp/apps/rc /tmp/runs
  # random weights give every tutorial reward the same value: random_weights_reward.py gives the rewards a spread
  (setsid nohup bash -c "GRPO_EXPORT_WORK_DIR=/dev/shm $PY benchmarks/apps_at_size.py run $RUN --out /tmp/apps \
     --disk /tmp -- $PY apps/phi4_gsm8k/train.py --set model.name=$MODELS/$SHAPE \
     --set data.source=/tmp/devcarry/gsm8k_head.jsonl --set data.config=null --set data.eval_rows=20 \
     --set grpo.max_steps=2 --set grpo.save_steps=2 --set run.output_dir=/tmp/runs --set run.name=$RUN \
     --set run.report_to=none --gguf $GGUF $EXTRA_SET \
     --set 'rewards.funcs=[xmlcount, soft_format, strict_format, integer, correctness, benchmarks/device/random_weights_reward.py:text_length]' \
     > /tmp/apps/console.txt 2>&1; echo \$? > /tmp/apps/rc" < /dev/null > /dev/null 2>&1 &)
  sleep 10; job_wait "${WAIT:-540}" /tmp/apps ;;
wait)
  job_wait "${WAIT:-560}" /tmp/apps || exit 1
  if [ -f /tmp/apps/rc ]; then
    "$PY" benchmarks/export_at_size.py stage "push --dry-run" --results /tmp/apps/push.jsonl -- \
      "$PY" -m grpo_export push /tmp/runs/$RUN/merged_16bit you/$RUN-grpo --dry-run 2>&1 | tail -4
    cp /tmp/runs/$RUN/merged_16bit/.grpo-export.json /tmp/apps/merged-checks.json 2>/dev/null
    cp /tmp/runs/$RUN/gguf/.grpo-export.json /tmp/apps/gguf-checks.json 2>/dev/null
    cp /tmp/runs/$RUN/eval.json /tmp/runs/$RUN/train.log /tmp/llama-build.log /tmp/apps/ 2>/dev/null
    ls -la /tmp/runs/$RUN /tmp/runs/$RUN/gguf; df -h /tmp /dev/shm | tail -2
    tar czf "$OUT/$RUN.tar.gz" -C /tmp/apps .
  fi ;;
*)
  echo "error: unknown step '$step': use build, stash, install, app or wait" >&2; exit 2 ;;
esac
