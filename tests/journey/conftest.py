"""The journey tests reach the Hub the way a user's run does, with the real `huggingface_hub` and `datasets`
clients, but the Hub is the stand-in on 127.0.0.1 (tests/export/hub_standin.py): each process under test gets
`HF_ENDPOINT` pointing at it, a token, a fresh `HF_HOME`, and no `HF_*_OFFLINE` variable."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "export"))

from hub_standin import HubStandIn  # noqa: E402

TOKEN = "hf_journeySECRETtoken0123456789abcdef"


def online_env(endpoint: str, hf_home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's process on a machine with Hub access (the Hub being the stand-in)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE",
                                                             "TRANSFORMERS_OFFLINE", "HF_HOME", "HF_HUB_CACHE",
                                                             "HF_DATASETS_CACHE")}
    env.update(HF_ENDPOINT=endpoint, HF_TOKEN=TOKEN, HF_HOME=str(hf_home), HF_HUB_DISABLE_TELEMETRY="1", **extra)
    return env


@pytest.fixture
def hub():
    with HubStandIn() as server:
        server.token = TOKEN
        yield server
