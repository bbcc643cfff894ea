"""Gemma-3 4B (the first tutorial's title model) on GSM8K with the XML rewards, on one 24 GB GPU: tutorial 1's
steps with Gemma-3, which Unsloth loads through FastModel (it is multimodal; LoRA goes on its language layers).

The tutorial's steps run in its order (`TUTORIAL` below); its values are in recipe.yaml. Training runs in a
process of its own and the export in another, so the export starts on a GPU nothing else holds.

    hatch run python apps/gemma3_gsm8k/train.py --demo      # CPU: embedded SmolLM2-135M, synthetic GSM8K
    hatch run python apps/gemma3_gsm8k/train.py             # GPU: recipe.yaml, the tutorial's values
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpo_export.run_export import export_run_in_fresh_process
from grpo_training.cli.app import Step, TutorialApp

TUTORIAL = TutorialApp(
    __doc__, Path(__file__).resolve().parent, export=export_run_in_fresh_process,
    training=(
        Step("load Gemma-3 4B through Unsloth's FastModel (a multimodal model), with vLLM for the rollouts", "model"),
        Step("add LoRA adapters to its language layers only", "lora"),
        Step("GSM8K questions under tutorial 1's XML system prompt", "data"),
        Step("tutorial 1's five XML rewards (bugs fixed)", "rewards"),
        Step("GRPO with tutorial 1's settings, sized for one 24 GB GPU", "grpo"),
        Step("save the LoRA and check that it trained", "run"),
        Step("held-out questions without and with the LoRA", "evaluation"),
    ),
    exporting=(
        Step("merged 16-bit model, verified", "model"),
        Step("GGUF files, each reloaded and checked", "--gguf"),
        Step("optionally, both pushed to the Hub", "--push-to-hub"),
    ),
)


def main(argv: list[str] | None = None) -> int:
    return TUTORIAL.main(argv)


if __name__ == "__main__":
    sys.exit(main())
