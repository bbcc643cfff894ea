"""Tutorial 2 as a script: GRPO of DeepSeek-R1-0528-Qwen3-8B on DAPO-Math-17k, reasoning in Indonesian.

The steps, as in the notebook:
  1. data     DAPO-Math-17k-Processed ("en") under the think-in-Indonesian system prompt, prompts above the
              90% length quantile dropped; max_prompt_length = that length + 1 (grpo_data)
  2. rewards  think_format_exact, think_format_approx, answer_check, number_check, language(target "id"),
              with the tokenizer's own reasoning tokens (grpo_rewards, bugs fixed)
  3. GRPO     Unsloth + TRL with vLLM sampling (min_p 0.1, seed 3407, stop at EOS kept) on a GPU;
              TRL + PEFT on a CPU (grpo_training.run_grpo)
  4. eval     before/after on 20 held-out problems: answer accuracy, format compliance and the rate of
              Indonesian reasoning (the tutorial's with/without-LoRA language comparison)
  5. LoRA     saved to <run>/lora and checked to have trained
  6. merged   base + LoRA as a 16-bit model in <run>/merged_16bit, verified
  7. GGUF     <run>/gguf (q8_0 by default), each file reloaded and checked
  8. Hub      optional: --push-to-hub USER/REPO

    hatch run python apps/r1_qwen3_dapo_id/train.py --demo   # CPU: embedded SmolLM2-135M, synthetic DAPO-style problems
    hatch run python apps/r1_qwen3_dapo_id/train.py          # GPU: recipe.yaml, the tutorial's values
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpo_export.run_export import export_run_in_fresh_process
from grpo_training.cli.app import app_arguments, print_run_summary, train_in_fresh_process
from grpo_training.clean_errors import exits_cleanly

APP_DIR = Path(__file__).resolve().parent


@exits_cleanly  # a bad --set, an unsafe --resume change, bad data, an untrained LoRA: one `error:` line, exit 2
def main(argv: list[str] | None = None) -> int:
    args = app_arguments(__doc__, argv)

    # 1-5: data -> rewards -> GRPO -> before/after evaluation (incl. Indonesian rate) -> LoRA (verified),
    # in a process of its own (`python -m grpo_training train`, Unsloth imported before trl): the tutorial's recipe,
    # or the CPU demo (said why); the trainer and vLLM's reservation end with it
    trained = train_in_fresh_process(args, APP_DIR)

    # 6-8: merged 16-bit -> GGUF -> Hub (the tutorial's save_pretrained_merged / _gguf / push_to_hub_merged),
    # in another fresh process, on a GPU nothing else holds
    exported = export_run_in_fresh_process(trained.run_dir, base_model=trained.base_model,
                                           gguf_methods=args.gguf, model_name=APP_DIR.name,
                                           push_to=args.push_to_hub, private=args.private,
                                           **trained.card_facts, language=["en", "id"])
    print_run_summary(trained, exported.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
