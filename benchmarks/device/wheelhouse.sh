#!/usr/bin/env bash
# Builds the wheelhouse for an air-gapped GPU machine (CPython 3.12, Linux x86-64, torch 2.11.0 already there) and
# splits it into parts of at most $LIMIT_MIB MiB each: .wheelhouse/part01, part02, ... in the repository root
# (git-ignored), for ways onto the machine that limit what one transfer holds. Run where the package index is
# reachable, from anywhere in the repository:
#   hatch run bench:bash benchmarks/device/wheelhouse.sh
# Inputs: benchmarks/gpu_stack/resolved-py312.json (pip's report of the whole GPU install: resolve.sh) and
# benchmarks/device/preinstalled.txt (`pip list --format=freeze` of the GPU machine). What goes in:
#   - every wheel of the resolved set that the machine lacks or has at a version the set does not accept
#     (wheelhouse_plan.py decides; source-only packages are built into wheels here);
#   - hatchling and its dependencies: the machine builds this repository's four packages from the checkout it
#     has (pip install ./packages/...), offline, so the installed code is always that of the checkout;
#   - llama.cpp.tar.xz: llama.cpp's sources as the export unpacks them into its cache (grpo_export.llama_cpp),
#     so that the machine builds the tools without fetching the llama-cpp-python sdist.
# Then, unless CHECK=0, an offline check: pip resolves the four packages (built from ./packages with the
# wheelhouse's hatchling) with --no-index from the wheelhouse plus the machine's own versions of the rest
# (downloaded once into $PRESENT_DIR, several GB, never copied to the machine), for CPython 3.12 manylinux x86-64;
# it fails if any wheel is missing, and wheels that pip did not pick are left out.
# The GPU machine's side is benchmarks/device/install.sh (README.md beside this script).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
PY=${PYTHON:-python}  # the project's environment (`hatch run bench:...`): pip >= 23
LIMIT_MIB=${LIMIT_MIB:-56}
PRESENT_DIR=${PRESENT_DIR:-$HOME/.cache/grpo-toolkit/gpu-machine-wheels}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
wh=$work/wh
mkdir -p "$wh"
index=(env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null "$PY" -m pip)
plat=(--only-binary=:all: --python-version 3.12 --implementation cp --platform any --platform linux_x86_64)
for p in manylinux1 manylinux2010 manylinux2014 manylinux_2_{5..39}; do  # the machine: glibc 2.39
  plat+=(--platform "${p}_x86_64")
done

"$PY" benchmarks/device/wheelhouse_plan.py benchmarks/gpu_stack/resolved-py312.json \
  benchmarks/device/preinstalled.txt "$work"
grep -vxFf "$work/sdists.txt" "$work/download.txt" > "$work/binary.txt" || true
"${index[@]}" download -q --no-deps -d "$wh" "${plat[@]}" -r "$work/binary.txt"
[ -s "$work/sdists.txt" ] && "${index[@]}" wheel -q --no-deps -w "$wh" -r "$work/sdists.txt"
"${index[@]}" download -q -d "$work/backend" "${plat[@]}" hatchling  # ./packages/*'s build backend, with its deps
ls "$work/backend" > "$work/backend.txt" && mv "$work/backend"/* "$wh/"
echo "wheelhouse: $(ls "$wh" | wc -l) wheels, $(du -sm "$wh" | cut -f1) MiB"

# llama.cpp's sources, unpacked by the export's own code into a fresh cache, then packed as that cache holds them
GRPO_CACHE=$work/llama PYTHONPATH=packages/export/src env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null "$PY" -c \
  "from grpo_export.llama_cpp import ensure_llama_cpp_source; print(ensure_llama_cpp_source().source)"
tar cf - -C "$work/llama" . | xz -T2 -6 > "$work/llama.cpp.tar.xz"
echo "llama.cpp sources: $(du -sm "$work/llama.cpp.tar.xz" | cut -f1) MiB"

if [ "${CHECK:-1}" = 1 ]; then
  mkdir -p "$PRESENT_DIR"
  "${index[@]}" download -q --no-deps -d "$PRESENT_DIR" "${plat[@]}" -r "$work/kept.txt"
  "$PY" -m pip install -q --dry-run --ignore-installed --no-index --find-links "$wh" --find-links "$PRESENT_DIR" \
    "${plat[@]}" --target "$work/target" --report "$work/check.json" \
    "./packages/rewards[math]" ./packages/data "./packages/training[gpu]" ./packages/export
  "$PY" - "$work/check.json" "$wh" "$work/backend.txt" <<'PY'
import json, sys
from pathlib import Path
from urllib.parse import unquote
report, wh = json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])
backend = set(Path(sys.argv[3]).read_text().split())  # used by the build step, which the report does not list
urls = [unquote(i["download_info"]["url"]) for i in report["install"]]
picked = {Path(url).name for url in urls if url.endswith(".whl")} | backend
in_wheelhouse = {p.name for p in wh.iterdir()}
unused = sorted(in_wheelhouse - picked)
print(f"offline check: pip resolved {len(urls)} packages: {len(picked & in_wheelhouse - backend)} from the wheelhouse, "
      f"{len(picked - in_wheelhouse)} the machine has, {sum(not u.endswith('.whl') for u in urls)} from ./packages "
      f"(built with the {len(backend)} wheels of hatchling)")
for name in unused:  # the machine's own versions of some packages need less than the resolved ones
    (wh / name).unlink()
if unused:
    print("left out, not needed beside the machine's packages:", " ".join(unused))
PY
fi

# split into parts: wheels over the limit in chunks (NAME.partNN), first fit, largest first
rm -rf .wheelhouse
"$PY" - "$wh" "$work/llama.cpp.tar.xz" "$LIMIT_MIB" <<'PY'
import shutil, sys
from pathlib import Path
wh, llama, limit = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) * 2**20
pieces = []  # (size, name in the part, source, offset)
for path in [*sorted(wh.iterdir()), llama]:
    size = path.stat().st_size
    if size <= limit:
        pieces.append((size, path.name, path, 0))
    else:
        for k, offset in enumerate(range(0, size, limit)):
            pieces.append((min(limit, size - offset), f"{path.name}.part{k:02d}", path, offset))
bins: list[list] = []
for piece in sorted(pieces, key=lambda p: -p[0]):
    for b in bins:
        if sum(p[0] for p in b) + piece[0] <= limit:
            b.append(piece)
            break
    else:
        bins.append([piece])
for n, b in enumerate(bins, 1):
    folder = Path(f".wheelhouse/part{n:02d}")
    folder.mkdir(parents=True)
    for size, name, source, offset in b:
        with source.open("rb") as src, (folder / name).open("wb") as dst:
            src.seek(offset)
            dst.write(src.read(size))
(folder / "wheelhouse.txt").write_text("".join(f"{p[1]}\n" for p in sorted(pieces, key=lambda p: p[1])))
print(f"{len(bins)} parts of <= {limit >> 20} MiB: .wheelhouse/part01 ... part{len(bins):02d} "
      f"(the last lists every file in wheelhouse.txt)")
PY
du -sm .wheelhouse/part* | tr '\n' ' '; echo
