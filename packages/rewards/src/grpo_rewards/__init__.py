"""grpo_rewards."""

__version__ = "0.1.0"
