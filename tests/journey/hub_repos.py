"""Repos the loopback Hub serves for the journey tests, in the layouts of the real ones.

- a model repo made from the embedded SmolLM2-135M-Instruct (safetensors, tokenizer, config);
- a dataset repo in GSM8K's layout (config folder `main/`, `train-00000-of-00001.parquet` and
  `test-00000-of-00001.parquet`, columns `question` / `answer`), with SYNTHETIC rows;
- a dataset repo in DAPO-Math-17k-Processed's layout (config folder `en/`, `train-...parquet`, columns
  `prompt` / `solution`), with SYNTHETIC rows.
"""

from __future__ import annotations

import io

from grpo_data.synthetic import synthetic_gsm8k

MODEL_REPO = "smol-org/SmolLM2-135M-Instruct"
GSM8K_REPO = "openai/gsm8k"
DAPO_REPO = "open-r1/DAPO-Math-17k-Processed"


def _parquet(rows) -> bytes:
    buffer = io.BytesIO()
    rows.to_parquet(buffer)
    return buffer.getvalue()


def gsm8k_files(train_rows: int = 96, test_rows: int = 16) -> dict[str, bytes]:
    columns = ["question", "answer"]
    train = synthetic_gsm8k(train_rows, seed=1).select_columns(columns)
    test = synthetic_gsm8k(test_rows, seed=2).select_columns(columns)
    return {"main/train-00000-of-00001.parquet": _parquet(train), "main/test-00000-of-00001.parquet": _parquet(test),
            "README.md": b"---\nconfigs:\n- config_name: main\n  data_files:\n  - split: train\n"
                         b"    path: main/train-*\n  - split: test\n    path: main/test-*\n---\n# gsm8k (synthetic)\n"}


def dapo_files(train_rows: int = 96) -> dict[str, bytes]:
    train = synthetic_gsm8k(train_rows, seed=3, schema="dapo").select_columns(["prompt", "solution"])
    return {"en/train-00000-of-00001.parquet": _parquet(train),
            "README.md": b"---\nconfigs:\n- config_name: en\n  data_files:\n  - split: train\n"
                         b"    path: en/train-*\n---\n# DAPO-Math (synthetic)\n"}


def serve_journey_repos(hub) -> None:
    """Add the model and both dataset repos to a running `HubStandIn`."""
    from grpo_training.embedded import embedded_model_path

    hub.add_folder(MODEL_REPO, embedded_model_path())
    hub.add_repo(GSM8K_REPO, gsm8k_files(), repo_type="dataset")
    hub.add_repo(DAPO_REPO, dapo_files(), repo_type="dataset")
