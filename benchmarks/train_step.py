"""Seconds per GRPO step and peak memory on the CPU: our wrapper (`grpo_training.run_grpo`) vs a bare
TRL 1.14.2 script at identical settings, in one run (ratio). The wrapper runs the demo recipe, so its
s/step is also the demo config's CPU step time (target <= 10 s; bare TRL was ~13 s at 4 x 96 tokens).

Each variant runs in its own process (peak RSS = that process's ru_maxrss); variants alternate
`--rounds` times; the first step of each run (warm-up) is excluded; both use the same model, LoRA,
data, rewards, seed and GRPOConfig values, so they sample the same completions.

    hatch run python benchmarks/train_step.py [--steps 4] [--rounds 1]

Writes benchmarks/results/train_step.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "train_step.json"


def demo_overrides(steps: int, output_dir: str) -> list[str]:
    return [f"grpo.max_steps={steps}", "grpo.save_steps=0", "data.eval_rows=0", "run.report_to=none",
            f"run.output_dir={output_dir}", "run.name=bench", "run.log_completions_every=0"]


def run_wrapper(steps: int) -> dict:
    """Our wrapper on the demo recipe."""
    from grpo_training import DEMO_RECIPE, load_recipe, run_grpo

    with tempfile.TemporaryDirectory() as tmp:
        recipe = load_recipe(DEMO_RECIPE, demo_overrides(steps, tmp))
        result = run_grpo(recipe)
        return {"log_history": result.metrics}


def run_bare(steps: int) -> dict:
    """A bare TRL 1.14.2 script with the values our wrapper passes for the demo recipe."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from grpo_data import XML_SYSTEM_PROMPT, load_gsm8k, synthetic_gsm8k
    from grpo_rewards import get_reward_funcs
    from grpo_training import DEMO_RECIPE, load_recipe
    from grpo_training.embedded import embedded_model_path

    recipe = load_recipe(DEMO_RECIPE)  # read only for its values, so both sides use the same ones
    grpo, lora, data = recipe.grpo, recipe.lora, recipe.data
    path = embedded_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    torch.manual_seed(lora.random_state)
    model = get_peft_model(model, LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                             target_modules=lora.target_modules, task_type="CAUSAL_LM"))
    trainer_tokenizer = AutoTokenizer.from_pretrained(path)
    trainer_tokenizer.chat_template += "{% if add_generation_prompt %}" + json.dumps(data.prefill).join(["{{ ", " }}"]) + "{% endif %}"
    dataset = load_gsm8k(synthetic_gsm8k(data.synthetic_rows, seed=recipe.data_seed), system_prompt=XML_SYSTEM_PROMPT,
                         one_shot=data.one_shot)
    config_values = {key: value for key, value in grpo.items() if key not in ("max_prompt_length", "warmup_ratio",
                                                                                "vllm_sampling_kwargs", "save_steps", "max_steps")}
    args = GRPOConfig(**config_values, max_steps=steps, output_dir=tempfile.mkdtemp(), report_to="none",
                      seed=recipe.run.seed, bf16=False, gradient_checkpointing=bool(lora.gradient_checkpointing),
                      save_strategy="no", disable_tqdm=True)
    trainer = GRPOTrainer(model=model, processing_class=trainer_tokenizer, args=args, train_dataset=dataset,
                          reward_funcs=get_reward_funcs(recipe.rewards.names, prefix=data.prefill))
    trainer.train()
    return {"log_history": [row for row in trainer.state.log_history if "reward" in row]}


def child(variant: str, steps: int) -> None:
    started = time.perf_counter()
    outcome = run_wrapper(steps) if variant == "wrapper" else run_bare(steps)
    step_times = [row["step_time"] for row in outcome["log_history"] if "step_time" in row]
    lengths = [row.get("completions/mean_length") for row in outcome["log_history"]]
    print("RESULT " + json.dumps({
        "variant": variant,
        "step_times": step_times,
        "completion_lengths": lengths,
        "rewards": [row.get("reward") for row in outcome["log_history"]],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "process_seconds": time.perf_counter() - started,
    }))


def measure(variant: str, steps: int) -> dict:
    command = [sys.executable, __file__, "--child", variant, "--steps", str(steps)]
    result = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode != 0 or not lines:
        raise SystemExit(f"{variant} run failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=4, help="GRPO steps per run (the first is warm-up)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating bare/wrapper rounds")
    parser.add_argument("--child", choices=["bare", "wrapper"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps)
        return

    runs = {"bare": [], "wrapper": []}
    for round_index in range(args.rounds):
        for variant in ("bare", "wrapper"):
            print(f"round {round_index + 1}/{args.rounds}: {variant} ...", flush=True)
            runs[variant].append(measure(variant, args.steps))

    summary = {}
    for variant, results in runs.items():
        timed = [t for result in results for t in result["step_times"][1:]]  # skip each run's warm-up step
        summary[variant] = {
            "s_per_step_median": statistics.median(timed),
            "s_per_step_mean": statistics.mean(timed),
            "steps_timed": len(timed),
            "peak_rss_mib": max(result["peak_rss_mib"] for result in results),
            "completion_lengths": [result["completion_lengths"] for result in results],
        }
    ratio_time = summary["wrapper"]["s_per_step_median"] / summary["bare"]["s_per_step_median"]
    ratio_rss = summary["wrapper"]["peak_rss_mib"] / summary["bare"]["peak_rss_mib"]
    load = os.getloadavg()
    from grpo_training import DEMO_RECIPE, load_recipe

    demo = load_recipe(DEMO_RECIPE).grpo
    settings = (f"embedded SmolLM2-135M-Instruct, LoRA r{load_recipe(DEMO_RECIPE).lora.r}, "
                f"{demo.get('num_generations')} generations x {demo.get('max_completion_length')} tokens, "
                f"batch {demo.get('per_device_train_batch_size')}, float32, CPU")
    print(f"\nGRPO step on the CPU ({settings}); {args.steps} steps x {args.rounds} round(s), first step not timed")
    print(f"{'variant':<22}{'s/step (median)':>17}{'s/step (mean)':>15}{'peak RSS MiB':>14}")
    for variant, label in (("bare", "bare TRL 1.14.2"), ("wrapper", "grpo_training (demo)")):
        row = summary[variant]
        print(f"{label:<22}{row['s_per_step_median']:>17.2f}{row['s_per_step_mean']:>15.2f}{row['peak_rss_mib']:>14.0f}")
    print(f"{'ratio wrapper/bare':<22}{ratio_time:>17.3f}{'':>15}{ratio_rss:>14.3f}")
    print(f"(target: ratio <= 1.05; demo step <= 10 s. Load average during the run: {load[0]:.1f} on "
          f"{os.cpu_count()} CPUs — other jobs on a shared machine inflate both sides alike.)")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "train_step",
        "settings": settings,
        "steps_per_run": args.steps,
        "rounds": args.rounds,
        "summary": summary,
        "ratio_s_per_step": ratio_time,
        "ratio_peak_rss": ratio_rss,
        "demo_s_per_step": summary["wrapper"]["s_per_step_median"],
        "load_average": load,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "runs": runs,
    }
    tmp = RESULTS.with_name(f".{RESULTS.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, RESULTS)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
