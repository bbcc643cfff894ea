"""Checkpoints that can be trusted: a marker is written only after the Trainer finished saving one.

The Trainer writes `checkpoint-N/` file by file; a process killed half-way leaves a folder that
looks like a checkpoint. `CheckpointMarker` adds `checkpoint-N/.grpo_complete` in `on_save`, which
runs after the whole checkpoint (weights, optimizer, scheduler, RNG, trainer state) is on disk, and
`find_resumable_checkpoint` only ever returns a marked one whose files also read back
(`checkpoint_problem`: a disk that filled up, or a copy cut short, can damage a marked checkpoint);
it falls back to the previous good one and names the damaged file. Unmarked and damaged folders are
moved aside to `<run>/incomplete-checkpoints/` so neither we nor the Trainer's rotation (nor a later
save into the same `checkpoint-N`, which would keep the old marker) mistake them for good ones.

Example:
    >>> import tempfile
    >>> find_resumable_checkpoint(tempfile.mkdtemp()) is None
    True
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import zipfile
from pathlib import Path

from transformers import TrainerCallback

from grpo_data.atomic_files import umask_modes, write_atomically

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


WEIGHT_FILES = ("adapter_model.safetensors", "model.safetensors", "adapter_model.bin", "pytorch_model.bin")


def checkpoint_problem(path: str | Path) -> str | None:
    """What makes a checkpoint unusable, naming the file (None when it can be resumed from).

    Checked without loading any weights: the completion marker; `trainer_state.json` parses and has
    a `global_step`; a weights file is present; every `*.safetensors` header covers its file (a
    truncated file fails here); every torch file (`*.pt`, `*.pth`, `*.bin`) has its zip directory
    (torch saves a zip whose directory is at the end, so truncation removes it).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp()) / "checkpoint-2"
        >>> folder.mkdir()
        >>> checkpoint_problem(folder)
        'no .grpo_complete marker (written by a process that was interrupted?)'
        >>> mark_complete(folder)
        >>> _ = (folder / "trainer_state.json").write_text('{"global_step": 2')
        >>> checkpoint_problem(folder).endswith("trainer_state.json is damaged: not valid JSON")
        True
    """
    path = Path(path)
    if not (path / COMPLETE_MARKER).is_file():
        return f"no {COMPLETE_MARKER} marker (written by a process that was interrupted?)"
    state_file = path / "trainer_state.json"
    if not state_file.is_file():
        return f"{state_file} is missing"
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return f"{state_file} is damaged: not valid JSON"
    if not isinstance(state, dict) or not isinstance(state.get("global_step"), int):
        return f"{state_file} is damaged: no integer global_step"
    sharded = any(child.is_dir() and child.name.startswith("pytorch_model_fsdp") for child in path.iterdir())
    if not sharded and not any((path / name).is_file() for name in WEIGHT_FILES):
        return f"{path} holds no weights file ({', '.join(WEIGHT_FILES)})"
    for file in sorted(path.iterdir()):
        problem = _file_problem(file)
        if problem:
            return f"{file} is damaged: {problem}"
    return None


def _file_problem(file: Path) -> str | None:
    if file.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(file), framework="pt") as tensors:
                tensors.keys()
        except Exception as error:  # safetensors raises its own SafetensorError (and OSError)
            return f"unreadable safetensors ({error})"
    elif file.suffix in (".pt", ".pth", ".bin"):
        try:
            with zipfile.ZipFile(file):
                pass
        except (OSError, zipfile.BadZipFile) as error:
            return f"unreadable torch file ({error}; truncated?)"
    return None


def step_of_checkpoint(path: str | Path) -> int:
    """The global step recorded in a usable checkpoint's `trainer_state.json`.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "trainer_state.json").write_text('{"global_step": 7}')
        >>> step_of_checkpoint(folder)
        7
    """
    return int(json.loads((Path(path) / "trainer_state.json").read_text(encoding="utf-8"))["global_step"])


def find_resumable_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest usable checkpoint of a run (None when there is none).

    Incomplete or damaged ones are skipped with a warning naming the reason (and the damaged file),
    falling back to the previous good checkpoint.
    """
    for path in reversed(list_checkpoints(run_dir)):
        problem = checkpoint_problem(path)
        if problem is None:
            return path
        logger.warning("Skipping %s: %s; falling back to the previous checkpoint", path.name, problem)
    return None


def quarantine_incomplete(run_dir: str | Path) -> list[Path]:
    """Move every incomplete or damaged `checkpoint-N` aside into `<run>/incomplete-checkpoints/`; return the new paths.

    Example:
        >>> import tempfile
        >>> run = Path(tempfile.mkdtemp())
        >>> (run / "checkpoint-3").mkdir()  # no marker: a save that was interrupted
        >>> [path.parent.name for path in quarantine_incomplete(run)], list_checkpoints(run)
        (['incomplete-checkpoints'], [])
    """
    moved = []
    for path in list_checkpoints(run_dir):
        problem = checkpoint_problem(path)
        if problem is None:
            continue
        target_dir = Path(run_dir) / INCOMPLETE_DIR
        target_dir.mkdir(exist_ok=True)
        target = target_dir / f"{path.name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        os.replace(path, target)
        logger.warning("Moved %s to %s (never resumed from): %s", path.name, target, problem)
        moved.append(target)
    return moved


def mark_complete(checkpoint_dir: str | Path) -> None:
    """Write the completion marker (atomically) into a finished checkpoint."""
    checkpoint_dir = Path(checkpoint_dir)
    write_atomically(checkpoint_dir / COMPLETE_MARKER, "complete\n")


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
                umask_modes(checkpoint_dir)  # safetensors >= 0.8 writes its files 0o600 whatever the umask
                mark_complete(checkpoint_dir)
        return control
