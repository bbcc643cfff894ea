"""Benchmark grpo_data's loader and prompt-length filter against the tutorial's way, on real GSM8K.

Prints a table and writes benchmarks/results/data_prompt_length.json. Times are the best of
--repeats runs, compared as ratios within this one run (never absolute targets).

    hatch run python benchmarks/data_prompt_length.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import datasets
import numpy as np
from transformers import AutoTokenizer

from grpo_data import XML_SYSTEM_PROMPT, filter_by_prompt_length, load_gsm8k, synthetic_gsm8k
from grpo_training.embedded import embedded_model_path

REPO = Path(__file__).resolve().parents[1]
GSM8K_TRAIN = REPO.parent / "shared" / "data" / "gsm8k" / "train.jsonl"
RESULTS = REPO / "benchmarks" / "results" / "data_prompt_length.json"


def best_of(repeats: int, work) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def tutorial_load(path: Path) -> datasets.Dataset:
    """Tutorial 1's get_gsm8k_questions, on a local file: one unbatched map."""
    data = datasets.load_dataset("json", data_files=str(path), split="train")
    return data.map(
        lambda x: {
            "prompt": [{"role": "system", "content": XML_SYSTEM_PROMPT}, {"role": "user", "content": x["question"]}],
            "answer": x["answer"].split("####")[1].strip() if "####" in x["answer"] else None,
        },
        load_from_cache_file=False,
    )


def tutorial_filter(dataset: datasets.Dataset, tokenizer, quantile: float) -> datasets.Dataset:
    """Tutorial 2's length filter: keep the token lists, then an unbatched map for their lengths."""
    tokenized = dataset.map(
        lambda x: {"tokens": tokenizer.apply_chat_template(x["prompt"], add_generation_prompt=True, tokenize=True)["input_ids"]},
        batched=True,
        load_from_cache_file=False,
    )
    tokenized = tokenized.map(lambda x: {"L": len(x["tokens"])}, load_from_cache_file=False)
    maximum_length = int(np.quantile(tokenized["L"], quantile))
    return dataset.select(np.where(np.array(tokenized["L"]) <= maximum_length)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quantile", type=float, default=0.9)
    args = parser.parse_args()
    datasets.disable_progress_bars()
    tokenizer = AutoTokenizer.from_pretrained(embedded_model_path())

    if GSM8K_TRAIN.is_file():
        source, label = GSM8K_TRAIN, "GSM8K train (real)"
    else:
        source = Path("/tmp/grpo_data_benchmark_synthetic.jsonl")
        synthetic_gsm8k(7473, seed=0).to_json(str(source), lines=True)
        label = "SYNTHETIC 7,473 rows (real GSM8K absent)"

    rows = {}
    t_tutorial_load, tutorial_rows = best_of(args.repeats, lambda: tutorial_load(source))
    t_load, ours = best_of(args.repeats, lambda: load_gsm8k(source))
    rows["load"] = {"tutorial_s": t_tutorial_load, "grpo_data_s": t_load}

    t_tutorial_filter, tutorial_kept = best_of(args.repeats, lambda: tutorial_filter(ours, tokenizer, args.quantile))
    t_filter, (kept, stats) = best_of(args.repeats, lambda: filter_by_prompt_length(ours, tokenizer, args.quantile))
    if kept.num_rows != tutorial_kept.num_rows:
        raise SystemExit(f"kept rows differ: grpo_data {kept.num_rows}, tutorial {tutorial_kept.num_rows}")
    rows["prompt_length_filter"] = {"tutorial_s": t_tutorial_filter, "grpo_data_s": t_filter}

    print(f"{label}: {ours.num_rows} rows, best of {args.repeats}; kept {kept.num_rows} "
          f"(quantile {args.quantile}, max_prompt_length {stats.max_prompt_length})")
    print(f"{'step':<22}{'tutorial (s)':>14}{'grpo_data (s)':>15}{'speed-up':>10}")
    for step, timing in rows.items():
        timing["speedup"] = timing["tutorial_s"] / timing["grpo_data_s"]
        print(f"{step:<22}{timing['tutorial_s']:>14.3f}{timing['grpo_data_s']:>15.3f}{timing['speedup']:>9.1f}x")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "data_prompt_length", "data": label, "rows": ours.num_rows, "rows_kept": kept.num_rows,
        "quantile": args.quantile, "repeats": args.repeats, "python": platform.python_version(),
        "datasets": datasets.__version__, "machine": platform.machine(), "steps": rows,
        "prompt_length_stats": stats.to_dict(),
    }, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
