"""Which wheels an air-gapped GPU machine needs, from pip's report of the resolved GPU stack and the list of what
that machine already has (`pip list --format=freeze` run there).

A package goes into the wheelhouse when the machine lacks it, or when the version it has breaks a requirement that some package
of the resolved set places on it (markers evaluated for the report's platform and the extras in play); otherwise
the machine's own version is kept. The four packages of this repository are left out (they are built as wheels
separately). Writes three files into OUT_DIR:
  download.txt  name==version of the wheels to download (the resolved versions)
  sdists.txt    the subset of download.txt that the index has only as source archives (built into wheels here)
  kept.txt      name==version the machine already has and keeps (the offline check downloads these)

    python benchmarks/device/wheelhouse_plan.py benchmarks/gpu_stack/resolved-py312.json \
        benchmarks/device/preinstalled.txt OUT_DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version


def read_freeze(path: Path) -> dict[str, str]:
    """`name==version` lines (pip list --format=freeze) as {canonical name: version}."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "==" in line:
            name, version = line.strip().split("==", 1)
            pins[canonicalize_name(name)] = version
    return pins


def active_requirements(report: dict) -> dict[str, list[tuple[str, Requirement]]]:
    """{target name: [(required by, requirement)]} over the resolved set, with the extras each package is asked for
    (found by following the requirements until no new extra appears)."""
    items = {canonicalize_name(i["metadata"]["name"]): i for i in report["install"]}
    env = dict(report["environment"])
    extras = {name: set(item.get("requested_extras") or []) for name, item in items.items()}

    def active(name: str) -> list[Requirement]:
        reqs = [Requirement(r) for r in items[name]["metadata"].get("requires_dist") or []]
        return [r for r in reqs if r.marker is None
                or any(r.marker.evaluate({**env, "extra": e}) for e in ["", *sorted(extras[name])])]

    changed = True
    while changed:
        changed = False
        for name in items:
            for req in active(name):
                target = extras.setdefault(canonicalize_name(req.name), set())
                if not req.extras <= target:
                    target |= req.extras
                    changed = True
    by_target: dict[str, list[tuple[str, Requirement]]] = {}
    for name in items:
        for req in active(name):
            by_target.setdefault(canonicalize_name(req.name), []).append((name, req))
    return by_target


def plan(report: dict, preinstalled: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """(download, sdists, kept) as name==version lists.

    The machine's numpy 2.5 breaks `numpy<2.4`, its certifi is too old only for an extra that is not asked for:

        >>> def item(name, version, requires=(), url="https://x/a.whl", extras=None):
        ...     return {"metadata": {"name": name, "version": version, "requires_dist": list(requires)},
        ...             "download_info": {"url": url}, "requested_extras": extras}
        >>> report = {"environment": {"python_version": "3.12", "sys_platform": "linux"}, "install": [
        ...     item("app", "1", ["numpy<2.4", "langid", "certifi>=2027; extra == 'tls'"], url="packages/app"),
        ...     item("numpy", "2.3.5"), item("certifi", "2026.1"), item("langid", "1.1.6", url="https://x/l.tar.gz")]}
        >>> plan(report, {"numpy": "2.5.2", "certifi": "2026.1"})
        (['langid==1.1.6', 'numpy==2.3.5'], ['langid==1.1.6'], ['certifi==2026.1'])
        >>> report["install"][0]["requested_extras"] = ["tls"]
        >>> plan(report, {"numpy": "2.5.2", "certifi": "2026.1"})[0]
        ['certifi==2026.1', 'langid==1.1.6', 'numpy==2.3.5']
    """
    requirements = active_requirements(report)
    download, sdists, kept = [], [], []
    for item in sorted(report["install"], key=lambda i: canonicalize_name(i["metadata"]["name"])):
        name, version = canonicalize_name(item["metadata"]["name"]), item["metadata"]["version"]
        url = item["download_info"]["url"]
        if url.startswith("packages/"):  # this repository's own packages
            continue
        have = preinstalled.get(name)
        if have is not None and all(req.specifier.contains(Version(have), prereleases=True)
                                    for _, req in requirements.get(name, [])):
            kept.append(f"{name}=={have}")
            continue
        download.append(f"{name}=={version}")
        if not url.endswith(".whl"):
            sdists.append(f"{name}=={version}")
    return download, sdists, kept


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path, help="pip's installation report (benchmarks/gpu_stack/resolve.sh)")
    parser.add_argument("preinstalled", type=Path, help="`pip list --format=freeze` of the GPU machine")
    parser.add_argument("out_dir", type=Path, help="where download.txt, sdists.txt and kept.txt go")
    cli = parser.parse_args(argv)
    for path in (cli.report, cli.preinstalled):
        if not path.is_file():
            print(f"error: {path} is not a file", file=sys.stderr)
            return 2
    report = json.loads(cli.report.read_text(encoding="utf-8"))
    download, sdists, kept = plan(report, read_freeze(cli.preinstalled))
    cli.out_dir.mkdir(parents=True, exist_ok=True)
    for name, lines in (("download.txt", download), ("sdists.txt", sdists), ("kept.txt", kept)):
        (cli.out_dir / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    print(f"{len(download)} packages to download ({len(sdists)} as source), {len(kept)} kept from the machine")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
