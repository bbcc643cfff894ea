"""Path (b) of `gpu_grpo.py`: tutorial 1's raw Unsloth calls, as a plain script.

The cells of `phi4_gsm8k_tutorial.md` top to bottom: `FastLanguageModel.from_pretrained` ->
`get_peft_model` -> GSM8K with the XML system prompt -> the five reward functions -> `GRPOConfig` ->
`GRPOTrainer.train()`. Departures, all forced: the model is a local folder and GSM8K a local JSONL
(no Hub on the GPU machine); `report_to="none"`; `correctness_reward_func` does not print (the reward
functions are `benchmarks/reference/tutorial.py`'s verbatim copies, its print swallowed); the
settings come from the command line so that they equal those of the other paths; and the
benchmark's step clock is attached (`gpu_timing.py`). The dataset and reward functions are module
level so that path (c) (plain TRL + PEFT) can reuse them without importing Unsloth.

Usage (GPU machine):
    python benchmarks/tutorial1_raw_unsloth.py --model /tmp/models/llama-1b --data gsm8k.jsonl \
        --settings '{"num_generations": 6, ...}' --steps 7 --warmup 2 --out b.json
"""

import contextlib
import functools
import io

from datasets import Dataset, load_dataset

from reference import tutorial  # benchmarks/reference/ (this script's folder is first on sys.path)

# Load and prep dataset (the tutorial's cell, reading a local GSM8K JSONL instead of openai/gsm8k)
SYSTEM_PROMPT = """
Respond in the following format:
<reasoning>
...
</reasoning>
<answer>
...
</answer>
"""


def extract_hash_answer(text: str) -> str | None:
    if "####" not in text:
        return None
    return text.split("####")[1].strip()


def get_gsm8k_questions(data_file: str) -> Dataset:
    data = load_dataset("json", data_files=data_file, split="train")
    data = data.map(lambda x: {
        "prompt": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": x["question"]},
        ],
        "answer": extract_hash_answer(x["answer"]),
    })
    return data


# Reward functions: the tutorial's reward cell verbatim (benchmarks/reference/tutorial.py, the copy the reward
# tests compare against), correctness_reward_func with its print swallowed
def _quiet(func):
    @functools.wraps(func)  # TRL names the reward's metrics after __name__
    def quiet(*args, **kwargs):
        with contextlib.redirect_stdout(io.StringIO()):
            return func(*args, **kwargs)
    return quiet


extract_xml_answer = tutorial.extract_xml_answer
correctness_reward_func = _quiet(tutorial.correctness_reward_func)
int_reward_func = tutorial.int_reward_func
strict_format_reward_func = tutorial.strict_format_reward_func
soft_format_reward_func = tutorial.soft_format_reward_func
count_xml = tutorial.count_xml
xmlcount_reward_func = tutorial.xmlcount_reward_func

REWARD_FUNCS = [xmlcount_reward_func, soft_format_reward_func, strict_format_reward_func, int_reward_func,
                correctness_reward_func]


def grpo_config_kwargs(settings: dict, steps: int) -> dict:
    """The tutorial's GRPOConfig cell, with the benchmark's settings."""
    return dict(
        learning_rate=settings["learning_rate"],
        adam_beta1=0.9,
        adam_beta2=0.99,
        weight_decay=0.1,
        warmup_steps=0.1,  # the tutorial's warmup_ratio = 0.1 (transformers 5 spelling)
        lr_scheduler_type="cosine",
        optim=settings["optim"],
        logging_steps=1,
        per_device_train_batch_size=settings["num_generations"],
        gradient_accumulation_steps=1,
        num_generations=settings["num_generations"],
        max_completion_length=settings["max_completion_length"],
        max_steps=steps,
        save_strategy="no",
        max_grad_norm=0.1,
        beta=settings["beta"],
        loss_type=settings["loss_type"],
        report_to="none",
        output_dir="/tmp/outputs-tutorial",
        seed=3407,
    )


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--settings", required=True, help="JSON: the benchmark's settings")
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", required=True)
    parser.add_argument("--path", default="b", help="the record's path name: b, or e (settings with fast_inference)")
    cli = parser.parse_args()
    settings = json.loads(cli.settings)

    import time

    from unsloth import FastLanguageModel  # before trl, as in the tutorial

    from gpu_timing import sample_memory  # the instruments path a runs too (after unsloth: it imports transformers)

    sample_memory(f"{cli.out}.memory")
    started = time.perf_counter()
    max_seq_length = settings["max_seq_length"]
    lora_rank = settings["lora_rank"]
    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=cli.model,
        max_seq_length=max_seq_length,
        load_in_4bit=True,
        fast_inference=settings.get("fast_inference", False),
        max_lora_rank=lora_rank,
        gpu_memory_utilization=settings.get("gpu_memory_utilization", 0.7),
    )
    model = FastLanguageModel.get_peft_model(
        model,
        r=lora_rank,
        target_modules=settings["target_modules"],
        lora_alpha=settings["lora_alpha"],
        use_gradient_checkpointing="unsloth",
        random_state=3407,
    )
    load_seconds = time.perf_counter() - started

    dataset = get_gsm8k_questions(cli.data)

    from trl import GRPOConfig, GRPOTrainer

    config_kwargs = grpo_config_kwargs(settings, cli.steps)
    if settings.get("fast_inference"):
        config_kwargs["use_vllm"] = True
    training_args = GRPOConfig(**config_kwargs)
    trainer = GRPOTrainer(
        model=model,
        processing_class=tokenizer,
        reward_funcs=REWARD_FUNCS,
        args=training_args,
        train_dataset=dataset,
    )

    from gpu_timing import StepClock, time_rollouts, write_measurement

    clock = StepClock(progress_file=f"{cli.out}.partial")
    trainer.add_callback(clock)
    wrapped = time_rollouts(trainer, clock)
    trainer.train()
    record = write_measurement(cli.out, clock, warmup=cli.warmup, path=cli.path, label=f"tutorial raw Unsloth (path {cli.path})",
                               model_dir=cli.model, settings=settings, load_seconds=load_seconds,
                               rollout_method=wrapped)
    print(json.dumps({k: record.get(k) for k in ("s_per_step_median", "gen_tok_per_s", "peak_allocated_gib")}))
