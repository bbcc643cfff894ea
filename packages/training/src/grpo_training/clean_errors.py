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

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

EXIT_STATUS = 2
# module -> names of its error classes that a user can act on
USER_ERRORS: dict[str, tuple[str, ...]] = {
    "grpo_training.recipe.sections": ("RecipeError",),
    "grpo_training.run.resume": ("ResumeError",),
    "grpo_training.model.backends": ("BackendError",),
    "grpo_training.run.lora": ("LoraNotTrainedError",),
    "grpo_training.evaluation.loading": ("AdapterMismatchError",),
    "grpo_data.errors": ("DataFormatError", "DataSourceError"),
    "grpo_export.errors": ("ExportError",),  # by name only: training never imports the export package
}

Entry = TypeVar("Entry", bound=Callable[..., int])

WRITE_FAILURE_ADVICE = ("the output folder is run.output_dir (--set run.output_dir=... or --out); a training run "
                        "continues from its last complete checkpoint with --resume RUN_DIR")
"""What `write_failure_message` adds for a training entry point's user."""


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
            from grpo_data.atomic_files import write_failure_message  # only now: grpo_data imports datasets

            disk = write_failure_message(error, WRITE_FAILURE_ADVICE)
            if disk is None:
                raise
            print(f"error: {disk}", file=sys.stderr)
            return EXIT_STATUS

    return wrapper  # type: ignore[return-value]
