"""Tutorial 2 as a script: GRPO of DeepSeek-R1-0528-Qwen3-8B on DAPO-Math-17k, reasoning in Indonesian.

The tutorial's steps run in its order (`TUTORIAL` below); its values are in recipe.yaml. Training runs in a
process of its own and the export in another, so the export starts on a GPU nothing else holds.

    hatch run python apps/r1_qwen3_dapo_id/train.py --demo   # CPU: embedded SmolLM2-135M, synthetic DAPO-style problems
    hatch run python apps/r1_qwen3_dapo_id/train.py          # GPU: recipe.yaml, the tutorial's values
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpo_export.run_export import export_run_in_fresh_process
from grpo_training.cli.app import Step, TutorialApp

TUTORIAL = TutorialApp(
    __doc__, Path(__file__).resolve().parent, export=export_run_in_fresh_process,
    training=(
        Step("load DeepSeek-R1-0528-Qwen3-8B through Unsloth, with vLLM for the rollouts", "model"),
        Step("add LoRA adapters", "lora"),
        Step("DAPO-Math-17k (en) under the think-in-Indonesian system prompt; prompts above the 90% length "
             "quantile dropped", "data"),
        Step("rewards: think format (exact, approximate), answer check, number check, Indonesian reasoning, "
             "with the tokenizer's own reasoning tokens (bugs fixed)", "rewards"),
        Step("GRPO: TRL's GRPOTrainer with vLLM sampling (min_p, seed, stop at EOS)", "grpo"),
        Step("save the LoRA to <run>/lora and check that it trained", "run"),
        Step("solve held-out problems without and with the LoRA: accuracy, format, rate of Indonesian reasoning",
             "evaluation"),
    ),
    exporting=(
        Step("merge base + LoRA into a 16-bit model in <run>/merged_16bit, verified", "model"),
        Step("GGUF through llama.cpp into <run>/gguf, each file reloaded and checked", "--gguf"),
        Step("push the merged model and the GGUF files to the Hub, with a model card", "--push-to-hub"),
    ),
    export_options={"language": ["en", "id"]},
)


def main(argv: list[str] | None = None) -> int:
    return TUTORIAL.main(argv)


if __name__ == "__main__":
    sys.exit(main())
