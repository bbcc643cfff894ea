"""Shared fixtures for the grpo-data tests: the real GSM8K folder and a real tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GSM8K_DIR = REPO_ROOT.parent / "shared" / "data" / "gsm8k"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def gsm8k_dir() -> Path:
    """The real GSM8K (train.jsonl / test.jsonl) beside the repository, as CI has it."""
    if not (GSM8K_DIR / "train.jsonl").is_file() or not (GSM8K_DIR / "test.jsonl").is_file():
        pytest.skip(
            f"real GSM8K not found at {GSM8K_DIR} (train.jsonl, test.jsonl): CI provides ../shared/data/gsm8k "
            "beside the repository; a fresh clone does not"
        )
    return GSM8K_DIR


@pytest.fixture(scope="session")
def smollm2_tokenizer():
    """SmolLM2-135M-Instruct's tokenizer (with its chat template), from the embedded model cache."""
    transformers = pytest.importorskip("transformers")
    embedded = pytest.importorskip("grpo_training.embedded")
    return transformers.AutoTokenizer.from_pretrained(embedded.embedded_model_path())
