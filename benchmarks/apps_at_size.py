"""Apps at real size: one app run (`apps/*/train.py`, training + evaluation + the fresh-process
export), split into its stages by the `Stage: ...` lines the run logs, with each stage's wall time, peak host
RSS of the process tree, peak GPU memory of the tree (NVML) and the disk in use when it ended.

    python benchmarks/apps_at_size.py run NAME --out DIR [--disk PATH] -- python apps/.../train.py ...
    python benchmarks/apps_at_size.py table DIR/NAME [...]

`run` writes DIR/NAME.log (every output line, \\n or \\r ended, prefixed by seconds since the start),
DIR/NAME.timeline.jsonl (one sample every 0.5 s: seconds, RSS GiB, GPU GiB, disk GB used under --disk) and
DIR/NAME.json (the table rows). `table` prints the markdown table of one or more runs.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_at_size import _gpu_bytes, _tree  # noqa: E402  (the same samplers as the export benchmark)

STAGE = re.compile(r"Stage: (.+?)\s*$")


def run(name: str, out: Path, command: list[str], disk: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    log_path, timeline_path = out / f"{name}.log", out / f"{name}.timeline.jsonl"
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def sample() -> None:
        with timeline_path.open("w") as timeline:
            while process.poll() is None:
                tree = _tree(process.pid)
                rss = 0
                for proc in tree:
                    try:
                        rss += proc.memory_info().rss
                    except Exception:  # noqa: BLE001 - a child ended between listing and reading
                        pass
                gpu = _gpu_bytes({p.pid for p in tree})
                timeline.write(json.dumps({"t": round(time.monotonic() - started, 1), "rss": round(rss / 2**30, 2),
                                           "gpu": round(gpu / 2**30, 2),
                                           "disk": round(shutil.disk_usage(disk).used / 1e9, 1)}) + "\n")
                timeline.flush()
                time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with log_path.open("w") as log:
        pending = b""
        while chunk := process.stdout.read1(65536):
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            pending += chunk
            *lines, pending = re.split(rb"[\r\n]", pending)
            stamp = time.monotonic() - started
            for line in lines:
                if line.strip():
                    log.write(f"{stamp:9.1f} {line.decode(errors='replace')}\n")
            log.flush()
    code = process.wait()
    sampler.join(timeout=2)
    rows = stages(log_path, timeline_path)
    rows.append({"stage": "whole run", "rc": code, "wall_s": round(time.monotonic() - started, 1),
                 **_peaks(timeline_path, 0, float("inf"))})
    (out / f"{name}.json").write_text(json.dumps({"name": name, "command": command, "rows": rows}, indent=1))
    print(table([out / name]))
    return code


def stages(log_path: Path, timeline_path: Path) -> list[dict]:
    """(stage, start, end) windows from the log's `Stage:` lines; the first window is the start-up."""
    marks = [(0.0, "start-up: imports, data, recipe")]
    for line in log_path.read_text().splitlines():
        stamp, _, text = line.strip().partition(" ")
        found = STAGE.search(text)
        if found:
            marks.append((float(stamp), found.group(1)))
    end = max((json.loads(l)["t"] for l in timeline_path.read_text().splitlines() if l.strip()), default=0.0)
    rows = []
    for (start, stage), (stop, _) in zip(marks, [*marks[1:], (end, "")]):
        rows.append({"stage": stage, "wall_s": round(stop - start, 1), **_peaks(timeline_path, start, stop)})
    return rows


def _peaks(timeline_path: Path, start: float, stop: float) -> dict:
    samples = [json.loads(l) for l in timeline_path.read_text().splitlines() if l.strip()]
    window = [s for s in samples if start <= s["t"] <= stop] or samples[-1:]
    return {"peak_rss_gib": max((s["rss"] for s in window), default=0.0),
            "peak_gpu_gib": max((s["gpu"] for s in window), default=0.0),
            "disk_used_gb": window[-1]["disk"] if window else 0.0}


def table(prefixes: list[Path]) -> str:
    lines = ["| run | stage | wall | peak host RSS | peak GPU | disk in use at its end |", "|---|---|---|---|---|---|"]
    for prefix in prefixes:
        record = json.loads(prefix.with_suffix(".json").read_text() if prefix.suffix != ".json"
                            else prefix.read_text())
        for row in record["rows"]:
            lines.append(f"| {record['name']} | {row['stage']} | {row['wall_s']:.0f} s | {row['peak_rss_gib']:.1f} GiB | "
                         f"{row['peak_gpu_gib']:.1f} GiB | {row['disk_used_gb']:.1f} GB |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("run")
    one.add_argument("name")
    one.add_argument("--out", type=Path, required=True)
    one.add_argument("--disk", type=Path, default=Path("/tmp"))
    show = commands.add_parser("table")
    show.add_argument("prefixes", type=Path, nargs="+")
    argv = sys.argv[1:]
    command = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    if args.command == "run":
        return run(args.name, args.out, command, args.disk)
    print(table(args.prefixes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
