"""The run of one training: its folder, steps, checkpoints, logs, LoRA and model card (`grpo.run_grpo` runs them)."""
