#!/usr/bin/env bash
# Where does the libllama built on the GPU machine (gcc 13.3) crash, and does it crash without -O3?
# llama_gcc13_probe.sh (2026-12-03) showed that it segfaults under the bindings on a good tiny GGUF while the carried
# gcc-12 build runs the same file on the same machine. One call, carry [.carry-llama .devcarry], ~2 min:
#   A  the toolkit's own build (ensure_llama_cpp_tools: Release, -O3), then examined
#   B  the same options but RelWithDebInfo (-O2 -g: line numbers in a backtrace), then examined
# Examined: each library's NEEDED (readelf), a verbose load through the bindings (llama.cpp's own log says how far
# it got), gdb's backtrace where gdb exists; for B also its link line and the environment that could change it.
# A first, so that a call cut at its limit still says where the toolkit's build crashes.
set -uo pipefail
export PYTHONPATH=/tmp/site:$PWD/packages/export/src HF_HUB_OFFLINE=1 GRPO_CACHE=/tmp/dA  # the converter too: not ~/.cache
mkdir -p /tmp/site /tmp/dA/llama.cpp-0.3.36-shared /tmp/dB
python3 -m pip install -q --no-index --no-deps --target /tmp/site .devcarry/wheels/*.whl 2>&1 | grep -v WARN | tail -1
A=/tmp/dA/llama.cpp-0.3.36-shared
tar xJf .carry-llama/llama.cpp.tar.xz -C $A
t0=$(date +%s)
python3 benchmarks/device/tiny_llama_gguf.py 2>&1 | grep -v Writing | tail -3 &
python3 -c "from grpo_export.llama_cpp import ensure_llama_cpp_tools as e; e()" > /tmp/dA.log 2>&1
echo "A built: rc $? at $(( $(date +%s) - t0 )) s"; wait
gcc --version | head -1; command -v gdb || echo "no gdb"
cat > /tmp/load.py <<EOF
import sys; sys.path.insert(0, "$A/llama.cpp/python-bindings")
import llama_cpp
m = llama_cpp.Llama(model_path="/tmp/tiny.gguf", n_ctx=16, logits_all=True, n_gpu_layers=0, verbose=True)
m.eval([1, 2, 3]); print("LOADED AND RAN", m.scores[:3].shape)
EOF
examine() {
  local lib=$1
  echo "=== $lib"; for l in libggml-base.so libllama.so; do
    echo "$l needs: $(readelf -d $lib/$l | grep NEEDED | grep -o '\[.*\]' | tr '\n' ' ')"; done
  LLAMA_CPP_LIB_PATH=$lib timeout 60 python3 -X faulthandler /tmp/load.py > /tmp/load.log 2>&1; echo "load rc $?"
  grep -v "^llama_model_loader: - \|^print_info\|^load_tensors: layer\|llama_graph_n_input\|^Model metadata\|chat\|^'" \
    /tmp/load.log | tail -20
  if command -v gdb > /dev/null; then
    LLAMA_CPP_LIB_PATH=$lib timeout 90 gdb -q -batch -ex run -ex bt --args python3 /tmp/load.py 2>&1 \
      | grep -A25 "SIGSEGV\|SIGABRT" | head -30
  fi
}
examine $A/bin
python3 - > /tmp/dB.log 2>&1 <<EOF
import subprocess
from grpo_export.llama_cpp import CMAKE_OPTIONS
options = [o.replace("=Release", "=RelWithDebInfo") for o in CMAKE_OPTIONS]
subprocess.run(["cmake", "-S", "$A/llama.cpp", "-B", "/tmp/dB/build", *options], check=True)
subprocess.run(["cmake", "--build", "/tmp/dB/build", "--target", "llama", "-j", "16", "--verbose"], check=True)
EOF
echo "B built: rc $? at $(( $(date +%s) - t0 )) s"
echo "link line of libggml-base.so (2026-12-03: libstdc++ came out static in every library there, not here):"
grep -- "-o .*libggml-base.so" /tmp/dB.log | head -1 | tr ' ' '\n' | grep -v '\.o"\?$' | tr '\n' ' '; echo
env | grep -i "flags\|toolchain\|^cc=\|^cxx=" ; command -v c++ cmake; ls -la $(command -v c++)
examine /tmp/dB/build/bin
