"""Fuzz every registered reward with hostile completions (the property tests' strategies, many more examples).

Checks what the property tests check — no exception, every score a float inside the reward's
``score_range`` (``None`` only where the gold answer is missing or unparseable) — on at least
100,000 examples in all (10,000 per reward; 5,000 for the two slow ones, language and
math_accuracy, whose libraries take milliseconds per text), with and without a ``prefix``. Prints the count per reward and in total,
and writes benchmarks/results/fuzz_rewards.json.

    hatch run python benchmarks/fuzz_rewards.py [--per-reward 10000] [--per-slow-reward 5000] [--seed N] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

from grpo_rewards import REWARDS, get_reward_funcs
from reference.hostile_inputs import batches, check_scores  # benchmarks/reference/: the property tests' strategies

REPO = Path(__file__).resolve().parents[1]

RESULTS = REPO / "benchmarks" / "results" / "fuzz_rewards.json"
SLOW = ("language", "math_accuracy")


def fuzz(name: str, examples: int, run_seed: int) -> dict:
    """Run ``examples`` hypothesis examples (half with ``prefix="<think>"``) against reward ``name``."""
    counts = {"examples": 0, "completions": 0}
    began = time.perf_counter()
    for prefix in ("", "<think>"):
        (reward,) = get_reward_funcs([name], prefix=prefix)

        @seed(run_seed)
        @settings(max_examples=examples // 2, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(batches)
        def run(batch):
            counts["completions"] += check_scores(reward, batch)
            counts["examples"] += 1

        run()
    return {"reward": name, **counts, "seconds": round(time.perf_counter() - began, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-reward", type=int, default=10_000, help="examples per fast reward (default 10,000)")
    parser.add_argument("--per-slow-reward", type=int, default=5_000, help=f"examples for {' and '.join(SLOW)} (default 5,000)")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random, printed)")
    parser.add_argument("--only", nargs="*", choices=sorted(REWARDS), help="fuzz only these rewards")
    args = parser.parse_args()
    run_seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"seed {run_seed}", flush=True)
    logging.getLogger("grpo_rewards").setLevel(logging.ERROR)  # the language reward warns on each malformed completion

    rows = []
    for name in args.only or list(REWARDS):
        row = fuzz(name, args.per_slow_reward if name in SLOW else args.per_reward, run_seed)
        rows.append(row)
        print(f"{name:<22}{row['examples']:>9,} examples {row['completions']:>9,} completions {row['seconds']:>8.1f} s  ok", flush=True)
    total = sum(row["examples"] for row in rows)
    completions = sum(row["completions"] for row in rows)
    print(f"{'total':<22}{total:>9,} examples {completions:>9,} completions: no exception, every score in range")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    temp = RESULTS.with_suffix(".json.tmp")
    temp.write_text(json.dumps({"benchmark": "fuzz_rewards", "seed": run_seed, "examples": total, "completions": completions, "rows": rows}, indent=2) + "\n", encoding="utf-8")
    temp.replace(RESULTS)


if __name__ == "__main__":
    main()
