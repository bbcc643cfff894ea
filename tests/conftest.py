"""Fixtures shared by every package's tests."""

from __future__ import annotations

import lzma
import os
from pathlib import Path

# The suite never reaches the real Hub: it runs offline by itself, before any Hugging Face library is imported
# (subprocesses inherit it). A test of the online path gives its own process HF_ENDPOINT on loopback and unsets these.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
# Under pytest-xdist (`hatch run test` runs two workers), each worker and the processes it starts compute on one
# thread: two workers of two OpenMP threads each on a 2-core machine spin-wait on each other's cores.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
GSM8K_FIXTURE = Path(__file__).parent / "data" / "fixtures" / "gsm8k"


# The longest runs (the apps' end-to-end runs and the online journeys, minutes each on 2 cores) start first.
LONGEST_FIRST = ("journey/test_app_journeys.py", "apps/test_apps_end_to_end.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest runs first, then the other slow tests (stable order otherwise): with two workers (and
    `--dist worksteal`, which moves queued tests to an idle worker), no worker is left alone with a long run at
    the end."""
    items.sort(key=lambda item: (not item.nodeid.split("::")[0].endswith(LONGEST_FIRST),
                                 item.get_closest_marker("slow") is None))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def gsm8k_dir(tmp_path_factory) -> Path:
    """The real GSM8K (MIT): a folder with train.jsonl and test.jsonl, unpacked from tests/data/fixtures/gsm8k."""
    folder = tmp_path_factory.mktemp("gsm8k")
    for split in ("train", "test"):
        with lzma.open(GSM8K_FIXTURE / f"{split}.jsonl.xz") as packed:
            (folder / f"{split}.jsonl").write_bytes(packed.read())
    return folder
