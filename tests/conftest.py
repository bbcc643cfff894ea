"""Fixtures shared by every package's tests."""

from __future__ import annotations

import os
from pathlib import Path

# The suite never reaches the real Hub: it runs offline by itself, before any Hugging Face library is imported
# (subprocesses inherit it). A test of the online path gives its own process HF_ENDPOINT on loopback and unsets these.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_GSM8K = REPO_ROOT.parent / "shared" / "data" / "gsm8k"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def gsm8k_dir() -> Path:
    """Real GSM8K (MIT) from ../shared/data/gsm8k; skipped with the reason on a clone without it."""
    if not (SHARED_GSM8K / "train.jsonl").is_file():
        pytest.skip(f"real GSM8K not found at {SHARED_GSM8K} (CI has ../shared beside the clone; a bare clone does not)")
    return SHARED_GSM8K
