"""A run under `accelerate launch`: which process writes, and values every process must share.

Under `accelerate launch` (torchrun underneath) every process runs the whole recipe: it builds the
same data, loads the same model and enters the same `GRPOTrainer`, which (through accelerate)
shards each batch across processes and all-reduces the gradients. What must happen once, the main
process does: the run folder's files, the LoRA save, SwanLab. What must be equal everywhere (the
run folder name, which is timestamped by default; the training rows) the main process decides or
checks here. A plain `python -m grpo_training train` (no `WORLD_SIZE` > 1) never touches
`torch.distributed`: every function below is then a no-op that answers for one process.

Example:
    >>> world_size(), is_main_process(), broadcast_from_main("only me")
    (1, True, 'only me')
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import timedelta
from typing import Any


def _group_ready() -> bool:
    import torch.distributed

    return torch.distributed.is_available() and torch.distributed.is_initialized()


def world_size() -> int:
    """How many processes `accelerate launch` / torchrun started (1 for a plain run)."""
    if _group_ready():
        import torch.distributed

        return torch.distributed.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_distributed() -> bool:
    """True when this process is one of several."""
    return world_size() > 1


def process_index() -> int:
    """This process's global rank (0 for a plain run); from the process group once it exists (launchers
    that fork, like accelerate's `debug_launcher`, set no `RANK`), else from torchrun's `RANK`."""
    if _group_ready():
        import torch.distributed

        return torch.distributed.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """True on the process that writes the run folder (global rank 0)."""
    return process_index() == 0


def uses_cpu() -> bool:
    """True when the launch asked for CPU processes (`ACCELERATE_USE_CPU`, as `launch --cpu` sets it)."""
    return os.environ.get("ACCELERATE_USE_CPU", "false").strip().lower() in ("1", "true", "yes")


def state(timeout_seconds: int = 1800) -> Any:
    """accelerate's `PartialState` (it initialises the process group; the Trainer reuses that group).

    Only called when `is_distributed()`; `timeout_seconds` matches `TrainingArguments.ddp_timeout`.
    """
    from accelerate import PartialState

    return PartialState(cpu=uses_cpu(), timeout=timedelta(seconds=timeout_seconds))


def broadcast_from_main(value: Any) -> Any:
    """The main process's `value` on every process (any picklable object)."""
    if not is_distributed():
        return value
    from accelerate.utils import broadcast_object_list

    state()
    box = [value if is_main_process() else None]
    broadcast_object_list(box, from_process=0)
    return box[0]


def gather_from_all(value: Any) -> list[Any]:
    """Every process's `value`, in rank order (a one-element list for a plain run)."""
    if not is_distributed():
        return [value]
    from accelerate.utils import gather_object

    state()
    return gather_object([value])


def wait_for_everyone() -> None:
    """A barrier: returns once every process got here."""
    if is_distributed():
        state().wait_for_everyone()


def rows_digest(dataset: Any) -> str:
    """A content hash of a `datasets.Dataset` (its rows as JSON), equal on every process that built the same rows.

    Example:
        >>> import datasets
        >>> rows_digest(datasets.Dataset.from_list([{"a": 1}])) == rows_digest(datasets.Dataset.from_list([{"a": 1}]))
        True
    """
    digest = hashlib.sha256()
    for row in dataset:
        digest.update(json.dumps(row, sort_keys=True, default=str).encode("utf-8"))
    return f"{dataset.num_rows}:{digest.hexdigest()[:16]}"


class DataMismatchError(RuntimeError):
    """Processes built different training rows: the sampler's shards would not partition one data set."""


def check_same_rows(dataset: Any, what: str = "training rows") -> None:
    """Raise `DataMismatchError` unless every process built identical rows (GRPOTrainer's `RepeatSampler` draws
    the same seeded order everywhere and accelerate hands each process its slice, so the rows must agree)."""
    if not is_distributed():
        return
    digests = gather_from_all(rows_digest(dataset))
    if len(set(digests)) != 1:
        raise DataMismatchError(f"the processes built different {what} (rows:digest per rank: {digests}); "
                                "data preparation must be deterministic (fixed data.seed, same source files on "
                                "every node)")


def finish() -> None:
    """Tear the process group down at the end of a distributed run (silences torch's exit warning)."""
    if is_distributed():
        import torch.distributed

        if torch.distributed.is_initialized():
            state().destroy_process_group()
