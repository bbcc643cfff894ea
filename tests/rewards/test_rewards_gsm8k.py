"""Real data: every GSM8K train gold answer, in a perfect XML completion, gets full credit."""

from __future__ import annotations

import json

from reference import tutorial
from reward_helpers import xml

from grpo_rewards import Correctness, Integer, StrictFormat, XmlCount


def _gold_answers(gsm8k_dir):
    rows = [json.loads(line) for line in (gsm8k_dir / "train.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["answer"].split("####")[1].strip() for row in rows]


def test_every_train_gold_gets_full_correctness_and_integer_credit(gsm8k_dir):
    golds = _gold_answers(gsm8k_dir)
    assert len(golds) == 7473
    completions = [[{"role": "assistant", "content": xml("Worked step by step.\nThen checked it.", gold)}] for gold in golds]
    prompts = [[{"role": "user", "content": "q"}]] * len(golds)

    scores = {
        "correctness": Correctness()(prompts=prompts, completions=completions, answer=golds),
        "integer": Integer()(prompts=prompts, completions=completions, answer=golds),
        "strict_format": StrictFormat()(prompts=prompts, completions=completions),
        "xmlcount": XmlCount()(prompts=prompts, completions=completions),
    }
    full = {"correctness": 2.0, "integer": 0.5, "strict_format": 0.5, "xmlcount": 0.5}
    for name, values in scores.items():
        missed = [(gold, s) for gold, s in zip(golds, values) if s != full[name]]
        assert not missed, f"{name}: {len(missed)} golds without full credit, e.g. {missed[:5]}"

    # The same golds written without thousands commas still match ("1080" vs gold "1,080").
    plain = [gold.replace(",", "") for gold in golds]
    completions = [[{"role": "assistant", "content": xml("r", p)}] for p in plain]
    assert set(Correctness()(prompts=prompts, completions=completions, answer=golds)) == {2.0}

    # The tutorial's isdigit() missed the negative and comma golds, its string compare the comma-free ones.
    tutorial_integer = tutorial.int_reward_func(completions=[[{"role": "assistant", "content": xml("r", g)}] for g in golds])
    assert tutorial_integer.count(0.0) == sum(1 for g in golds if not g.isdigit()) > 0
