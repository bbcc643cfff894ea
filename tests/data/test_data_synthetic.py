"""synthetic_gsm8k: deterministic, schema-true, and every answer right (recomputed here, not by the generator)."""

from __future__ import annotations

import json
import re

import pytest

from grpo_data import TEMPLATES, load_dapo, load_gsm8k, synthetic_gsm8k

# Each template's answer, written again from its meaning, independently of grpo_data.synthetic.
EXPECTED_ANSWER = {
    "add": lambda o: o["a"] + o["b"],
    "subtract": lambda o: o["a"] - o["b"],
    "multiply": lambda o: o["boxes"] * o["per_box"],
    "divide": lambda o: o["total"] // o["friends"],
    "two_step": lambda o: o["start"] + o["packs"] * o["per_pack"],
    "three_step": lambda o: o["trays"] * o["per_tray"] - o["eaten"] - o["given"],
    "money": lambda o: o["bill"] - o["count"] * o["price"],
    "time": lambda o: 60 * o["hours"] + o["minutes"],
    "rate": lambda o: o["per_hour"] * o["hours"],
}
ANNOTATION = re.compile(r"<<([\d+\-*/ ]+)=(-?\d+)>>")


@pytest.fixture(scope="module")
def problems():
    return synthetic_gsm8k(900, seed=7)


def test_same_seed_same_rows_other_seed_other_rows():
    assert synthetic_gsm8k(50, seed=11).to_list() == synthetic_gsm8k(50, seed=11).to_list()
    assert synthetic_gsm8k(50, seed=11)["question"] != synthetic_gsm8k(50, seed=12)["question"]
    assert synthetic_gsm8k(80, seed=11).to_list()[:50] == synthetic_gsm8k(50, seed=11).to_list()


def test_gsm8k_schema_and_every_template_used(problems):
    assert problems.column_names == ["question", "answer", "template", "operands"]
    assert set(problems["template"]) == set(EXPECTED_ANSWER) == set(TEMPLATES)
    counts = [problems["template"].count(name) for name in EXPECTED_ANSWER]
    assert max(counts) - min(counts) <= 1


def test_every_answer_recomputed_from_recorded_operands(problems):
    for row in problems:
        operands = json.loads(row["operands"])
        expected = EXPECTED_ANSWER[row["template"]](operands)
        steps, final = row["answer"].rsplit("\n", 1)
        assert final == f"#### {expected}", row
        if row["template"] == "divide":
            assert operands["total"] % operands["friends"] == 0, row
        assert 0 < expected < 1000, row
        for value in operands.values():
            assert str(value) in row["question"], (value, row)


def test_worked_steps_are_arithmetic_that_holds(problems):
    for row in problems:
        notes = ANNOTATION.findall(row["answer"])
        assert notes, row
        for expression, result in notes:
            assert eval(expression) == int(result), (expression, result, row)  # digits and + - * / only
        assert int(notes[-1][1]) == int(row["answer"].rsplit("#### ", 1)[1])


def test_operands_are_small(problems):
    for row in problems:
        operands = json.loads(row["operands"])
        small = [v for k, v in operands.items() if k not in {"bill", "total"}]
        assert all(0 < v < 100 for v in small), row


def test_dapo_schema_has_same_problems_with_plain_solutions():
    gsm8k_style = synthetic_gsm8k(30, seed=5)
    dapo_style = synthetic_gsm8k(30, seed=5, schema="dapo")
    assert dapo_style.column_names == ["prompt", "solution", "template", "operands"]
    assert dapo_style["prompt"] == gsm8k_style["question"]
    assert dapo_style["solution"] == [a.rsplit("#### ", 1)[1] for a in gsm8k_style["answer"]]
    assert load_dapo(dapo_style)["answer"] == dapo_style["solution"]


def test_unknown_schema_and_negative_n_are_refused():
    with pytest.raises(ValueError, match="schema must be one of"):
        synthetic_gsm8k(3, schema="csv")
    with pytest.raises(ValueError, match="n must be"):
        synthetic_gsm8k(-1)


def test_rewards_give_full_credit_to_the_gold_answers():
    rewards = pytest.importorskip("grpo_rewards")
    prepared = load_gsm8k(synthetic_gsm8k(90, seed=2))
    completions = [
        [{"role": "assistant", "content": f"<reasoning>\n{raw.rsplit('####', 1)[0].strip()}\n</reasoning>\n<answer>\n{gold}\n</answer>\n"}]
        for raw, gold in zip(prepared["raw_answer"], prepared["answer"])
    ]
    [correctness] = rewards.get_reward_funcs(["correctness"])
    scores = correctness(prompts=prepared["prompt"], completions=completions, answer=prepared["answer"])
    assert scores == [correctness.score_range[1]] * prepared.num_rows

    dapo = load_dapo(synthetic_gsm8k(90, seed=2, schema="dapo"))
    [answer_check] = rewards.get_reward_funcs(["answer_check"])
    think = [[{"role": "assistant", "content": f"Hitung dulu.</think>{gold}"}] for gold in dapo["answer"]]
    assert answer_check(prompts=dapo["prompt"], completions=think, answer=dapo["answer"]) == [
        answer_check.score_range[1]
    ] * dapo.num_rows
