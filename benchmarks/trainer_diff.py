"""What differs between our wrapper's GRPOTrainer and tutorial 1's, built the same way on the CPU.

Builds both trainers on the embedded SmolLM2 model with `gpu_grpo.py`'s settings (no training step):
ours through `grpo_training` (trl backend: the one that runs here) at the phi4 app's recipe with the
benchmark's overrides, the tutorial's with `tutorial1_raw_unsloth.py`'s GRPOConfig, dataset and rewards
on plain TRL + PEFT. Prints the differences in generation config, GRPOConfig fields, callbacks, first
prompt and chat template: what to suspect when path a and path b of the GPU benchmark differ in time.

Usage: hatch run python benchmarks/trainer_diff.py [--settings r16all-8x256]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="r16all-8x256")
    cli = parser.parse_args()

    from grpo_training.model.backends import select_backend

    choice = select_backend("trl", import_early=True)
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    import gpu_grpo
    from grpo_training.embedded import embedded_model_path
    from grpo_training.prepare import prepare_data, with_prefill
    from grpo_training.run.folders import make_run_dir
    from grpo_training.run.steps import build_trainer, load_model
    from tutorial1_raw_unsloth import REWARD_FUNCS, get_gsm8k_questions, grpo_config_kwargs

    model_dir = str(embedded_model_path())
    data = gpu_grpo.INPUTS / "gsm8k_head.jsonl"
    if not data.is_file():
        raise SystemExit(f"{data} is missing: run `gpu_grpo.py prepare` first (it writes the GSM8K head there)")
    settings = dict(gpu_grpo.SETTINGS[cli.settings])
    recipe = gpu_grpo.wrapper_recipe(model_dir, settings, 10, False, gpu_grpo.REPO / "apps/phi4_gsm8k/recipe.yaml", False)
    recipe.model.load_in_4bit = False
    model, tokenizer = load_model(recipe, choice)
    ours_tokenizer = with_prefill(tokenizer, recipe.data.prefill)
    ours, _ = build_trainer(recipe, model, ours_tokenizer, prepare_data(recipe, ours_tokenizer),
                            make_run_dir(recipe), choice)

    kwargs = grpo_config_kwargs(settings, 10) | {"output_dir": tempfile.mkdtemp(), "use_cpu": True}
    tutorial_tokenizer = AutoTokenizer.from_pretrained(model_dir)
    lora = LoraConfig(r=settings["lora_rank"], lora_alpha=settings["lora_alpha"], target_modules=settings["target_modules"])
    tutorial = GRPOTrainer(model=get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir), lora),
                           processing_class=tutorial_tokenizer, reward_funcs=REWARD_FUNCS, args=GRPOConfig(**kwargs),
                           train_dataset=get_gsm8k_questions(str(data)))

    def diff(left: dict, right: dict) -> dict:
        return {key: (left.get(key), right.get(key)) for key in sorted(set(left) | set(right)) if left.get(key) != right.get(key)}

    report = {
        "generation_config (ours, tutorial's)": diff(ours.generation_config.to_dict(), tutorial.generation_config.to_dict()),
        "GRPOConfig (ours, tutorial's)": diff(ours.args.to_dict(), tutorial.args.to_dict()),
        "callbacks ours": [type(c).__name__ for c in ours.callback_handler.callbacks],
        "callbacks tutorial's": [type(c).__name__ for c in tutorial.callback_handler.callbacks],
        "same first prompt": ours.train_dataset[0]["prompt"] == tutorial.train_dataset[0]["prompt"],
        "same chat template": ours_tokenizer.chat_template == tutorial_tokenizer.chat_template,
    }
    for name, value in report.items():
        if isinstance(value, dict):
            print(f"{name}:")
            for key, pair in value.items():
                print(f"  {key}: {json.dumps(pair, default=str)}")
        else:
            print(f"{name}: {json.dumps(value)}")


if __name__ == "__main__":
    main()
