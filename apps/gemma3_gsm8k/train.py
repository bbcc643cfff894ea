"""Gemma-3 4B (the first tutorial's title model) on GSM8K with the XML rewards, on one 24 GB GPU.

The same pipeline as apps/phi4_gsm8k (tutorial 1), with Gemma-3 loaded through Unsloth's FastModel
(it is multimodal; LoRA goes on its language layers):
  1. data     GSM8K under the XML system prompt        5. LoRA    <run>/lora, checked to have trained
  2. rewards  the five XML rewards (bugs fixed)         6. merged  <run>/merged_16bit, verified
  3. GRPO     Unsloth + TRL on a GPU; TRL + PEFT on CPU 7. GGUF    <run>/gguf (q8_0 by default), verified
  4. eval     before/after on held-out questions        8. Hub     optional: --push-to-hub USER/REPO

    hatch run python apps/gemma3_gsm8k/train.py --demo   # CPU: embedded SmolLM2-135M, synthetic GSM8K
    hatch run python apps/gemma3_gsm8k/train.py          # GPU: recipe.yaml
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

    # 1-5: data -> rewards -> GRPO -> before/after evaluation -> LoRA (verified to have trained),
    # in a process of its own (`python -m grpo_training train`, Unsloth imported before trl): the tutorial's recipe,
    # or the CPU demo (said why); the trainer and vLLM's reservation end with it
    trained = train_in_fresh_process(args, APP_DIR)

    # 6-8: merged 16-bit -> GGUF -> Hub (the tutorial's save_pretrained_merged / _gguf / push_to_hub_merged),
    # in another fresh process, on a GPU nothing else holds
    exported = export_run_in_fresh_process(trained.run_dir, base_model=trained.base_model,
                                           gguf_methods=args.gguf, model_name=APP_DIR.name,
                                           push_to=args.push_to_hub, private=args.private, **trained.card_facts)
    print_run_summary(trained, exported.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
