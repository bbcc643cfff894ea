"""Shared fixtures for the grpo-data tests: the fixture files' folder and a real tokenizer (the real GSM8K
folder, `gsm8k_dir`, is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def smollm2_tokenizer():
    """SmolLM2-135M-Instruct's tokenizer (with its chat template), from the embedded model cache."""
    transformers = pytest.importorskip("transformers")
    embedded = pytest.importorskip("grpo_training.embedded")
    return transformers.AutoTokenizer.from_pretrained(embedded.embedded_model_path())
