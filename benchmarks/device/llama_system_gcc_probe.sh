#!/usr/bin/env bash
# Which compiler on the GPU machine builds a libllama that runs? (2026-12-03, after llama_gcc13_diagnose.sh)
# The diagnosis showed the environment there sets CC=/opt/gcc/bin/gcc CXX=/opt/gcc/bin/g++, a gcc 13 whose g++ links
# libstdc++ statically into every shared library; that build segfaults in `init_tokenizer`. One call on a fresh
# machine, carry [.carry-llama .carry-probe] (.carry-probe: /tmp/tiny.gguf from tiny_llama_gguf.py and the wheels the
# bindings import: numpy, jinja2, markupsafe, typing_extensions, diskcache), ~2.5 min:
#   U  the toolkit's cmake options with Ubuntu's compiler (CC=/usr/bin/gcc CXX=/usr/bin/g++)
#   X  the environment's /opt/gcc with -Wl,--exclude-libs,ALL (each library's static libstdc++ kept to itself)
# On 2026-12-03 CMAKE_OPTIONS did not have that flag yet (X passed it through LDFLAGS; both ran); since then they
# carry it on Linux, so both builds include it and X is the toolkit's own build with the environment's compiler.
set -uo pipefail
mkdir -p /tmp/psite /tmp/src
python3 -m pip install -q --no-index --no-deps --target /tmp/psite .carry-probe/*.whl 2>&1 | grep -v WARN | tail -1
tar xJf .carry-llama/llama.cpp.tar.xz -C /tmp/src
options=$(python3 -c "import ast, sys; t = ast.parse(open('packages/export/src/grpo_export/llama_cpp.py').read())
node = next(n.value for n in t.body if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == 'CMAKE_OPTIONS')
print(' '.join(eval(compile(ast.Expression(node), 'llama_cpp.py', 'eval'), {'sys': sys})))")  # no import: no torch here
echo "cmake options: $options"; echo "environment: CC=${CC:-} CXX=${CXX:-}"; /usr/bin/g++ --version | head -1
cat > /tmp/load.py <<PYEOF
import sys; sys.path[:0] = ["/tmp/psite", "/tmp/src/llama.cpp/python-bindings"]
import llama_cpp
m = llama_cpp.Llama(model_path="$PWD/.carry-probe/tiny.gguf", n_ctx=16, logits_all=True, n_gpu_layers=0, verbose=False)
m.eval([1, 2, 3]); print("LOADED AND RAN", m.scores[:3].shape, m.tokenize(b"Hello world"))
PYEOF
try() {  # name, then env assignments for cmake's configure
  local name=$1; shift; local t0=$(date +%s)
  env "$@" cmake -S /tmp/src/llama.cpp -B /tmp/b$name $options > /tmp/b$name.log 2>&1 \
    && cmake --build /tmp/b$name --target llama -j 16 >> /tmp/b$name.log 2>&1
  echo "== $name built: rc $? in $(( $(date +%s) - t0 )) s; $(grep -m1 'CXX compiler identification' /tmp/b$name.log)"
  echo "libllama.so needs: $(readelf -d /tmp/b$name/bin/libllama.so | grep NEEDED | grep -o '\[.*\]' | tr '\n' ' ')"
  LLAMA_CPP_LIB_PATH=/tmp/b$name/bin timeout 60 python3 -X faulthandler /tmp/load.py > /tmp/load$name.log 2>&1
  echo "load rc $?"; grep -v '^ *File\|^$' /tmp/load$name.log | tail -4
}
try U CC=/usr/bin/gcc CXX=/usr/bin/g++
try X "LDFLAGS=-Wl,--exclude-libs,ALL"  # as run on 2026-12-03; the options carry it now too
