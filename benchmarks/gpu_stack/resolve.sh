#!/usr/bin/env bash
# Asks pip's resolver for the whole GPU install, as a user on Linux x86-64 with CPython 3.12 types it:
#   pip install "packages/rewards[math]" packages/data "packages/training[gpu]" packages/export
# in a fresh Python 3.12 venv with the newest pip, against the package index alone (pip's config files and
# PIP_FIND_LINKS of this machine left out), as a dry run. Writes, beside this script:
#   resolved-py312.json  pip's installation report (the four local packages named by their folder)
#   resolved-py312.txt   the resolved set, name==version, one a line
# Run from anywhere in the repository:  bash benchmarks/gpu_stack/resolve.sh   (PY312=/path/to/python3.12)
set -euo pipefail
root=$(git rev-parse --show-toplevel)
here="$root/benchmarks/gpu_stack"
cd "$root"
py=${PY312:-python3.12}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip)
clean_env=(env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null)
"${clean_env[@]}" "${pip[@]}" install -q -U pip
"${clean_env[@]}" "${pip[@]}" install --dry-run --ignore-installed --quiet --report "$work/report.json" \
  "./packages/rewards[math]" ./packages/data "./packages/training[gpu]" ./packages/export
"$work/venv/bin/python" - "$work/report.json" "$here" "$root" <<'PY'
import json, sys
from pathlib import Path
report_path, here, root = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]).resolve().as_uri()
report = json.loads(report_path.read_text())
for item in report["install"]:  # local folders by their path in the repository, not this checkout's
    item["metadata"].pop("description", None)  # each project's long README: 3 MB of the record, none of the resolution
    url = item["download_info"]["url"]
    if url.startswith(root + "/"):
        item["download_info"]["url"] = url[len(root) + 1:]
(here / "resolved-py312.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
pins = sorted(f'{i["metadata"]["name"]}=={i["metadata"]["version"]}' for i in report["install"])
(here / "resolved-py312.txt").write_text("\n".join(pins) + "\n")
print(f"pip {report['pip_version']} resolved {len(pins)} packages for Python {report['environment']['python_full_version']}")
PY
