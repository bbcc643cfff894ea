"""The environment of a user's process with Hub access, the Hub being the stand-in on loopback."""

from __future__ import annotations

import os
from pathlib import Path

TOKEN = "hf_journeySECRETtoken0123456789abcdef"


def online_env(endpoint: str, hf_home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's process on a machine with Hub access (the Hub being the stand-in)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE",
                                                             "TRANSFORMERS_OFFLINE", "HF_HOME", "HF_HUB_CACHE",
                                                             "HF_DATASETS_CACHE")}
    env.update(HF_ENDPOINT=endpoint, HF_TOKEN=TOKEN, HF_HOME=str(hf_home), HF_HUB_DISABLE_TELEMETRY="1", **extra)
    return env
