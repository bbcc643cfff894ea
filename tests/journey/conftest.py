"""The journey tests reach the Hub the way a user's run does, with the real `huggingface_hub` and `datasets`
clients, but the Hub is the stand-in on 127.0.0.1 (tests/export/hub_standin.py): each process under test gets
`HF_ENDPOINT` pointing at it, a token, a fresh `HF_HOME`, and no `HF_*_OFFLINE` variable."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "export"))

from hub_standin import HubStandIn  # noqa: E402

from journey_env import TOKEN  # noqa: E402


@pytest.fixture
def hub():
    with HubStandIn() as server:
        server.token = TOKEN
        yield server
