"""evaluate() on the real embedded model: batching, prefill rendering, base vs base+LoRA."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from grpo_data import XML_SYSTEM_PROMPT, load_gsm8k, synthetic_gsm8k
from grpo_training.embedded import embedded_model_path
from grpo_training.evaluation import SamplingSettings, adapter_disabled, evaluate
from grpo_training.evaluation.evaluate import _render, _with_prefill
from grpo_training.evaluation.loading import load_for_inference

PREFILL = "<reasoning>\n"
GREEDY = SamplingSettings(temperature=0, max_new_tokens=20)


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(embedded_model_path())


@pytest.fixture(scope="module")
def model():
    return AutoModelForCausalLM.from_pretrained(embedded_model_path(), dtype=torch.float32)


@pytest.fixture(scope="module")
def rows():
    return load_gsm8k(synthetic_gsm8k(5, seed=1), system_prompt=XML_SYSTEM_PROMPT)


def test_prefill_is_rendered_as_the_start_of_the_assistant_turn(tokenizer, rows):
    text = _render(tokenizer, _with_prefill(rows[0], PREFILL, 0))
    assert text.endswith("<|im_start|>assistant\n<reasoning>\n")
    plain = _render(tokenizer, _with_prefill(rows[0], "", 0))
    assert plain.endswith("<|im_start|>assistant\n")


def test_prefill_mismatch_names_the_row(tokenizer, model, rows):
    prefilled = [{"prompt": rows[0]["prompt"] + [{"role": "assistant", "content": "<think>"}], "answer": "1"}]
    with pytest.raises(ValueError, match=r"row 0: .*'<think>' but prefix='<reasoning>\\n'"):
        evaluate(model, tokenizer, prefilled, task="xml", prefix=PREFILL, sampling=GREEDY)


def test_rows_without_prompt_or_answer_are_refused(tokenizer, model):
    with pytest.raises(ValueError, match="row 0 has no 'answer' column"):
        evaluate(model, tokenizer, [{"prompt": [{"role": "user", "content": "hi"}]}], task="xml", sampling=GREEDY)
    with pytest.raises(ValueError, match="empty dataset"):
        evaluate(model, tokenizer, [], task="xml", sampling=GREEDY)


@pytest.mark.slow
def test_left_padded_batches_give_the_same_greedy_completions_as_one_by_one(tokenizer, model, rows):
    batched = evaluate(model, tokenizer, rows, task="xml", prefix=PREFILL, sampling=GREEDY, batch_size=5)
    single = evaluate(model, tokenizer, rows, task="xml", prefix=PREFILL, sampling=GREEDY, batch_size=1)
    assert [s["completion"] for s in batched.samples] == [s["completion"] for s in single.samples]
    assert batched.mean_completion_tokens == single.mean_completion_tokens
    assert tokenizer.padding_side == "right"  # restored after evaluation
    assert batched.n == 5 and batched.answers_scored == 5 and len(batched.samples) == 4
    assert all(s["completion"].startswith(PREFILL) for s in batched.samples)
    assert 0 < batched.mean_completion_tokens <= 20
    assert 0.0 <= batched.format_compliance <= 1.0 and 0.0 <= batched.answer_accuracy <= 1.0


def test_sampling_is_repeatable_with_its_seed(tokenizer, model, rows):
    sampled = SamplingSettings(temperature=1.0, top_p=None, top_k=50, max_new_tokens=12, seed=7)
    first = evaluate(model, tokenizer, rows, task="xml", prefix=PREFILL, sampling=sampled)
    second = evaluate(model, tokenizer, rows, task="xml", prefix=PREFILL, sampling=sampled)
    assert [s["completion"] for s in first.samples] == [s["completion"] for s in second.samples]


@pytest.fixture(scope="module")
def saved_lora(tmp_path_factory, model):
    """A LoRA adapter whose B matrices are non-zero, saved the way a run saves lora/."""
    peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM"))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    folder = tmp_path_factory.mktemp("run") / "lora"
    peft_model.save_pretrained(folder)
    peft_model.unload()  # give the shared module-scoped model back without adapters
    return folder


def test_adapter_disabled_is_the_base_model_and_the_lora_changes_completions(tokenizer, model, rows, saved_lora):
    plain = evaluate(model, tokenizer, rows, task="xml", prefix=PREFILL, sampling=GREEDY)
    with_lora, lora_tokenizer, name = load_for_inference(None, saved_lora)
    with adapter_disabled(with_lora) as base:
        base_report = evaluate(base, lora_tokenizer, rows, task="xml", prefix=PREFILL, sampling=GREEDY, label="base")
    lora_report = evaluate(with_lora, lora_tokenizer, rows, task="xml", prefix=PREFILL, sampling=GREEDY,
                           label="base+lora", lora=str(saved_lora), model_name=name)
    assert [s["completion"] for s in base_report.samples] == [s["completion"] for s in plain.samples]
    assert [s["completion"] for s in lora_report.samples] != [s["completion"] for s in plain.samples]
    assert lora_report.lora == str(saved_lora)


def test_missing_lora_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no adapter_config.json"):
        load_for_inference(None, tmp_path / "nothing")
