#!/usr/bin/env bash
# Is the libllama that the toolkit builds on the GPU machine (gcc 13.3, Ubuntu 24.04) really crashing under the
# bindings? (EXPORT.md; the 2026-12-02 a1 record shows both bindings runs stopped at a missing diskcache instead.)
# One call, carry [.carry-llama .devcarry]: build there with ensure_llama_cpp_tools, then the export's own check
# runner (gguf_run: logits + tokenization in a child) on a tiny Llama with the SmolLM2 tokenizer.
set -uo pipefail
export PYTHONPATH=/tmp/site:$PWD/packages/export/src GRPO_CACHE=/tmp/gcc13-cache HF_HUB_OFFLINE=1  # not the apps' cache: their carried gcc-12 build stays
home=/tmp/gcc13-cache/llama.cpp-0.3.36-shared; mkdir -p $home /tmp/site
python3 -m pip install -q --no-index --no-deps --target /tmp/site .devcarry/wheels/*.whl 2>&1 | tail -1
tar xJf .carry-llama/llama.cpp.tar.xz -C $home
t0=$(date +%s)
python3 -c "from grpo_export.llama_cpp import ensure_llama_cpp_tools as e; e()" 2>&1 | tail -2
echo "built in $(( $(date +%s) - t0 )) s; $(gcc --version | head -1)"
python3 benchmarks/device/tiny_llama_gguf.py 2>&1 | grep -v Writing | tail -3
python3 - <<'P' 2>&1 | tail -8
import torch
from transformers import AutoTokenizer
from grpo_export.llama_runtime import gguf_run
tok = AutoTokenizer.from_pretrained(".devcarry/tok-smollm2")
text = "the sea keeps every colour of the sky"
run = gguf_run("/tmp/tiny.gguf", [torch.tensor([1, 2, 3, 4])], [text], [tok(text)["input_ids"]])
print("gcc-13 libllama under the bindings: ran;", tuple(run.logits[0].shape),
      "tokenization identical:", run.token_ids[0] == tok(text)["input_ids"], "detokenized:", run.detokenized[0] == text)
P
