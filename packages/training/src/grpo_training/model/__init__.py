"""The model side of a run: the two backends (Unsloth, TRL + PEFT), LoRA targets and the embedded CPU model."""
