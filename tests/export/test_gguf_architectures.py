"""llama.cpp's converter path on tiny random models of each supported config class, and K-quants on a
model whose widths are multiples of 256 (no llama.cpp fallback), reloaded and compared."""

from __future__ import annotations

import gguf
import pytest

from grpo_export import to_gguf

from conftest import make_tiny_model

K_TYPES = {gguf.GGMLQuantizationType.Q4_K, gguf.GGMLQuantizationType.Q5_K, gguf.GGMLQuantizationType.Q6_K}


@pytest.mark.slow  # the fast lane converts and checks tiny llamas elsewhere (test_safety, test_gguf_embedded)
@pytest.mark.parametrize("architecture, gguf_arch", [
    ("llama", "llama"), ("phi3", "phi3"), ("qwen3", "qwen3"), ("gemma3", "gemma3"),
])
def test_tiny_model_of_each_architecture_converts_to_f16_gguf(architecture, gguf_arch, embedded_tokenizer, tmp_path):
    model_dir = make_tiny_model(architecture, tmp_path / f"tiny-{architecture}", embedded_tokenizer)
    report: list[dict] = []
    [path] = to_gguf(model_dir, tmp_path / "gguf", "f16", report=report)
    assert path.name == f"tiny-{architecture}.F16.gguf" and path.is_file()
    assert report[0]["architecture"] == gguf_arch
    assert report[0]["passed"] and report[0]["calibrated_against"] == "f16"  # llama.cpp runs it as transformers does
    assert (tmp_path / "gguf" / "Modelfile").read_text().startswith(f"FROM ./{path.name}\n")


@pytest.mark.slow
def test_k_quants_on_widths_multiple_of_256_use_k_blocks_everywhere(embedded_tokenizer, tmp_path, quantizer):
    model_dir = make_tiny_model("llama", tmp_path / "tiny-llama", embedded_tokenizer)
    report: list[dict] = []
    paths = to_gguf(model_dir, tmp_path / "gguf", ["q4_k_m", "q5_k_m"], report=report)
    assert [p.name for p in paths] == ["tiny-llama.Q4_K_M.gguf", "tiny-llama.Q5_K_M.gguf"]
    for path in paths:
        matrices = [t for t in gguf.GGUFReader(str(path)).tensors if len(t.shape) == 2]
        assert matrices and {t.tensor_type for t in matrices} <= K_TYPES, path.name
    assert [r["file_type"] for r in report] == ["MOSTLY_Q4_K_M", "MOSTLY_Q5_K_M"]
    assert not any(p.name.endswith(".F16.gguf") for p in (tmp_path / "gguf").iterdir())  # intermediate not kept
