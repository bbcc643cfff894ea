"""Evaluation verdicts, sampling settings, the table and eval.json: no model needed."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from grpo_training.evaluation import (
    PHI4_GSM8K_SAMPLING,
    R1_DAPO_SAMPLING,
    EvalReport,
    SamplingSettings,
    format_eval_table,
    write_eval_json,
)
from grpo_training.evaluation.evaluate import score_completions
from grpo_training.reasoning_tokens import ReasoningTokens

PREFILL = "<reasoning>\n"


def test_tutorial_presets_match_the_tutorials():
    assert (PHI4_GSM8K_SAMPLING.temperature, PHI4_GSM8K_SAMPLING.top_p, PHI4_GSM8K_SAMPLING.max_new_tokens) == (0.8, 0.95, 1024)
    assert (R1_DAPO_SAMPLING.temperature, R1_DAPO_SAMPLING.top_k, R1_DAPO_SAMPLING.top_p) == (1.0, 50, None)


def test_generate_kwargs_switch_every_filter_explicitly():
    kwargs = R1_DAPO_SAMPLING.generate_kwargs()
    assert kwargs["do_sample"] and kwargs["top_k"] == 50 and kwargs["top_p"] == 1.0
    kwargs = PHI4_GSM8K_SAMPLING.generate_kwargs()
    assert kwargs["top_k"] == 0 and kwargs["top_p"] == 0.95  # top_k=0: a model's default top_k=50 must not leak in
    greedy = SamplingSettings(temperature=0, max_new_tokens=8).generate_kwargs()
    assert greedy["do_sample"] is False


@pytest.mark.parametrize("bad", [dict(temperature=-1), dict(top_p=0), dict(top_p=1.5), dict(top_k=-1),
                                 dict(min_p=1.0), dict(max_new_tokens=0)])
def test_invalid_sampling_settings_are_refused(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        SamplingSettings(**bad)


def test_xml_verdicts_use_the_prefill_and_the_training_rewards():
    completions = [
        "6 * 12 = 72\n</reasoning>\n<answer>\n72\n</answer>",  # right, strict format once prefixed
        "6 * 12 = 71\n</reasoning>\n<answer>\n71\n</answer>",  # formatted, wrong
        "The answer is 72.",  # no format; bare text is not the number
        "6*12\n</reasoning>\n<answer>\n$72.00\n</answer>\nand more text",  # right answer, trailing text breaks format
    ]
    scores = score_completions(completions, ["72"] * 4, task="xml", prefix=PREFILL)
    assert scores.correct == [True, False, False, True]
    assert scores.formatted == [True, True, False, False]
    assert scores.answers_scored == 4 and scores.in_target_language is None
    # Without the prefix the first one is not the strict format: the prefix really is used.
    assert score_completions(completions[:1], ["72"], task="xml").formatted == [False]


def test_unusable_gold_counts_as_not_scored_and_not_correct():
    scores = score_completions(["x\n</reasoning>\n<answer>\n3\n</answer>"], [None], task="xml", prefix=PREFILL)
    assert scores.correct == [False] and scores.answers_scored == 0


def test_think_verdicts_use_the_reasoning_markers_and_language():
    markers = ReasoningTokens("<|think_start|>", "<|think_end|>", None, None, True)
    completions = [
        "Dua tambah dua sama dengan empat, jadi jawabannya empat.<|think_end|>4",
        "Two plus two is four, so the answer is four.<|think_end|>5",
        "Dua tambah dua sama dengan empat.</think>4",  # textual marker, but this tokenizer's marker differs
    ]
    scores = score_completions(completions, ["4", "4", "4"], task="think", prefix="<|think_start|>",
                               target_language="id", reasoning=markers)
    assert scores.correct == [True, False, False]
    assert scores.formatted == [True, True, False]
    assert scores.in_target_language == [True, False, True]


def test_scoring_refuses_mismatched_lengths_and_unknown_task():
    with pytest.raises(ValueError, match="2 completions but 1 answers"):
        score_completions(["a", "b"], ["1"], task="xml")
    with pytest.raises(ValueError, match="task must be one of"):
        score_completions(["a"], ["1"], task="json")


def _report(label: str, accuracy: float, compliance: float, **changes) -> EvalReport:
    report = EvalReport(
        label=label, task="xml", n=64, answer_accuracy=accuracy, format_compliance=compliance,
        target_language=None, target_language_rate=None, answers_scored=64, truncated_rate=0.25,
        mean_completion_tokens=80.5, prefix=PREFILL, sampling=SamplingSettings(max_new_tokens=96),
        model="/cache/SmolLM2-135M-Instruct-0.1.2", lora=None,
    )
    return replace(report, **changes)


def test_table_states_sampling_and_shows_before_after():
    table = format_eval_table([_report("before", 0.0625, 0.5), _report("after", 0.125, 1.0, lora="runs/x/lora")])
    assert "temperature=0.8 top_p=0.95 top_k=off min_p=off max_new_tokens=96 seed=3407" in table.splitlines()[0]
    assert "prefill '<reasoning>\\n'" in table.splitlines()[0]
    before, after = table.splitlines()[3:5]
    assert "before" in before and "0.062 (4/64)" in before and "0.500 (32/64)" in before
    assert "after" in after and "+ LoRA" in after and "1.000 (64/64)" in after


def test_table_with_differing_sampling_gives_each_row_its_settings_and_language_column():
    table = format_eval_table([
        _report("base", 0.1, 0.2, sampling=R1_DAPO_SAMPLING, target_language="id", target_language_rate=0.25),
        _report("base+lora", 0.1, 0.2, sampling=PHI4_GSM8K_SAMPLING, target_language="id", target_language_rate=0.75),
    ])
    assert "target language" in table and "id: 0.750 (48/64)" in table
    assert R1_DAPO_SAMPLING.describe() in table and PHI4_GSM8K_SAMPLING.describe() in table


def test_eval_json_round_trips_and_leaves_no_temp_file(tmp_path):
    reports = [_report("before", 0.0625, 0.5), _report("after", 0.125, 1.0)]
    path = write_eval_json(tmp_path / "run" / "eval.json", reports)
    data = json.loads(path.read_text())
    assert [r["label"] for r in data["reports"]] == ["before", "after"]
    assert data["reports"][1]["format_compliance"] == 1.0
    assert data["reports"][0]["sampling"] == SamplingSettings(max_new_tokens=96).to_dict()
    assert "max_new_tokens=96" in data["table"]
    assert [p.name for p in path.parent.iterdir()] == ["eval.json"]
    assert path.stat().st_mode & 0o777 == 0o644  # readable like any report, not the temp file's 0600


def test_failed_eval_json_write_keeps_the_previous_file(tmp_path):
    path = write_eval_json(tmp_path / "eval.json", [_report("before", 0.5, 0.5)])
    bad = _report("after", 0.5, 0.5, samples=[{"completion": object()}])  # not JSON-serialisable
    with pytest.raises(TypeError):
        write_eval_json(path, [bad])
    assert json.loads(path.read_text())["reports"][0]["label"] == "before"
    assert [p.name for p in tmp_path.iterdir()] == ["eval.json"]


def test_vllm_sampling_means_what_generate_means():
    from grpo_training.evaluation.engines import vllm_sampling_kwargs

    r1 = vllm_sampling_kwargs(R1_DAPO_SAMPLING)
    assert (r1["temperature"], r1["top_p"], r1["top_k"], r1["min_p"], r1["max_tokens"]) == (1.0, 1.0, 50, 0.0, 2048)
    phi4 = vllm_sampling_kwargs(PHI4_GSM8K_SAMPLING)
    assert (phi4["top_p"], phi4["top_k"]) == (0.95, 0)  # top_k 0 = off in vLLM 0.26, as top_k=0 in GenerationConfig
    greedy = vllm_sampling_kwargs(SamplingSettings(temperature=0, top_p=0.5, top_k=5, min_p=0.2, max_new_tokens=8))
    assert (greedy["temperature"], greedy["top_p"], greedy["top_k"], greedy["min_p"]) == (0, 1.0, 0, 0.0)
    assert r1["n"] == 1 and r1["seed"] == R1_DAPO_SAMPLING.seed


def test_asking_for_vllm_without_an_engine_says_how_to_get_one(tmp_path):
    from grpo_training.evaluation.engines import VLLMGenerate, choose_engine

    with pytest.raises(ValueError, match="fast_inference"):
        choose_engine("vllm", object(), None, 16, None)
    with pytest.raises(ValueError, match="evaluation.engine must be one of"):
        choose_engine("sglang", object(), None, 16, None)

    class ModelWithEngine:  # the attribute Unsloth sets; generation itself is proven on the GPU (benchmarks/)
        vllm_engine = object()

    with pytest.raises(FileNotFoundError, match="adapter_config.json"):
        VLLMGenerate(ModelWithEngine(), lora_dir=tmp_path)
    assert VLLMGenerate(ModelWithEngine()).lora_request() is None
