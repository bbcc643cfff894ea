"""Tutorial 1 as a script: GRPO of Phi-4 (14B) on GSM8K with XML <reasoning>/<answer> rewards.

The tutorial's steps run in its order (`TUTORIAL` below); its values are in recipe.yaml. Training runs in a
process of its own and the export in another, so the export starts on a GPU nothing else holds.

    hatch run python apps/phi4_gsm8k/train.py --demo      # CPU: embedded SmolLM2-135M, synthetic GSM8K
    hatch run python apps/phi4_gsm8k/train.py             # GPU: recipe.yaml, the tutorial's values
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpo_export.run_export import export_run_in_fresh_process
from grpo_training.cli.app import Step, TutorialApp

TUTORIAL = TutorialApp(
    __doc__, Path(__file__).resolve().parent, export=export_run_in_fresh_process,
    training=(
        Step("load Phi-4 through Unsloth, with vLLM for the rollouts", "model"),
        Step("add LoRA adapters", "lora"),
        Step("GSM8K questions under the XML <reasoning>/<answer> system prompt", "data"),
        Step("rewards: xmlcount, soft_format, strict_format, integer, correctness (bugs fixed)", "rewards"),
        Step("GRPO: TRL's GRPOTrainer with the tutorial's GRPOConfig, logged to SwanLab", "grpo"),
        Step("save the LoRA to <run>/lora and check that it trained", "run"),
        Step("answer held-out questions without and with the LoRA: accuracy, format", "evaluation"),
    ),
    exporting=(
        Step("merge base + LoRA into a 16-bit model in <run>/merged_16bit, verified", "model"),
        Step("GGUF through llama.cpp into <run>/gguf, each file reloaded and checked", "--gguf"),
        Step("push the merged model and the GGUF files to the Hub, with a model card", "--push-to-hub"),
    ),
)


def main(argv: list[str] | None = None) -> int:
    return TUTORIAL.main(argv)


if __name__ == "__main__":
    sys.exit(main())
