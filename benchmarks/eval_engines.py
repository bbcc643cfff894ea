"""Evaluation through vLLM against transformers' generate: the same model, rows and sampling, one
process, side by side; prints a table of tokens/s and the ratio, writes a results JSON.

    python benchmarks/eval_engines.py apps/r1_qwen3_dapo_id/recipe.yaml --set model.name=/tmp/models/qwen3-8b \\
        --set data.source=synthetic --set data.synthetic_rows=64 --set data.eval_rows=20 \\
        --max-new-tokens 512 --out benchmarks/results/eval_engines/qwen3-8b.json

GPU only: the recipe's model is loaded as the run loads it (Unsloth, `model.fast_inference` -> vLLM engine
attached); the held-out rows are the run's own (`prepare_data`). Both engines sample with the recipe's evaluation
settings, `--max-new-tokens` capping the budget so the slow path finishes; random-init weights never stop early,
so every completion runs to the budget: tokens/s compares like with like.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("recipe", type=Path)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--hf-batch-size", type=int, default=20)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    from grpo_training.model.backends import select_backend

    choice = select_backend("unsloth", import_early=True)  # Unsloth before trl, which the recipe's config imports
    from grpo_training.recipe import load_recipe

    recipe = load_recipe(args.recipe, args.set, check_files=False)
    import torch

    from grpo_training.model.backends import load_model
    from grpo_training.evaluation import SamplingSettings, evaluate
    from grpo_training.evaluation.engines import HFGenerate, VLLMGenerate
    from grpo_training.prepare import load_prompts, prepare_data, with_prefill

    started = time.perf_counter()
    model, tokenizer = load_model(recipe, choice)
    load_seconds = time.perf_counter() - started
    prepared = prepare_data(recipe, with_prefill(tokenizer, recipe.data.prefill), load_prompts(recipe))
    settings = recipe.evaluation
    sampling = SamplingSettings(temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k or None,
                                max_new_tokens=min(settings.max_new_tokens, args.max_new_tokens), seed=recipe.run.seed)
    common = dict(task=settings.task, prefix=recipe.data.prefill, target_language=settings.target_language,
                  sampling=sampling, model_name=recipe.model.name)
    reports = []
    for engine in (VLLMGenerate(model), HFGenerate(model, tokenizer, args.hf_batch_size)):
        torch.cuda.reset_peak_memory_stats()
        report = evaluate(model, tokenizer, prepared.eval, label=engine.name, engine=engine, **common)
        reports.append({"engine": engine.name, "rows": report.n, "seconds": report.seconds,
                        "tokens": round(report.mean_completion_tokens * report.n),
                        "tokens_per_second": report.tokens_per_second, "truncated_rate": report.truncated_rate,
                        "torch_peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1)})
    ratio = reports[0]["tokens_per_second"] / max(reports[1]["tokens_per_second"], 1e-9)
    result = {"model": recipe.model.name, "load_seconds": round(load_seconds, 1), "sampling": sampling.describe(),
              "gpu": torch.cuda.get_device_name(), "vllm_over_hf": round(ratio, 1), "engines": reports}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"\n{recipe.model.name} on {result['gpu']}, {reports[0]['rows']} rows, {sampling.describe()}")
    print("| engine | seconds | tokens | tokens/s | truncated |\n|---|---|---|---|---|")
    for row in reports:
        print(f"| {row['engine']} | {row['seconds']:.1f} | {row['tokens']} | {row['tokens_per_second']:.0f} | "
              f"{row['truncated_rate']:.2f} |")
    print(f"vLLM / HF generate: {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
