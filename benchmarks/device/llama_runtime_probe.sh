#!/usr/bin/env bash
# Device probe for the llama.cpp runtime crash (benchmarks/EXPORT.md): a tiny random Llama converted to f16 GGUF,
# then run by llama.cpp's own C++ tool (llama-perplexity) and by the sdist's Python bindings. Carry .devcarry
# (wheels, tok-smollm2, llama.cpp.tar.xz). Tells a build fault (both crash) from a bindings fault (only Python).
set -uo pipefail
export PYTHONPATH=/tmp/site:$PWD/packages/export/src GRPO_CACHE=/tmp/grpo-cache HF_HUB_OFFLINE=1
mkdir -p /tmp/site /tmp/grpo-cache/llama.cpp-0.3.36-shared
python3 -m pip install -q --no-index --no-deps --target /tmp/site .devcarry/wheels/*.whl
src=/tmp/grpo-cache/llama.cpp-0.3.36-shared/llama.cpp
[ -d $src ] || tar xJf .devcarry/llama.cpp.tar.xz -C /tmp/grpo-cache/llama.cpp-0.3.36-shared
cmake -S $src -B /tmp/b -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF -DBUILD_SHARED_LIBS=ON '-DCMAKE_BUILD_RPATH=$ORIGIN' \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF > /tmp/cmake.log 2>&1
cmake --build /tmp/b --target llama-perplexity llama -j "$(nproc)" > /tmp/build.log 2>&1 || tail -5 /tmp/build.log
gcc --version | head -1; python3 --version
python3 - <<'P'
import torch
from pathlib import Path
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig
from grpo_export.gguf_export import convert_to_gguf
tok = AutoTokenizer.from_pretrained(".devcarry/tok-smollm2")
c = LlamaConfig(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, vocab_size=len(tok), tie_word_embeddings=True)
AutoModelForCausalLM.from_config(c).to(torch.bfloat16).save_pretrained("/tmp/tiny"); tok.save_pretrained("/tmp/tiny")
convert_to_gguf(Path("/tmp/tiny"), Path("/tmp/tiny.gguf"), "f16", Path("/tmp/conv.log"))
P
python3 -c "print(' '.join(['the sea keeps every colour of the sky'] * 60))" > /tmp/text.txt
/tmp/b/bin/llama-perplexity -m /tmp/tiny.gguf -f /tmp/text.txt -c 64 --chunks 1 -t 4 2>&1 | tail -4; echo "C++ tool rc=$?"
LLAMA_CPP_LIB_PATH=/tmp/b/bin python3 -X faulthandler -c "
import sys; sys.path.insert(0, '$src/python-bindings')
import llama_cpp
m = llama_cpp.Llama(model_path='/tmp/tiny.gguf', n_ctx=16, logits_all=True, n_gpu_layers=0, verbose=False)
m.eval([1, 2, 3]); print('bindings ok', m.scores[:3].shape)" 2>&1 | tail -4; echo "bindings rc=$?"
