"""Worst-case seconds per completion of every registered reward on pathological completions.

A policy model in GRPO can write anything up to its token budget, and a bug or a hostile data set
can hand a reward a multi-MB string: deeply nested ``\\boxed{`` (math-verify's extraction regexes
are super-linear on it, and its signal timeout cannot interrupt a regex running in C), long digit
runs, tag soup, one word repeated. Each reward is called once (TRL's batch of one conversational
completion) on each case at each size; the table shows the slowest case per reward and size, and the
JSON holds every measurement and the size of the longest log record the call wrote.

    hatch run python benchmarks/rewards_worst_case.py [--sizes 65536 1048576 4194304]

Prints a table and writes benchmarks/results/rewards_worst_case.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from grpo_rewards import REWARDS, get_reward_funcs  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "rewards_worst_case.json"


def _repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


# name -> builder(size in characters) of the whole completion.
CASES: dict[str, Callable[[int], str]] = {
    "nested \\boxed{": lambda n: "hmm</think>" + _repeat("\\boxed{", n),
    "nested $\\boxed{": lambda n: "hmm</think>" + _repeat("$\\boxed{", n),
    "nested \\[\\boxed{": lambda n: "hmm</think>" + _repeat("\\[\\boxed{", n),
    "nested \\(\\boxed{": lambda n: "hmm</think>" + _repeat("\\(\\boxed{", n),
    "nested \\[\\boxed{ spaced": lambda n: "hmm</think>" + _repeat("\\[ \\boxed{", n),
    "nested \\boxed{ no end tag": lambda n: _repeat("\\boxed{1", n),
    "digits and commas": lambda n: "<answer>" + _repeat("1,", n) + "</answer>",
    "one long number": lambda n: "hmm</think>" + _repeat("9", n),
    "minus signs": lambda n: "hmm</think>" + _repeat("-", n) + "1",
    "tag soup": lambda n: _repeat("<reasoning>\n</reasoning>\n<answer>\n</answer></think><think>", n),
    "prose": lambda n: _repeat("Kita hitung jumlah apel di setiap kotak lalu kita bagi. ", n),
}


class _LongestRecord(logging.Handler):
    """Remembers the length of the longest formatted log record (ours and math-verify's)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.longest = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.longest = max(self.longest, len(record.getMessage()))


def measure(reward, text: str, handler: _LongestRecord) -> tuple[float, int]:
    handler.longest = 0
    began = time.perf_counter()
    reward(prompts=[[{"role": "user", "content": "q"}]], completions=[[{"role": "assistant", "content": text}]], answer=["1"],
           completion_ids=[range(len(text) // 4)])  # TRL passes the token ids; about 4 characters a token
    return time.perf_counter() - began, handler.longest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[65_536, 1_048_576, 4_194_304],
                        help="completion sizes in characters")
    parser.add_argument("--rewards", nargs="+", default=list(REWARDS), help="registry names to measure")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    handler = _LongestRecord()
    for name in ("grpo_rewards", "math_verify"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.DEBUG)
        logging.getLogger(name).propagate = False
    rewards = get_reward_funcs(args.rewards, log_every=1)
    for reward in rewards:  # warm-up: lazy imports (langid's model, math-verify, sympy)
        measure(reward, "hmm</think>\\boxed{1}", handler)

    rows = []
    for size in args.sizes:
        for case, build in CASES.items():
            text = build(size)
            for reward in rewards:
                seconds, longest_log = measure(reward, text, handler)
                rows.append({"reward": reward.__name__, "case": case, "chars": len(text), "seconds": seconds,
                             "longest_log_record_chars": longest_log})
                print(f"  {reward.__name__:<22}{case:<28}{len(text):>10,} chars {seconds:>9.4f} s  log {longest_log:,}", flush=True)

    print(f"\n{'reward':<22}" + "".join(f"{f'{size:,} chars':>28}" for size in args.sizes) + f"{'longest log':>14}")
    for reward in rewards:
        cells, longest = [], 0
        for size in args.sizes:
            mine = [row for row in rows if row["reward"] == reward.__name__ and row["chars"] >= size and row["chars"] < 2 * size]
            worst = max(mine, key=lambda row: row["seconds"])
            longest = max([longest] + [row["longest_log_record_chars"] for row in mine])
            cells.append(f"{worst['seconds']:>9.4f} s {worst['case'][:16]:>16}")
        print(f"{reward.__name__:<22}" + "".join(f"{cell:>28}" for cell in cells) + f"{longest:>14,}")

    result = {
        "benchmark": "rewards_worst_case", "unit": "seconds for one completion (one call, batch of 1), one core",
        "sizes": args.sizes, "python": platform.python_version(), "machine": platform.machine(), "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temp = args.out.with_suffix(".json.tmp")
    temp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    temp.replace(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
