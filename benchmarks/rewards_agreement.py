"""Agreement of math_accuracy with TRL's and open-r1's accuracy_reward, by category of real-data-shaped pairs.

Scores every (gold, completion) pair of ``reference/accuracy_pairs.py`` (GSM8K, DAPO-Math, MATH/NuminaMath
worked solutions, units, percents, degrees, fractions, intervals, sets, thousands separators, scientific
notation, prose) with our ``math_accuracy``, TRL's own ``trl.rewards.accuracy_reward`` and open-r1's
(``reference/peers.py``, verbatim), and counts per category where they agree and differ, and where each
gives the verdict a reader gives (``right``: 1.0 for a right answer, 0.0 for a wrong one, None where the
gold states no answer).

    hatch run python benchmarks/rewards_agreement.py

Prints a table and writes benchmarks/results/rewards_agreement.json.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import platform
from collections import Counter
from importlib.metadata import version
from pathlib import Path

from reference import peers
from reference.accuracy_pairs import pairs
from trl.rewards import accuracy_reward as trl_accuracy_reward

from grpo_rewards import MathAccuracy

RESULTS = Path(__file__).resolve().parent / "results" / "rewards_agreement.json"


def main() -> None:
    logging.disable(logging.CRITICAL)  # math-verify's warnings
    rows = list(pairs())
    completions = [[{"role": "assistant", "content": p.completion}] for p in rows]
    golds = [p.gold for p in rows]
    with contextlib.redirect_stdout(io.StringIO()):  # open-r1 prints every gold it cannot parse
        trl = trl_accuracy_reward(completions, golds)
        open_r1 = peers.accuracy_reward(completions, golds)
    ours = MathAccuracy()(completions=completions, answer=golds)

    counts: dict[str, Counter] = {}
    for pair, t, r, o in zip(rows, trl, open_r1, ours):
        c = counts.setdefault(pair.category, Counter())
        c["pairs"] += 1
        c["ours = TRL"] += o == t
        c["ours = open-r1"] += o == r
        c["TRL = open-r1"] += t == r
        c["ours right"] += o == pair.expected
        c["TRL right"] += t == pair.expected
        c["open-r1 right"] += r == pair.expected
    total = sum(counts.values(), Counter())
    columns = ["pairs", "ours = TRL", "ours = open-r1", "TRL = open-r1", "ours right", "TRL right", "open-r1 right"]
    print("| category | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for name, c in [*counts.items(), ("all", total)]:
        print(f"| {name} | " + " | ".join(str(c[col]) for col in columns) + " |")

    differences = [
        {"category": p.category, "gold_form": p.gold_form, "completion_form": p.completion_form, "gold": p.gold,
         "completion": p.completion, "expected": p.expected, "ours": o, "trl": t, "open_r1": r}
        for p, t, r, o in zip(rows, trl, open_r1, ours) if not o == t == r
    ]
    record = {
        "benchmark": "rewards_agreement",
        "python": platform.python_version(),
        "versions": {name: version(name) for name in ("trl", "math-verify", "latex2sympy2_extended")},
        "columns": columns,
        "categories": {name: dict(c) for name, c in counts.items()},
        "all": dict(total),
        "differences": differences,
    }
    RESULTS.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(differences)} pairs where the three differ; written to {RESULTS.relative_to(RESULTS.parents[2])}")


if __name__ == "__main__":
    main()
