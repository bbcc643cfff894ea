#!/usr/bin/env bash
# Device side of issue 18 (apps at real size) and the GGUF-at-size part of issue 17, on one nvidia-h200
# (64 GB disk: one 8 B shape with its merge and GGUFs, not a 14 B one). One `run` call per step, back to back
# on one warm machine (/tmp survives between calls; idle 30 s and the machine is gone):
#   a1 [.carry-llama .devcarry]              llama.cpp built there + the runtime probe, qwen3-8b built
#   s1 [.carry-site]                         site packages (unsloth, trl, datasets, ...) into /tmp/site
#   a2..a5 [.carry-v1] .. [.carry-v4]        the vLLM bundle's parts
#   a6 []                                    vLLM installed; eval through vLLM vs HF generate (benchmarks/eval_engines.py)
#   a7 []                                    the R1 app at the Qwen3-8B shape through its train.py (a job; waits <= 570 s)
#   a8 []                                    waits for it, then `push --dry-run`; results under $OUT
# The Gemma-3 4B app (2026-12-02, second lease), four calls instead of eight (a call carries <= 64 MiB):
#   s1 [.carry-site]; g1 [.carry-llama .devcarry .carry-v4] (the carried llama.cpp build installed, gemma3-4b built);
#   a2 [.carry-v1]; a3 [.carry-v2]; g7 [.carry-v3] (vLLM installed, the app job started); g8 = a8 for it.
# The Phi-4 app at 14.66 B (exit 0 on 2026-12-03, APPS.md): its base (29.3 GB) and GGUF's 16-bit intermediate (29.3 GB) go to
# the machine's 128 GB /dev/shm ($GRPO_EXPORT_WORK_DIR), so the 64 GB disk holds only merged 29.3 + q4_k_m 9 + q8_0
# 15.6 GB: s1; p1 [.carry-llama .devcarry .carry-v4]; a2; a3; p7 [.carry-v3]; RUN=phi4-14b g8 (twice if need be);
# then, device time left, p9 [] (eval engines at 14.66 B, ROWS=64).
# 2026-12-02 (third lease): p7 trained 2 steps and stopped at the LoRA check: every reward 0 on random text and no KL
# gradient at step 1, so the LoRA stayed zero (rightly refused). p7 now adds random_weights_reward.py:text_length.
# x1 [.carry-llama .devcarry] (one call, a fresh machine): the 14.66 B GGUF stage alone, the built base as its input.
# About 22 min of run after ~4 min of set-up: start it first in a fresh lease.
# Carries are made here by benchmarks/device/pack_device_carry.sh (+ .carry-llama: bin-gcc12.tar.xz, a llama.cpp build of
# this machine, and llama.cpp.tar.xz, the sources of the llama-cpp-python 0.3.36 sdist).
set -u
step=$1
root=$PWD
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export VLLM_USE_FLASHINFER_SAMPLER=0 GRPO_CACHE=/tmp/grpo-cache UNSLOTH_DISABLE_STATISTICS=1
export PYTHONPATH=/tmp/site:/tmp/vsite:$root/packages/rewards/src:$root/packages/data/src:$root/packages/training/src:$root/packages/export/src
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/vparts /tmp/apps
untar() { python3 -c "import sys, tarfile; tarfile.open(fileobj=sys.stdin.buffer, mode='r|xz').extractall(sys.argv[1], filter='tar')" "$1"; }
home=/tmp/grpo-cache/llama.cpp-0.3.36-shared
[ -d .devcarry ] && { mkdir -p /tmp/devcarry && cp -r .devcarry/. /tmp/devcarry/; } || { mkdir -p .devcarry && cp -r /tmp/devcarry/. .devcarry/; }
job_wait() {  # wait up to $1 s for the background job that writes $2/rc (default /tmp/apps: the app job)
  local dir=${2:-/tmp/apps} until=$(( $(date +%s) + $1 ))
  if [ ! -f $dir/console.txt ]; then  # 2026-12-03: a g8 waited 560 s of device time on a fresh machine for nothing
    echo "no job on this machine ($dir/console.txt missing): the machine that ran it was released; start again"; return 1
  fi
  while [ ! -f $dir/rc ] && [ "$(date +%s)" -lt "$until" ]; do sleep 5; done
  tail -c 3000 $dir/console.txt; echo; cat $dir/results.jsonl 2>/dev/null; df -h /tmp /dev/shm | tail -2
  [ -f $dir/rc ] && echo "job rc $(cat $dir/rc)" || echo "job still running"
}
case $step in
g1)
  cp .carry-v*/* /tmp/vparts/ 2>/dev/null
  mkdir -p $home && tar xJf .carry-llama/llama.cpp.tar.xz -C $home && tar xJf .carry-llama/bin-gcc12.tar.xz -C $home
  nproc; free -g | head -2; df -h /tmp /dev/shm | tail -2; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  python3 benchmarks/gpu_grpo.py build gemma3-4b --models /tmp/models 2>&1 | tail -1
  df -h /tmp | tail -1 ;;
g7)
  cp .carry-v*/* /tmp/vparts/ 2>/dev/null; ls /tmp/vparts
  [ -d /tmp/vsite/vllm ] || { cat /tmp/vparts/vsite.tar.xz.part* | untar /tmp; }
  python3 -c "import vllm, unsloth, trl; print(vllm.__version__, unsloth.__version__, trl.__version__)" 2>&1 | tail -1
  rm -rf /tmp/apps/rc /tmp/runs
  # random weights give every completion the same XML rewards (0): the LoRA could not train and the app would,
  # rightly, refuse to export it; the R1 app's langid reward (varies on any text) is added, nothing else changes
  (setsid bash -c "python3 benchmarks/apps_at_size.py run gemma3-4b --out /tmp/apps --disk /tmp -- \
     python3 apps/gemma3_gsm8k/train.py --set model.name=/tmp/models/gemma3-4b \
     --set data.source=/tmp/devcarry/gsm8k_head.jsonl --set data.config=null --set data.eval_rows=20 \
     --set grpo.max_steps=2 --set grpo.save_steps=2 --set run.output_dir=/tmp/runs --set run.name=gemma3-4b \
     --set run.report_to=none --set 'rewards.funcs=[xmlcount, soft_format, strict_format, integer, correctness, {name: language, params: {target: id}}]' \
     --gguf q8_0 q4_k_m > /tmp/apps/console.txt 2>&1; echo \$? > /tmp/apps/rc" < /dev/null > /dev/null 2>&1 &)
  sleep 10; job_wait 500 ;;
g8)
  job_wait ${WAIT:-560}
  run=${RUN:-gemma3-4b}
  if [ -f /tmp/apps/rc ]; then
    python3 benchmarks/export_at_size.py stage "push --dry-run" --results /tmp/apps/push.jsonl -- \
      python3 -m grpo_export push /tmp/runs/$run/merged_16bit you/$run-grpo --dry-run 2>&1 | tail -4
    cp /tmp/runs/$run/merged_16bit/.grpo-export.json /tmp/apps/merged-checks.json 2>/dev/null
    cp /tmp/runs/$run/gguf/.grpo-export.json /tmp/apps/gguf-checks.json 2>/dev/null
    cp /tmp/runs/$run/eval.json /tmp/runs/$run/train.log /tmp/apps/ 2>/dev/null
    ls -la /tmp/runs/$run /tmp/runs/$run/gguf; df -h /tmp /dev/shm | tail -2
    tar czf $OUT/$run.tar.gz -C /tmp/apps .
  fi
  [ -f /tmp/diagnose.log ] && { cp /tmp/diagnose.log $OUT/; echo "--- gcc-13 diagnosis"; tail -c 2500 /tmp/diagnose.log; } ;;
p1)
  cp .carry-v*/* /tmp/vparts/ 2>/dev/null
  mkdir -p $home && tar xJf .carry-llama/llama.cpp.tar.xz -C $home && tar xJf .carry-llama/bin-gcc12.tar.xz -C $home
  free -g | head -2; df -h /tmp /dev/shm | tail -2; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  rm -f /tmp/build.rc  # the build runs on while a2 and a3 bring the vLLM parts; p7 waits for it
  (setsid bash -c "python3 benchmarks/gpu_grpo.py build phi4-llama --models /dev/shm/models > /tmp/build.log 2>&1; \
     echo \$? > /tmp/build.rc" < /dev/null > /dev/null 2>&1 &)  # unsloth/Phi-4 is Llama-shaped
  # where the gcc-13 libllama crashes (EXPORT.md), on the CPU meanwhile, in its own cache; g8 shows its log
  (setsid bash -c "bash benchmarks/device/llama_gcc13_diagnose.sh > /tmp/diagnose.log 2>&1" < /dev/null > /dev/null 2>&1 &)
  sleep 5; tail -2 /tmp/build.log ;;
p7)
  cp .carry-v*/* /tmp/vparts/ 2>/dev/null; ls /tmp/vparts
  [ -d /tmp/vsite/vllm ] || { cat /tmp/vparts/vsite.tar.xz.part* | untar /tmp; }
  while [ ! -f /tmp/build.rc ]; do sleep 3; done; tail -1 /tmp/build.log; echo "build rc $(cat /tmp/build.rc)"
  df -h /tmp /dev/shm | tail -2
  rm -rf /tmp/apps/rc /tmp/runs
  (setsid bash -c "GRPO_EXPORT_WORK_DIR=/dev/shm python3 benchmarks/apps_at_size.py run phi4-14b --out /tmp/apps --disk /tmp -- \
     python3 apps/phi4_gsm8k/train.py --set model.name=/dev/shm/models/phi4-llama \
     --set data.source=/tmp/devcarry/gsm8k_head.jsonl --set data.config=null --set data.eval_rows=20 \
     --set grpo.max_steps=2 --set grpo.save_steps=2 --set run.output_dir=/tmp/runs --set run.name=phi4-14b \
     --set run.report_to=none --gguf q8_0 q4_k_m \
     --set 'rewards.funcs=[xmlcount, soft_format, strict_format, integer, correctness, benchmarks/device/random_weights_reward.py:text_length]' \
     > /tmp/apps/console.txt 2>&1; echo \$? > /tmp/apps/rc" < /dev/null > /dev/null 2>&1 &)
  sleep 10; job_wait ${WAIT:-470} ;;
g9)
  timeout 500 python3 benchmarks/eval_engines.py apps/gemma3_gsm8k/recipe.yaml --set model.name=/tmp/models/gemma3-4b \
    --set data.source=/tmp/devcarry/gsm8k_head.jsonl --set data.config=null --set data.eval_rows=${ROWS:-64} \
    --set run.report_to=none --max-new-tokens 512 --hf-batch-size ${ROWS:-64} --out $OUT/eval_engines_gemma3-4b.json \
    > $OUT/eval_engines_gemma3.log 2>&1
  echo "eval_engines rc=$?"; tail -12 $OUT/eval_engines_gemma3.log ;;
p9)  # after the Phi-4 app has ended (the GPU free): vLLM against HF generate at 14.66 B, ROWS rows
  timeout 560 python3 benchmarks/eval_engines.py apps/phi4_gsm8k/recipe.yaml --set model.name=/dev/shm/models/phi4-llama \
    --set data.source=/tmp/devcarry/gsm8k_head.jsonl --set data.config=null --set data.eval_rows=${ROWS:-64} \
    --set run.report_to=none --max-new-tokens 512 --hf-batch-size ${ROWS:-64} --out $OUT/eval_engines_phi4-14b.json \
    > $OUT/eval_engines_phi4.log 2>&1
  echo "eval_engines rc=$?"; tail -12 $OUT/eval_engines_phi4.log ;;
x1)  # the 14.66 B GGUF stage alone (issue 17), on a fresh machine: the built base is the input, as a merged model
  mkdir -p $home /tmp/export && tar xJf .carry-llama/llama.cpp.tar.xz -C $home && tar xJf .carry-llama/bin-gcc12.tar.xz -C $home
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .devcarry/wheels/*.whl 2>&1 | tail -1
  free -g | head -2; df -h /tmp /dev/shm | tail -2; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  r=/tmp/export/results.jsonl m=/dev/shm/models/phi4-llama
  (setsid bash -c "python3 benchmarks/export_at_size.py stage 'build phi4-llama' --results $r -- \
     python3 benchmarks/gpu_grpo.py build phi4-llama --models /dev/shm/models && \
     GRPO_EXPORT_WORK_DIR=/dev/shm python3 benchmarks/export_at_size.py stage 'phi4-llama gguf q8_0 q4_k_m' --results $r \
     --measure /tmp/export/gguf -- python3 -m grpo_export -v gguf $m /tmp/export/gguf --methods q8_0 q4_k_m; \
     echo \$? > /tmp/export/rc" < /dev/null > /tmp/export/console.txt 2>&1 &)
  sleep 5; job_wait ${WAIT:-540} /tmp/export ;;
x2)
  job_wait ${WAIT:-560} /tmp/export
  cp /tmp/export/gguf/.grpo-export.json /tmp/export/gguf-checks.json 2>/dev/null; ls -la /tmp/export/gguf
  tar czf $OUT/export-phi4-14b.tar.gz -C /tmp/export --exclude gguf . ;;
a1)
  export PYTHONPATH=/tmp/site:$PYTHONPATH  # diskcache for the bindings comes with s1: run s1 first next time
  nproc; free -g | head -2; df -h /tmp | tail -1; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  mkdir -p $home /tmp/b-here && tar xJf .carry-llama/llama.cpp.tar.xz -C $home && tar xJf .carry-llama/bin-gcc12.tar.xz -C /tmp/b-here
  t0=$(date +%s)
  python3 -c "from grpo_export.llama_cpp import ensure_llama_cpp_tools as e; print(e())" 2>&1 | tail -2
  echo "llama.cpp built there in $(( $(date +%s) - t0 )) s; $(gcc --version | head -1)"
  python3 - <<'P' 2>&1 | grep -v Writing
import torch, gzip
from pathlib import Path
from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen3Config
from grpo_export.gguf_export import convert_to_gguf
p = Path(".devcarry/tok-qwen/tokenizer.json")
p.exists() or p.write_bytes(gzip.decompress(Path(".devcarry/tok-qwen/tokenizer.json.gz").read_bytes()))
tok = AutoTokenizer.from_pretrained(".devcarry/tok-qwen")
c = Qwen3Config(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4, head_dim=64,
                num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=False)
tok.add_tokens([f"<|vocab_pad_{i}|>" for i in range(c.vocab_size - len(tok))], special_tokens=True)
torch.manual_seed(0)
AutoModelForCausalLM.from_config(c).to(torch.bfloat16).save_pretrained("/tmp/tinyq"); tok.save_pretrained("/tmp/tinyq")
convert_to_gguf(Path("/tmp/tinyq"), Path("/tmp/tinyq.gguf"), "f16", Path("/tmp/convq.log"))
print("tiny Qwen3 GGUF written")
P
  python3 -c "print(' '.join(['the sea keeps every colour of the sky'] * 60))" > /tmp/text.txt
  /tmp/b-here/bin/llama-perplexity -m /tmp/tinyq.gguf -f /tmp/text.txt -c 64 --chunks 1 -t 4 2>&1 | tail -1; echo "C++ tool (built here, gcc 12) rc=$?"
  for lib in $home/bin /tmp/b-here/bin; do
    LLAMA_CPP_LIB_PATH=$lib python3 -X faulthandler -c "
import sys; sys.path.insert(0, '$home/llama.cpp/python-bindings')
import llama_cpp
m = llama_cpp.Llama(model_path='/tmp/tinyq.gguf', n_ctx=16, logits_all=True, n_gpu_layers=0, verbose=False)
m.eval([1, 2, 3]); print('bindings ok', m.scores[:3].shape)" 2>&1 | tail -3; echo "bindings with $lib rc=$?"
  done
  # 2026-12-02: the libllama built there (gcc 13.3) segfaulted under the bindings, the carried gcc-12 build ran: use it
  mv $home/bin $home/bin-there && cp -a /tmp/b-here/bin $home/bin
  python3 benchmarks/gpu_grpo.py build qwen3-8b --models /tmp/models 2>&1 | tail -1
  df -h /tmp | tail -1 ;;
s1)
  untar /tmp < .carry-site/site.tar.xz && ls /tmp/site | wc -l; df -h /tmp /dev/shm | tail -2; free -g | head -2 ;;
a2|a3|a4|a5)
  cp .carry-v*/* /tmp/vparts/ && ls /tmp/vparts; df -h /tmp | tail -1 ;;
a6)
  [ -d /tmp/vsite/vllm ] || { cat /tmp/vparts/vsite.tar.xz.part* | untar /tmp; }
  python3 -c "import vllm, unsloth, trl; print(vllm.__version__, unsloth.__version__, trl.__version__)" 2>&1 | tail -1
  timeout 560 python3 benchmarks/eval_engines.py apps/r1_qwen3_dapo_id/recipe.yaml --set model.name=/tmp/models/qwen3-8b \
    --set data.source=synthetic --set data.synthetic_rows=64 --set data.eval_rows=20 --set run.report_to=none \
    --max-new-tokens 512 --out $OUT/eval_engines_qwen3-8b.json > $OUT/eval_engines.log 2>&1
  echo "eval_engines rc=$?"; tail -12 $OUT/eval_engines.log ;;
a7)
  rm -rf /tmp/apps/rc /tmp/runs
  (setsid bash -c "python3 benchmarks/apps_at_size.py run r1-qwen3-8b --out /tmp/apps --disk /tmp -- \
     python3 apps/r1_qwen3_dapo_id/train.py --set model.name=/tmp/models/qwen3-8b --set data.source=synthetic \
     --set data.synthetic_rows=64 --set data.eval_rows=20 --set grpo.max_steps=2 --set grpo.save_steps=2 \
     --set run.output_dir=/tmp/runs --set run.name=r1-8b --set run.report_to=none --gguf q8_0 q4_k_m \
     > /tmp/apps/console.txt 2>&1; echo \$? > /tmp/apps/rc" < /dev/null > /dev/null 2>&1 &)
  sleep 10; job_wait 560 ;;
a8)
  job_wait 560
  if [ -f /tmp/apps/rc ]; then
    python3 benchmarks/export_at_size.py stage "push --dry-run" --results /tmp/apps/push.jsonl -- \
      python3 -m grpo_export push /tmp/runs/r1-8b/merged_16bit you/r1-qwen3-8b-grpo --dry-run 2>&1 | tail -4
    cp /tmp/runs/r1-8b/merged_16bit/.grpo-export.json /tmp/apps/merged-checks.json 2>/dev/null
    cp /tmp/runs/r1-8b/gguf/.grpo-export.json /tmp/apps/gguf-checks.json 2>/dev/null
    cp /tmp/runs/r1-8b/eval.json /tmp/runs/r1-8b/train.log /tmp/apps/ 2>/dev/null
    ls -la /tmp/runs/r1-8b /tmp/runs/r1-8b/gguf
    tar czf $OUT/r1-qwen3-8b.tar.gz -C /tmp/apps .
  fi ;;
esac
