"""Safe artefact writes: build in a temp folder beside the target, rename into place only on success.

An interrupted or failed export therefore never replaces a good artefact and never leaves a
half-written folder under the final name (leftover `.<name>.partial-*` folders are just temp files).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grpo_export.errors import ExportError, InsufficientDiskSpaceError

logger = logging.getLogger(__name__)

DISK_SPACE_MARGIN = 1.10  # 10% above the estimate: metadata, tokenizer files, rounding


def ensure_free_space(folder: Path, required_bytes: int, what: str = "the export") -> None:
    """Raise `InsufficientDiskSpaceError` unless `folder`'s file system has `required_bytes` free
    (plus a 10% margin).

    Example:
        >>> ensure_free_space(Path("."), 1024)
    """
    probe = Path(folder)
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    needed = int(required_bytes * DISK_SPACE_MARGIN)
    if free < needed:
        raise InsufficientDiskSpaceError(
            f"{what} needs about {needed / 1e9:.2f} GB in {probe}, but only {free / 1e9:.2f} GB is free. "
            "Free some space or choose another output folder."
        )


@contextmanager
def staged_output_dir(target: Path | str, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield an empty temp folder beside `target`; on normal exit it replaces `target` atomically.

    If the block raises (a failed verification, Ctrl-C, ...) the temp folder is removed and `target`
    is left exactly as it was. With `overwrite=False` an existing `target` is an error up front.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> with staged_output_dir(root / "model") as tmp:
        ...     _ = (tmp / "weights.bin").write_text("ok")
        >>> (root / "model" / "weights.bin").read_text()
        'ok'
    """
    target = Path(target).absolute()
    if target.exists() and not overwrite:
        raise ExportError(f"{target} already exists; pass overwrite=True (CLI: --overwrite) to replace it.")
    if target.exists() and not target.is_dir():
        raise ExportError(f"{target} exists and is not a folder; choose another output path.")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = None
    if target.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        retired.rmdir()
        target.rename(retired)
    try:
        staging.rename(target)
    except BaseException:
        if retired is not None:
            retired.rename(target)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
    logger.info("Wrote %s", target)
