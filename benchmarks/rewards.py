"""Completions per second of each reward on one CPU core: ours beside the tutorials' own functions.

Both run on the same completions (GSM8K train solutions written as tutorial-1 XML and as tutorial-2
``...</think>answer`` completions, right and wrong answers, broken formats), called the way TRL calls
them: batches of 8 conversational completions with the ``answer`` column. The language reward is
also compared with bare ``langid.classify`` on exactly the texts it classifies. Timings are the best
of several repeats. Goals: ours within 2x of the tutorial's function; language within 1.2x
of bare langid. The peers' rewards are measured beside open-r1's / TRL's verbatim
functions with the same 2x goal, ``compat="tutorial"`` beside the notebooks' functions, and
``cosine`` (no peer twin without math-verify) on its own.

    hatch run python benchmarks/rewards.py [--quick]

Prints a table and writes benchmarks/results/rewards.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # langid scores with numpy: keep it on one core too

from grpo_rewards import get_reward_funcs  # noqa: E402  (after the thread caps above)
from reference import peers as peer  # noqa: E402  (open-r1's and TRL's verbatim functions, benchmarks/reference/)
from reference import tutorial  # noqa: E402  (the tutorials' verbatim functions)

REPO = Path(__file__).resolve().parents[1]

GSM8K_TRAIN = REPO.parent / "shared" / "data" / "gsm8k" / "train.jsonl"
BATCH = 8
RESULTS = REPO / "benchmarks" / "results" / "rewards.json"

INDONESIAN = [
    "Pertama, kita hitung jumlah apel di setiap kotak. Ada tiga kotak dan setiap kotak berisi empat apel, jadi totalnya dua belas apel.",
    "Aku berpikir kalau jawabannya adalah dua puluh empat karena setengah dari empat puluh delapan adalah dua puluh empat.",
    "Kita kurangi biaya dari pendapatan untuk mendapatkan keuntungan bersih, lalu kita bagi dengan jumlah hari.",
]


def load_solutions(limit: int) -> list[tuple[str, str]]:
    """(worked solution, gold) pairs from real GSM8K, or a small built-in set when it is absent."""
    if GSM8K_TRAIN.is_file():
        pairs = []
        for line in GSM8K_TRAIN.read_text(encoding="utf-8").splitlines()[:limit]:
            row = json.loads(line)
            steps, gold = row["answer"].split("####")
            pairs.append((steps.strip(), gold.strip()))
        return pairs
    return [("Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether.", "72")] * limit


def xml_completions(pairs: list[tuple[str, str]]) -> list[str]:
    variants = []
    for i, (steps, gold) in enumerate(pairs):
        kind = i % 6
        if kind == 0:
            variants.append(f"<reasoning>\n{steps}\n</reasoning>\n<answer>\n{gold}\n</answer>\n")
        elif kind == 1:
            variants.append(f"<reasoning>\n{steps}\n</reasoning>\n<answer>\n{gold}\n</answer>")
        elif kind == 2:
            variants.append(f"<reasoning>\n{steps}\n</reasoning>\n<answer>\nThe answer is ${gold}.\n</answer>\n")
        elif kind == 3:
            variants.append(f"<reasoning>{steps}</reasoning><answer>{gold}1</answer> extra words")
        elif kind == 4:
            variants.append(f"{steps}\nSo the answer is {gold}.")
        else:
            variants.append(f"<reasoning>\n{steps}\n")  # truncated
    return variants


def think_completions(pairs: list[tuple[str, str]]) -> list[str]:
    variants = []
    for i, (steps, gold) in enumerate(pairs):
        kind = i % 5
        if kind == 0:
            variants.append(f"{steps}</think>{gold}")
        elif kind == 1:
            variants.append(f"{steps}</think>\n\nThe answer is {gold}.")
        elif kind == 2:
            variants.append(f"{INDONESIAN[i % 3]}\n{steps}</think>\\boxed{{{gold}}}")
        elif kind == 3:
            variants.append(f"{INDONESIAN[i % 3]} {INDONESIAN[(i + 1) % 3]}</think>{int(gold.replace(',', '')) + 1}")
        else:
            variants.append(f"{steps}")  # no end tag
    return variants


def think_answer_completions(pairs: list[tuple[str, str]]) -> list[str]:
    """open-r1's layout, right and broken, and some repetitive reasoning."""
    variants = []
    for i, (steps, gold) in enumerate(pairs):
        kind = i % 4
        if kind == 0:
            variants.append(f"<think>\n{steps}\n</think>\n<answer>\n{gold}\n</answer>")
        elif kind == 1:
            variants.append(f"<think>\n{steps}\n</think>\n<answer>\n{gold}\n</answer>\nextra")
        elif kind == 2:
            variants.append(f"<think>{steps} {steps} {steps}</think><answer>{gold}</answer>")
        else:
            variants.append(f"<think>\n{steps}\n")
    return variants


def trl_batches(texts: list[str], golds: list[str]) -> list[dict]:
    """The keyword arguments of TRL's reward calls: conversational completions in batches of 8, with
    ``completion_ids`` (about 4 characters a token) as TRL passes them."""
    batches = []
    for start in range(0, len(texts), BATCH):
        chunk = texts[start : start + BATCH]
        batches.append(
            dict(
                prompts=[[{"role": "user", "content": "q"}]] * len(chunk),
                completions=[[{"role": "assistant", "content": t}] for t in chunk],
                answer=golds[start : start + BATCH],
                completion_ids=[list(range(len(t) // 4)) for t in chunk],
            )
        )
    return batches


def rates(contenders: dict[str, object], count: int, repeats: int) -> dict[str, float]:
    """Items per second of each zero-argument runner (it processes ``count`` items); best of ``repeats``.

    The contenders run interleaved, so a noisy neighbour on the machine slows them alike.
    """
    best = dict.fromkeys(contenders, float("inf"))
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):  # the tutorial's functions print
        for run in contenders.values():
            run()  # warm-up: lazy imports, regex compilation, langid's model
        for _ in range(repeats):
            for name, run in contenders.items():
                began = time.perf_counter()
                run()
                best[name] = min(best[name], time.perf_counter() - began)
    return {name: count / seconds for name, seconds in best.items()}


def calling(func, batches: list[dict]):
    def run() -> None:
        for kwargs in batches:
            func(**kwargs)

    return run


def bare_langid(texts: list[str]):
    import langid

    def run() -> None:
        for text in texts:
            langid.classify(text)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer completions and repeats (smoke run)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    count, repeats = (240, 2) if args.quick else (2400, 5)
    pairs = load_solutions(count)
    golds = [gold for _, gold in pairs]
    xml_texts, think_texts = xml_completions(pairs), think_completions(pairs)

    tutorial_pairs = {
        "xmlcount": tutorial.xmlcount_reward_func,
        "soft_format": tutorial.soft_format_reward_func,
        "strict_format": tutorial.strict_format_reward_func,
        "integer": tutorial.int_reward_func,
        "correctness": tutorial.correctness_reward_func,
        "think_format_exact": tutorial.match_format_exactly,
        "think_format_approx": tutorial.match_format_approximately,
        "answer_check": tutorial.check_answer,
        "number_check": tutorial.check_numbers,
        "language": tutorial.format_and_language_reward_func,
    }
    ours = {f.__name__: f for f in get_reward_funcs([*tutorial_pairs, "math_accuracy"])}
    ours_whole = get_reward_funcs([{"language": {"scope": "completion"}}])[0]

    rows = []
    for name, theirs in tutorial_pairs.items():
        texts = xml_texts if name in ("xmlcount", "soft_format", "strict_format", "integer", "correctness") else think_texts
        n = len(texts) if name != "language" else len(texts) // 4
        batches = trl_batches(texts[:n], golds[:n])
        measured = rates({"ours": calling(ours[name], batches), "theirs": calling(theirs, batches)}, n, repeats)
        rows.append({"reward": name, "ours_per_s": measured["ours"], "baseline": "tutorial", "baseline_per_s": measured["theirs"],
                     "goal": 2.0 if name != "language" else None})

    compat = {f.__name__: f for f in get_reward_funcs([name for name in tutorial_pairs if name != "language"], compat="tutorial")}
    for name, theirs in tutorial_pairs.items():
        if name == "language":
            continue
        texts = xml_texts if name in ("xmlcount", "soft_format", "strict_format", "integer", "correctness") else think_texts
        batches = trl_batches(texts, golds)
        measured = rates({"ours": calling(compat[name], batches), "theirs": calling(theirs, batches)}, len(texts), repeats)
        rows.append({"reward": f"{name} (compat)", "ours_per_s": measured["ours"], "baseline": "tutorial",
                     "baseline_per_s": measured["theirs"], "goal": 2.0})

    think_answer_texts = think_answer_completions(pairs)
    peers = {
        "think_answer_format": ("open-r1 format_reward", peer.format_reward),
        "think_answer_tag_count": ("open-r1 tag_count_reward", peer.tag_count_reward),
        "repetition": ("open-r1 repetition (en)", peer.get_repetition_penalty_reward(3, -1.0)),
        "soft_overlong": ("TRL soft_overlong", peer._SoftOverlongPunishment(256, 64)),
    }
    new = {f.__name__: f for f in get_reward_funcs([*peers, "cosine"])}
    batches = trl_batches(think_answer_texts, golds)
    for name, (label, theirs) in peers.items():
        measured = rates({"ours": calling(new[name], batches), "theirs": calling(theirs, batches)}, len(think_answer_texts), repeats)
        rows.append({"reward": name, "ours_per_s": measured["ours"], "baseline": label, "baseline_per_s": measured["theirs"], "goal": 2.0})
    measured = rates({"ours": calling(new["cosine"], trl_batches(think_texts, golds))}, len(think_texts), repeats)
    rows.append({"reward": "cosine", "ours_per_s": measured["ours"], "baseline": None, "baseline_per_s": None, "goal": None})

    n = len(think_texts) // 4
    batches = trl_batches(think_texts[:n], golds[:n])
    for label, reward in (("reasoning", ours["language"]), ("completion", ours_whole)):
        scored = [reward.scored_text(t) for t in think_texts[:n]]
        measured = rates({"ours": calling(reward, batches), "langid": bare_langid(scored)}, n, repeats)
        rows.append({"reward": f"language ({label})", "ours_per_s": measured["ours"], "baseline": f"langid.classify({label})",
                     "baseline_per_s": measured["langid"], "goal": 1.2})
    math_n = 40 if args.quick else 200
    measured = rates({"ours": calling(ours["math_accuracy"], trl_batches(think_texts[:math_n], golds[:math_n]))}, math_n, 1)
    rows.append({"reward": "math_accuracy", "ours_per_s": measured["ours"], "baseline": None, "baseline_per_s": None, "goal": None})

    for row in rows:
        row["slowdown"] = row["baseline_per_s"] / row["ours_per_s"] if row["baseline_per_s"] else None
    for row in rows:
        row["meets_goal"] = None if row["goal"] is None else row["slowdown"] <= row["goal"]
    print(f"{'reward':<30}{'ours c/s':>12}  {'baseline':<29}{'baseline c/s':>13}{'slowdown':>10}{'goal':>7}  ok")
    for row in rows:
        base = f"{row['baseline_per_s']:>13,.0f}" if row["baseline_per_s"] else f"{'-':>13}"
        slow = f"{row['slowdown']:>9.2f}x" if row["slowdown"] else f"{'-':>10}"
        goal = f"{row['goal']:>6}x" if row["goal"] else f"{'-':>7}"
        ok = {True: "yes", False: "NO", None: "-"}[row["meets_goal"]]
        print(f"{row['reward']:<30}{row['ours_per_s']:>12,.0f}  {row['baseline'] or '-':<29}{base}{slow}{goal}  {ok}")

    result = {
        "benchmark": "rewards", "unit": "completions per second, one core, best of repeats",
        "completions": len(xml_texts), "batch": BATCH, "repeats": repeats, "quick": args.quick,
        "data": str(GSM8K_TRAIN) if GSM8K_TRAIN.is_file() else "built-in sample",
        "python": platform.python_version(), "machine": platform.machine(), "rows": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    temp = RESULTS.with_suffix(".json.tmp")
    temp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    temp.replace(RESULTS)
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
