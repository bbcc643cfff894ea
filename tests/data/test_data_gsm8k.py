"""load_gsm8k on the real GSM8K files, and on the other kinds of source it accepts."""

from __future__ import annotations

import json
import re

import datasets
import pytest

from grpo_data import LoadReport, XML_SYSTEM_PROMPT, extract_final_answer, load_gsm8k, synthetic_gsm8k

NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _final_answers_from_file(path) -> list[str]:
    """Independent reading of the gold answers: the text after '####' with commas removed."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["answer"].split("####")[-1].strip().replace(",", "") for line in handle]


@pytest.mark.parametrize(("split", "rows", "with_commas", "negatives"), [("train", 7473, 79, 3), ("test", 1319, 14, 2)])
def test_real_gsm8k_split_loads_every_row_with_normalised_answers(gsm8k_dir, split, rows, with_commas, negatives):
    report = LoadReport()
    dataset = load_gsm8k(gsm8k_dir, split=split, report=report)

    assert dataset.num_rows == rows
    assert (report.rows_read, report.rows_kept, report.dropped_by_reason) == (rows, rows, {})
    assert dataset["answer"] == _final_answers_from_file(gsm8k_dir / f"{split}.jsonl")
    assert all(NUMBER.fullmatch(answer) for answer in dataset["answer"])
    comma_rows = [i for i, raw in enumerate(dataset["raw_answer"]) if "," in raw.split("####")[-1]]
    assert len(comma_rows) == with_commas
    assert all("," not in dataset[i]["answer"] for i in comma_rows)
    assert sum(answer.startswith("-") for answer in dataset["answer"]) == negatives


def test_real_gsm8k_rows_become_system_and_user_messages(gsm8k_dir):
    dataset = load_gsm8k(gsm8k_dir / "train.jsonl")
    first = dataset[0]
    assert first["prompt"] == [
        {"role": "system", "content": XML_SYSTEM_PROMPT},
        {"role": "user", "content": first["question"]},
    ]
    assert first["question"].startswith("Natalia sold clips")
    assert first["answer"] == "72"
    assert first["raw_answer"].endswith("#### 72")


def test_known_comma_and_negative_answers_are_normalised(gsm8k_dir):
    answers = set(load_gsm8k(gsm8k_dir, split="train")["answer"])
    assert {"1080", "850000", "-7", "-47", "-12"} <= answers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("#### 1,080", "1080"), ("#### -47", "-47"), ("x\n####  12,345,678 ", "12345678"), ("#### 3.5", "3.5"),
     ("#### 1,2", "1,2"), ("no marker", None)],
)
def test_extract_final_answer(raw, expected):
    assert extract_final_answer(raw) == expected


@pytest.mark.parametrize("suffix", ["jsonl", "json", "parquet"])
def test_local_file_formats_load_the_same_rows(tmp_path, suffix):
    raw = synthetic_gsm8k(20, seed=3)
    path = tmp_path / f"train.{suffix}"
    if suffix == "jsonl":
        raw.to_json(str(path), lines=True)
    elif suffix == "json":
        path.write_text(json.dumps(raw.to_list()), encoding="utf-8")
    else:
        raw.to_parquet(str(path))
    from_file = load_gsm8k(path)
    from_memory = load_gsm8k(raw)
    assert from_file["answer"] == from_memory["answer"]
    assert from_file["prompt"] == from_memory["prompt"]


def test_folder_picks_the_split_files_including_hub_style_config_folder(tmp_path):
    (tmp_path / "main").mkdir()
    synthetic_gsm8k(7, seed=1).to_parquet(str(tmp_path / "main" / "train-00000-of-00002.parquet"))
    synthetic_gsm8k(5, seed=2).to_parquet(str(tmp_path / "main" / "train-00001-of-00002.parquet"))
    synthetic_gsm8k(3, seed=4).to_parquet(str(tmp_path / "main" / "test-00000-of-00001.parquet"))
    assert load_gsm8k(tmp_path, config="main", split="train").num_rows == 12
    assert load_gsm8k(tmp_path, config="main", split="test").num_rows == 3


def test_saved_dataset_dict_folder_loads(tmp_path):
    datasets.DatasetDict({"train": synthetic_gsm8k(6), "test": synthetic_gsm8k(2, seed=9)}).save_to_disk(str(tmp_path))
    assert load_gsm8k(tmp_path, split="test").num_rows == 2


def test_in_memory_synthetic_source_keeps_its_extra_columns():
    dataset = load_gsm8k(synthetic_gsm8k(9, seed=0), system_prompt=None)
    assert {"template", "operands", "question", "raw_answer"} <= set(dataset.column_names)
    assert [message["role"] for message in dataset[0]["prompt"]] == ["user"]


def test_one_shot_puts_the_worked_example_between_system_and_user():
    dataset = load_gsm8k(synthetic_gsm8k(3, seed=0), one_shot=True)
    roles = [message["role"] for message in dataset[0]["prompt"]]
    assert roles == ["system", "user", "assistant", "user"]
    example = dataset[0]["prompt"][2]["content"]
    assert example.startswith("<reasoning>\n") and example.endswith("<answer>\n7\n</answer>\n")
    assert dataset[0]["prompt"][3]["content"] == dataset[0]["question"]
