"""Bad input: clear errors naming file, row and field; unusable rows counted or refused, never lost silently."""

from __future__ import annotations

import json
import logging
import os

import datasets
import pytest

from grpo_data import DataFormatError, DataSourceError, LoadReport, NoUsableRowsError, load_dapo, load_gsm8k


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


GOOD = {"question": "Tom has 2 apples and gets 3 more. How many?", "answer": "2 + 3 = 5\n#### 5"}
GOOD_TOO = {"question": "Ann has 4 pears and gets 1 more. How many?", "answer": "4 + 1 = 5\n#### 5"}


def test_missing_column_names_file_and_field(tmp_path):
    path = _write_jsonl(tmp_path / "train.jsonl", [{"question": "q?", "solution": "#### 1"}])
    with pytest.raises(DataFormatError) as caught:
        load_gsm8k(path)
    message = str(caught.value)
    assert str(path) in message and "'answer'" in message and "#### <number>" in message
    assert caught.value.field == "answer"


def test_missing_marker_is_dropped_counted_and_logged(tmp_path, caplog):
    rows = [GOOD, {"question": "No marker here?", "answer": "The answer is 4"}, GOOD_TOO, {"question": "", "answer": "#### 1"}]
    path = _write_jsonl(tmp_path / "train.jsonl", rows)
    report = LoadReport()
    with caplog.at_level(logging.WARNING, logger="grpo_data"):
        dataset = load_gsm8k(path, report=report)
    assert dataset.num_rows == 2
    assert report.rows_read == 4 and report.rows_kept == 2 and report.rows_dropped == 2
    assert report.dropped_by_reason == {"no_final_answer_marker": 1, "empty_question": 1}
    assert [(d.row, d.field) for d in report.dropped_examples] == [(2, "answer"), (4, "question")]
    assert "dropped 2 of 4 rows" in caplog.text and "no_final_answer_marker" in caplog.text
    assert report.to_dict()["rows_dropped"] == 2


def test_strict_turns_a_dropped_row_into_an_error_naming_row_and_field(tmp_path):
    path = _write_jsonl(tmp_path / "train.jsonl", [GOOD, GOOD, {"question": "q?", "answer": "just 4"}])
    with pytest.raises(DataFormatError) as caught:
        load_gsm8k(path, strict=True)
    assert (caught.value.origin, caught.value.row, caught.value.field) == (str(path), 3, "answer")
    assert "'####'" in str(caught.value) and "row 3" in str(caught.value)


def test_missing_answer_value_in_one_row_is_reported(tmp_path):
    path = _write_jsonl(tmp_path / "train.jsonl", [GOOD, {"question": "Only a question?"}])
    report = LoadReport()
    assert load_gsm8k(path, report=report).num_rows == 1
    assert report.dropped_by_reason == {"missing_answer": 1}


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"train\.jsonl: file is empty"):
        load_gsm8k(path)


def test_empty_in_memory_dataset_is_an_error():
    with pytest.raises(DataFormatError, match="no rows"):
        load_gsm8k(datasets.Dataset.from_dict({"question": [], "answer": []}))


def test_malformed_json_line_names_the_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n" + '{"question": "broken", "answer": \n', encoding="utf-8")
    with pytest.raises(DataFormatError) as caught:
        load_gsm8k(path)
    assert caught.value.row == 3
    assert str(path) in str(caught.value) and "line 3 is not valid JSON" in str(caught.value)


def test_field_of_the_wrong_type_is_counted_and_refused_when_strict(tmp_path):
    path = _write_jsonl(tmp_path / "train.jsonl", [GOOD, {"question": "q?", "answer": {"text": "#### 1"}}])
    report = LoadReport()
    assert load_gsm8k(path, report=report).num_rows == 1
    assert report.dropped_by_reason == {"answer_not_text": 1}
    with pytest.raises(DataFormatError, match=r"row 2, field 'answer': holds a dict") as caught:
        load_gsm8k(path, strict=True)
    assert (caught.value.row, caught.value.field) == (2, "answer")


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(DataSourceError, match="no such file or folder"):
        load_gsm8k(tmp_path / "nowhere" / "train.jsonl")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file, so a permission error cannot be provoked")
def test_unreadable_file_is_a_clear_error(tmp_path):
    path = _write_jsonl(tmp_path / "train.jsonl", [GOOD])
    path.chmod(0)
    with pytest.raises(DataSourceError, match="not readable"):
        load_gsm8k(path)


def test_folder_without_the_split_lists_what_it_found(tmp_path):
    _write_jsonl(tmp_path / "validation.jsonl", [GOOD])
    with pytest.raises(DataSourceError, match=r"no file for split 'train'.*validation\.jsonl"):
        load_gsm8k(tmp_path, split="train")


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("question,answer\n", encoding="utf-8")
    with pytest.raises(DataSourceError, match="unsupported file type"):
        load_gsm8k(path)


def test_unreachable_hub_id_says_to_use_a_local_path(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(DataSourceError, match="pass a local"):
        load_gsm8k("no-such-owner/no-such-gsm8k-set")


def test_dapo_rows_without_solution_are_counted(tmp_path):
    rows = [{"prompt": "1+1?", "solution": "2"}, {"prompt": "2+2?", "solution": ""}, {"prompt": "", "solution": "3"}]
    path = _write_jsonl(tmp_path / "dapo.jsonl", rows)
    report = LoadReport()
    assert load_dapo(path, report=report)["answer"] == ["2"]
    assert report.dropped_by_reason == {"empty_solution": 1, "empty_prompt": 1}
    with pytest.raises(DataFormatError, match=r"row 2, field 'solution'"):
        load_dapo(path, strict=True)


def test_dapo_missing_column(tmp_path):
    path = _write_jsonl(tmp_path / "dapo.jsonl", [{"problem": "1+1?", "solution": "2"}])
    with pytest.raises(DataFormatError, match=r"missing column\(s\) \['prompt'\]"):
        load_dapo(path)


def test_a_file_with_no_usable_row_is_an_error_naming_the_file_and_the_reasons(tmp_path):
    rows = [{"question": "No marker?", "answer": "The answer is 4"}, {"question": "", "answer": "#### 1"}]
    path = _write_jsonl(tmp_path / "train.jsonl", rows)
    with pytest.raises(NoUsableRowsError) as caught:
        load_gsm8k(path)  # not strict: a few bad rows are dropped, but all of them is an error
    message = str(caught.value)
    assert str(path) in message and "no usable row" in message
    assert "no_final_answer_marker: 1" in message and "empty_question: 1" in message
    assert caught.value.dropped_by_reason == {"no_final_answer_marker": 1, "empty_question": 1}
    assert isinstance(caught.value, DataFormatError)


def test_a_dapo_source_with_no_usable_row_is_an_error(tmp_path):
    path = _write_jsonl(tmp_path / "train.jsonl", [{"prompt": "What is 2+2?", "solution": ""}])
    with pytest.raises(NoUsableRowsError, match="empty_solution: 1"):
        load_dapo(path)
