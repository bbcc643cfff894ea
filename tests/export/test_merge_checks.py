"""The streaming merge equals PEFT's own merge, and its checks fail every wrong merge: a missing,
doubled, mis-scaled or transposed LoRA, a missing tensor (tensor by tensor), and a wrong config or a
merge without the LoRA (logits, calibrated against rounding)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from grpo_export import ExportVerificationError
from grpo_export.lora_adapter import LoraAdapter
from grpo_export.merge import MERGED_CALIBRATION, merge_checkpoints, verify_merged_logits
from grpo_export.merge_by_tensor import check_merged_tensors, stream_merge, ulps

ADAPTED = "model.layers.3.self_attn.q_proj.weight"  # square (576 x 576): a transposed ΔW has the same shape


def _peft_merged(embedded_dir, lora_dir):
    from peft import PeftModel

    base = AutoModelForCausalLM.from_pretrained(embedded_dir, dtype=torch.float32)
    return PeftModel.from_pretrained(base, lora_dir).merge_and_unload().state_dict()


@pytest.mark.parametrize("variant", ["plain", "rslora+patterns"])
def test_streaming_merge_equals_peft_merge_and_unload(embedded_dir, tmp_path, variant):
    """Scaling, rsLoRA, per-module rank/alpha patterns: the file-level merge follows PEFT's semantics."""
    model = AutoModelForCausalLM.from_pretrained(embedded_dir, dtype=torch.float32)
    extra = {} if variant == "plain" else dict(use_rslora=True, rank_pattern={"q_proj": 4},
                                                alpha_pattern={"down_proj": 3})
    peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj", "down_proj"],
                                                  **extra))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    peft_model.save_pretrained(tmp_path / "lora")
    stream_merge(embedded_dir, LoraAdapter(tmp_path / "lora"), tmp_path, torch.float32, device="cpu")
    ours = load_file(str(tmp_path / "model.safetensors"))
    theirs = _peft_merged(embedded_dir, tmp_path / "lora")
    assert set(ours) == set(theirs) - {"lm_head.weight"}  # the tied head is not stored, as in the base
    for key, tensor in theirs.items():
        if key in ours:
            torch.testing.assert_close(ours[key], tensor, rtol=0, atol=2e-6)


@pytest.fixture(scope="module")
def good_merge(embedded_merged_dir):
    """A correct bf16 merge with its check figures (`merge` on a 16-bit base is `merge_checkpoints`, which checks
    itself before returning): the session's merge of the embedded model, read here, never changed."""
    return embedded_merged_dir, json.loads((embedded_merged_dir / ".grpo-export.json").read_text())["checks"]


def test_a_correct_merge_passes_and_adds_nothing_beyond_rounding(good_merge):
    _, checks = good_merge
    assert checks["logits"]["passed"] and checks["logits"]["ratio"] == pytest.approx(1.0, abs=0.05)
    assert "max 0.5 ulp" in checks["tensors"] or "max 0 ulp" in checks["tensors"] or "max 1 ulp" in checks["tensors"]


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32])
def test_correct_merges_pass_in_the_other_dtypes(embedded_dir, embedded_lora_dir, tmp_path, dtype):
    out = merge_checkpoints(embedded_dir, embedded_lora_dir, tmp_path / "merged", dtype=dtype, device="cpu")
    logits = json.loads((out / ".grpo-export.json").read_text())["checks"]["logits"]
    assert logits["passed"] and logits["ratio"] <= MERGED_CALIBRATION.multiple


def _corrupt(good, tmp_path, change):
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    tensors = load_file(str(bad / "model.safetensors"))
    change(tensors)
    save_file(tensors, str(bad / "model.safetensors"), metadata={"format": "pt"})
    return bad


def _delta(adapter):
    return adapter.modules[ADAPTED].delta()


@pytest.mark.parametrize("wrong", ["missing", pytest.param("doubled", marks=pytest.mark.slow),
                                   pytest.param("half-scaled", marks=pytest.mark.slow), "transposed", "tensor left out"])
def test_the_tensor_check_fails_every_wrong_merge(good_merge, embedded_dir, embedded_lora_dir, tmp_path, wrong):
    good, _ = good_merge
    adapter = LoraAdapter(embedded_lora_dir)
    base = load_file(str(embedded_dir / "model.safetensors"))[ADAPTED].float()
    delta = _delta(adapter)
    replacements = {"missing": base, "doubled": base + 2 * delta, "half-scaled": base + 0.5 * delta,
                    "transposed": base + delta.T}

    def change(tensors):
        if wrong == "tensor left out":
            del tensors["model.layers.5.mlp.up_proj.weight"]
        else:
            tensors[ADAPTED] = replacements[wrong].to(torch.bfloat16)

    bad = _corrupt(good, tmp_path, change)
    expected = "missing tensors" if wrong == "tensor left out" else ADAPTED
    with pytest.raises(ExportVerificationError, match=expected):
        check_merged_tensors(embedded_dir, adapter, bad, torch.bfloat16, device="cpu")


def test_the_logit_check_fails_a_wrong_config_the_tensor_check_cannot_see(good_merge, embedded_dir,
                                                                        embedded_lora_dir, tmp_path):
    good, _ = good_merge
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    config = json.loads((bad / "config.json").read_text())
    config["rms_norm_eps"] = 0.1  # every weight right, the model wrong
    (bad / "config.json").write_text(json.dumps(config))
    adapter = LoraAdapter(embedded_lora_dir)
    check_merged_tensors(embedded_dir, adapter, bad, torch.bfloat16, device="cpu")  # passes: weights are right
    with pytest.raises(ExportVerificationError, match="more than its type's rounding explains"):
        verify_merged_logits(embedded_dir, adapter, bad, torch.bfloat16, AutoTokenizer.from_pretrained(good),
                             device="cpu")


@pytest.mark.slow  # the fast lane's tensor check refuses the same merge ("missing")
def test_the_logit_check_fails_a_merge_without_the_lora(embedded_dir, embedded_lora_dir, tmp_path):
    """The base model itself, saved as if it were the merge."""
    bad = tmp_path / "bad"
    shutil.copytree(embedded_dir, bad)
    with pytest.raises(ExportVerificationError, match="more than its type's rounding explains"):
        verify_merged_logits(embedded_dir, LoraAdapter(embedded_lora_dir), bad, torch.bfloat16,
                             AutoTokenizer.from_pretrained(embedded_dir), device="cpu")


def test_ulps_measure_one_step_of_the_saved_dtype():
    one = torch.tensor([1.0])
    assert float(ulps(torch.tensor([1.0 + 2 ** -7]), one, torch.bfloat16)[0]) == 1.0
    assert float(ulps(torch.tensor([1.0 + 2 ** -10]), one, torch.float16)[0]) == 1.0
    assert float(ulps(torch.tensor([1.0 + 2 ** -23]), one, torch.float32)[0]) == 1.0
    assert float(ulps(torch.tensor([-3.0]), torch.tensor([-3.0]), torch.bfloat16)[0]) == 0.0
