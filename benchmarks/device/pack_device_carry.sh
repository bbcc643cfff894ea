#!/usr/bin/env bash
# Packs everything the GPU session carries into as few <= 60 MiB folders as it fits in (xz over
# installed trees: 415 MB of wheels travel as ~7 calls instead of 10):
#   .carry-site/   site.tar.xz: unsloth, trl, bitsandbytes, ... (.whl-a, .whl-b, .devcarry/wheels) as /tmp/site
#   .carry-vN/     vsite.tar.xz.partNN: the vllm 0.26.0 bundle (.vllm-*) as /tmp/vsite
#   .carry-gN/     the embedded SmolLM2 GGUF in chunks
# Run here, from the project root, after ../shared/device/fetch_wheels.sh, ../shared/device/fetch_vllm.sh
# and `python benchmarks/gpu_grpo.py prepare` (which fills .devcarry). The device side is
# benchmarks/device/gpu_session.sh (its header lists which folder each call carries).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
plat="--only-binary=:all: --python-version 3.12 --implementation cp --platform any"
for p in manylinux1 manylinux2014 manylinux_2_5 manylinux_2_17 manylinux_2_24 manylinux_2_26 manylinux_2_27 \
         manylinux_2_28 manylinux_2_31; do
  plat="$plat --platform ${p}_x86_64"
done
pipt() { python3 -m pip install -q --no-index --no-deps --no-compile $plat --target "$@"; }

pipt "$work/site" .whl-a/*.whl .whl-b/*.whl .devcarry/wheels/*.whl
mkdir -p "$work/vllm" && cat .vllm-*/part* | tar x -C "$work/vllm"
pipt "$work/vsite" "$work"/vllm/*/*.whl
rm -rf .carry-site .carry-v* .carry-g*  # not .carry-llama: it is made by hand
mkdir -p .carry-site
tar cf - -C "$work" site | xz -T2 -9 > .carry-site/site.tar.xz
tar cf - -C "$work" vsite | xz -T2 -9 | split -b 60M -d - "$work/vpart"
i=1
for f in "$work"/vpart*; do mkdir -p ".carry-v$i" && mv "$f" ".carry-v$i/vsite.tar.xz.part$(printf %02d $i)"; i=$((i + 1)); done
gguf=${SMOLLM2_GGUF:-$(hatch run python -c "from grpo_training.embedded import embedded_gguf_path; print(embedded_gguf_path())" | tail -1)}
split -b 50M -d "$gguf" "$work/gpart"
i=1
for f in "$work"/gpart*; do mkdir -p ".carry-g$i" && mv "$f" ".carry-g$i/chunk$(printf %02d $i)"; i=$((i + 1)); done
for d in .carry-* .devcarry; do  # ignored: only a call's `carry` takes them
  [ -e "$d" ] && { grep -qxF "/$d/" .git/info/exclude || echo "/$d/" >> .git/info/exclude; }
done
du -sh .carry-* .devcarry
