"""Fixtures shared by every package's tests."""

from __future__ import annotations

import lzma
import os
from pathlib import Path

# The suite never reaches the real Hub: it runs offline by itself, before any Hugging Face library is imported
# (subprocesses inherit it). A test of the online path gives its own process HF_ENDPOINT on loopback and unsets these.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
GSM8K_FIXTURE = Path(__file__).parent / "data" / "fixtures" / "gsm8k"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def gsm8k_dir(tmp_path_factory) -> Path:
    """The real GSM8K (MIT): a folder with train.jsonl and test.jsonl, unpacked from tests/data/fixtures/gsm8k."""
    folder = tmp_path_factory.mktemp("gsm8k")
    for split in ("train", "test"):
        with lzma.open(GSM8K_FIXTURE / f"{split}.jsonl.xz") as packed:
            (folder / f"{split}.jsonl").write_bytes(packed.read())
    return folder
