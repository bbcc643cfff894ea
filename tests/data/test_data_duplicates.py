"""A data file that repeats questions: the repeats are reported (count, row numbers, in the stats and a log line)
and kept once, so a train / held-out split shares no question."""

from __future__ import annotations

import json
import logging

import datasets

from grpo_data import LoadReport, load_dapo, load_gsm8k, split_train_eval
from grpo_data.cli import main


def normalized_question(text: str) -> str:
    return " ".join(text.split()).casefold()


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def gsm8k_row(number: int, spacing: str = " ") -> dict:
    return {"question": f"Ann has {number}{spacing}apples. How many?", "answer": f"She has {number}.\n#### {number}"}


def test_repeated_questions_are_dropped_counted_and_logged_with_their_row_numbers(tmp_path, caplog):
    rows = [gsm8k_row(n) for n in range(4)] + [dict(gsm8k_row(0, "   "), question="ANN has 0 apples. How many? "),
                                              gsm8k_row(1)]
    source = write_jsonl(tmp_path / "train.jsonl", rows)
    report = LoadReport()
    with caplog.at_level(logging.WARNING):
        dataset = load_gsm8k(str(source), report=report)
    assert dataset.num_rows == 4 == report.rows_kept and report.rows_read == 6
    assert report.dropped_by_reason == {"duplicate_question": 2}
    assert [(d.row, d.field) for d in report.dropped_examples] == [(5, "question"), (6, "question")]
    assert "2 duplicate rows" in caplog.text and "row 5 (= row 1), row 6 (= row 2)" in caplog.text


def test_a_split_of_a_file_with_duplicates_holds_out_questions_never_trained_on(tmp_path):
    rows = [gsm8k_row(n % 20) for n in range(60)]  # every question three times
    dataset = load_gsm8k(str(write_jsonl(tmp_path / "train.jsonl", rows)))
    train, held_out = split_train_eval(dataset, 5, seed=0)
    trained = {normalized_question(q) for q in train["question"]}
    assert held_out.num_rows == 5 and train.num_rows == 15
    assert not trained & {normalized_question(q) for q in held_out["question"]}


def test_split_of_a_dataset_built_another_way_is_disjoint_by_question_too(caplog):
    questions = [f"Question {n % 10}?" for n in range(40)]
    rows = datasets.Dataset.from_dict({"question": questions, "answer": [str(n % 10) for n in range(40)]})
    with caplog.at_level(logging.WARNING):
        train, held_out = split_train_eval(rows, 3, seed=1)
    assert (train.num_rows, held_out.num_rows) == (7, 3)
    assert not set(train["question"]) & set(held_out["question"])
    assert "30 of 40 rows repeat" in caplog.text and "row 11 (= row 1)" in caplog.text


def test_dapo_duplicates_are_dropped_too(tmp_path):
    rows = [{"prompt": "Solve x + 1 = 2.", "solution": "1"}, {"prompt": "Solve x + 2 = 4.", "solution": "2"},
            {"prompt": "solve x + 1 = 2.", "solution": "1"}]
    report = LoadReport()
    assert load_dapo(str(write_jsonl(tmp_path / "dapo.jsonl", rows)), report=report).num_rows == 2
    assert report.dropped_by_reason == {"duplicate_question": 1}


def test_the_data_command_reports_duplicates_in_its_stats(tmp_path):
    source = write_jsonl(tmp_path / "train.jsonl", [gsm8k_row(1), gsm8k_row(2), gsm8k_row(1)])
    assert main(["gsm8k", "--source", str(source), "--out", str(tmp_path / "out")]) == 0
    stats = json.loads((tmp_path / "out" / "stats.json").read_text(encoding="utf-8"))
    assert stats["load"]["dropped_by_reason"] == {"duplicate_question": 1} and stats["rows_written"] == 2
    assert stats["load"]["dropped_examples"][0]["row"] == 3
