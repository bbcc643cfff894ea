"""The model side of a run: the two backends (Unsloth, TRL + PEFT) that load a model with its LoRA, and the LoRA targets."""
