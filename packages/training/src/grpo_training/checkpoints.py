"""Checkpoints that can be trusted: a marker is written only after the Trainer finished saving one.

The Trainer writes `checkpoint-N/` file by file; a process killed half-way leaves a folder that
looks like a checkpoint. `CheckpointMarker` adds `checkpoint-N/.grpo_complete` in `on_save`, which
runs after the whole checkpoint (weights, optimizer, scheduler, RNG, trainer state) is on disk, and
`find_resumable_checkpoint` only ever returns a marked one. Unmarked folders are moved aside to
`<run>/incomplete-checkpoints/` so neither we nor the Trainer's rotation mistake them for good ones.

Example:
    >>> import tempfile
    >>> find_resumable_checkpoint(tempfile.mkdtemp()) is None
    True
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

from transformers import TrainerCallback

logger = logging.getLogger(__name__)

COMPLETE_MARKER = ".grpo_complete"
CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
INCOMPLETE_DIR = "incomplete-checkpoints"


def checkpoint_step(path: Path) -> int | None:
    """The step number of a `checkpoint-N` folder, else None."""
    match = CHECKPOINT_PATTERN.match(Path(path).name)
    return int(match.group(1)) if match else None


def is_complete(path: Path) -> bool:
    """True when the checkpoint carries our marker and the Trainer's state file."""
    path = Path(path)
    return (path / COMPLETE_MARKER).is_file() and (path / "trainer_state.json").is_file()


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """`checkpoint-N` folders of a run, oldest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [p for p in run_dir.iterdir() if p.is_dir() and checkpoint_step(p) is not None]
    return sorted(found, key=lambda p: checkpoint_step(p) or 0)


def find_resumable_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint of a run (None when there is none); incomplete ones are skipped."""
    for path in reversed(list_checkpoints(run_dir)):
        if is_complete(path):
            return path
        logger.warning("Skipping %s: incomplete (no %s marker; written by a process that was interrupted?)",
                       path, COMPLETE_MARKER)
    return None


def quarantine_incomplete(run_dir: str | Path) -> list[Path]:
    """Move every unmarked `checkpoint-N` aside into `<run>/incomplete-checkpoints/`; return the new paths."""
    moved = []
    for path in list_checkpoints(run_dir):
        if is_complete(path):
            continue
        target_dir = Path(run_dir) / INCOMPLETE_DIR
        target_dir.mkdir(exist_ok=True)
        target = target_dir / f"{path.name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        os.replace(path, target)
        logger.warning("Moved incomplete %s to %s (never resumed from)", path.name, target)
        moved.append(target)
    return moved


def mark_complete(checkpoint_dir: str | Path) -> None:
    """Write the completion marker (atomically) into a finished checkpoint."""
    checkpoint_dir = Path(checkpoint_dir)
    tmp = checkpoint_dir / f"{COMPLETE_MARKER}.tmp"
    tmp.write_text("complete\n")
    os.replace(tmp, checkpoint_dir / COMPLETE_MARKER)


class CheckpointMarker(TrainerCallback):
    """Marks `checkpoint-<global_step>` complete once the Trainer has saved it.

    With several processes each writes its own part (e.g. `rng_state_<rank>.pth`): all of them wait
    here until every part is on disk, then the main process alone writes the marker.
    """

    def on_save(self, args, state, control, **kwargs):
        if args.world_size > 1:
            from grpo_training.distributed import wait_for_everyone

            wait_for_everyone()
        if state.is_world_process_zero:
            checkpoint_dir = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if checkpoint_dir.is_dir():
                mark_complete(checkpoint_dir)
        return control
