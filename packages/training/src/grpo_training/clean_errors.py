"""One clean line for the errors a user can fix, from the CLI and the apps alike.

A bad recipe value or `--set`, an unsafe change on `--resume`, a data source with no usable row, a
missing backend, an adapter that did not train, a disk that is full or read-only: these are the user's to fix, and a traceback hides
the one line that says how. `exits_cleanly` wraps an entry point so that they print
`error: <message>` on stderr and exit with status 2; any other exception (a bug) keeps its traceback.

The error classes are looked up only among modules already imported, so wrapping an app's `main`
imports nothing (the backend must be chosen before trl is imported).

Example:
    >>> @exits_cleanly
    ... def main(argv=None):
    ...     from grpo_training.run.resume import ResumeError
    ...     raise ResumeError("grpo.learning_rate: cannot change on resume")
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     status = main()
    >>> status, err.getvalue()
    (2, 'error: grpo.learning_rate: cannot change on resume\\n')
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

EXIT_STATUS = 2
# module -> names of its error classes that a user can act on
USER_ERRORS: dict[str, tuple[str, ...]] = {
    "grpo_training.recipe_errors": ("RecipeError",),
    "grpo_training.run.resume": ("ResumeError",),
    "grpo_training.model.backends": ("BackendError",),
    "grpo_training.run.lora": ("LoraNotTrainedError",),
    "grpo_training.evaluation.loading": ("AdapterMismatchError",),
    "grpo_data.errors": ("DataFormatError", "DataSourceError"),
    "grpo_export.errors": ("ExportError",),  # by name only: training never imports the export package
}

Entry = TypeVar("Entry", bound=Callable[..., int])

# How a full or read-only disk shows: OSError's errno, or the text of the writer's own error (safetensors'
# SafetensorError, torch.save's "[enforce fail ...] unexpected pos" / "file write failed").
_NO_SPACE_TEXTS = ("No space left on device", "os error 28", "Disk quota exceeded", "os error 122")
_TORCH_WRITE_TEXTS = ("unexpected pos", "file write failed")  # torch.save's, on a full disk
_READ_ONLY_TEXTS = ("Read-only file system", "os error 30")
_PATH_LOCALS = ("filename", "f", "name_or_buffer", "save_directory", "output_dir", "path", "file")


def _written_path(error: BaseException) -> Path | None:
    """The file or folder being written when `error` was raised: OSError's filename, else the innermost frame's
    local that names a path (torch.save's `f`, safetensors' `filename`, the Trainer's `output_dir`)."""
    if isinstance(error, OSError) and isinstance(error.filename, (str, os.PathLike)):
        return Path(error.filename)
    frames, tb = [], error.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for name in _PATH_LOCALS:
            value = frame.f_locals.get(name)
            if isinstance(value, (str, os.PathLike)) and os.sep in str(value):
                return Path(value)
    return None


def write_failure_message(error: BaseException) -> str | None:
    """One line for a write that failed because the disk is full or read-only, naming the folder, its free
    space and what to do; None for any other error.

    Example:
        >>> write_failure_message(OSError(errno.EROFS, "Read-only file system", "/proc/x"))
        'cannot write /proc/x: /proc is on a read-only file system; choose an output folder you can write (e.g. --set run.output_dir=... or --out)'
        >>> write_failure_message(KeyError("a bug")) is None
        True
    """
    # OSError by its errno; other writers' errors (safetensors', the tokenizers library's plain Exception) by the
    # operating system's message they carry; torch.save's by its own words
    text, code = str(error), error.errno if isinstance(error, OSError) else None
    read_only = code == errno.EROFS or (code is None and any(marker in text for marker in _READ_ONLY_TEXTS))
    no_space = code in (errno.ENOSPC, errno.EDQUOT) or (code is None and (
        any(marker in text for marker in _NO_SPACE_TEXTS)
        or (isinstance(error, RuntimeError) and any(marker in text for marker in _TORCH_WRITE_TEXTS))))
    if not (read_only or no_space):
        return None
    path = _written_path(error)
    folder = path if path is not None else Path.cwd()
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    what = f"cannot write {path}" if path is not None else "a write failed"
    if read_only:
        return (f"{what}: {folder} is on a read-only file system; choose an output folder you can write "
                "(e.g. --set run.output_dir=... or --out)")
    free = shutil.disk_usage(folder)
    return (f"{what}: no space left on the disk of {folder} ({free.free / 1e6:.1f} MB free of {free.total / 1e6:.1f} MB). "
            "Free some space there or choose an output folder on a disk with room; a training run continues from its "
            "last complete checkpoint with --resume RUN_DIR")


class StageProcessFailed(Exception):
    """A stage run in a process of its own failed; that process has already said why (its `error:` line or
    its traceback), so the entry point only passes its exit status on.

    Example:
        >>> StageProcessFailed("training", -9).exit_status
        137
    """

    def __init__(self, stage: str, returncode: int) -> None:
        self.stage, self.returncode = stage, returncode
        self.exit_status = returncode if returncode > 0 else 128 - returncode
        super().__init__(f"the {stage} process exited with status {returncode}" if returncode > 0 else
                         f"the {stage} process was killed by signal {-returncode}"
                         + (" (out of host memory?)" if returncode == -9 else ""))


def user_error_types() -> tuple[type[BaseException], ...]:
    """The user-fixable error classes of the modules imported so far.

    Example:
        >>> import grpo_training.run.resume
        >>> grpo_training.run.resume.ResumeError in user_error_types()
        True
    """
    found = []
    for module_name, class_names in USER_ERRORS.items():
        module = sys.modules.get(module_name)
        if module is not None:
            found += [getattr(module, name) for name in class_names if hasattr(module, name)]
    return tuple(found)


def exits_cleanly(entry: Entry) -> Entry:
    """Wrap an entry point: user-fixable errors print `error: <message>` to stderr and return 2.

    Example:
        >>> @exits_cleanly
        ... def main():
        ...     raise KeyError("a bug")  # not the user's to fix: the traceback stays
        >>> main()
        Traceback (most recent call last):
        ...
        KeyError: 'a bug'
    """

    @functools.wraps(entry)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        try:
            return entry(*args, **kwargs)
        except StageProcessFailed as failed:
            if failed.returncode != EXIT_STATUS:  # its own `error:` line is already above
                print(f"error: {failed}; its messages are above", file=sys.stderr)
            return failed.exit_status
        except Exception as error:
            if isinstance(error, user_error_types()):
                print(f"error: {error}", file=sys.stderr)
                return EXIT_STATUS
            disk = write_failure_message(error)
            if disk is None:
                raise
            print(f"error: {disk}", file=sys.stderr)
            return EXIT_STATUS

    return wrapper  # type: ignore[return-value]
