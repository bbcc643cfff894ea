"""grpo_export."""

__version__ = "0.1.0"
