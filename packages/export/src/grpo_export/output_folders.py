"""Export folders: build in a temp folder beside the target, rename into place only on success.

An interrupted or failed export therefore never replaces a good artefact and never leaves a
half-written folder under the final name. An export replaces only what an export of the same kind
wrote: the target must be absent, empty, or hold the marker file (`.grpo-export.json`) that every
export writes, or (for folders from before the marker) nothing but the files such an export writes.
Anything else is refused, so a run folder, a home folder or `.` is never emptied.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

from grpo_export.atomic_files import umask_modes
from grpo_export.errors import ExportError, InsufficientDiskSpaceError

logger = logging.getLogger(__name__)

DISK_SPACE_MARGIN = 1.10  # 10% above the estimate: metadata, tokenizer files, rounding
MARKER_NAME = ".grpo-export.json"
"""The file each export writes into its folder, naming the kind of export (lora, merged, gguf)."""

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json",
                    "chat_template.jinja", "added_tokens.json", "vocab.json", "merges.txt", "README.md")
EXPORT_FILE_PATTERNS: dict[str, tuple[str, ...]] = {
    "lora": ("adapter_model.safetensors", "adapter_model.bin", "adapter_config.json", *_TOKENIZER_FILES),
    "merged": ("config.json", "generation_config.json", "model*.safetensors", "model.safetensors.index.json",
               "pytorch_model*.bin", *_TOKENIZER_FILES),
    "gguf": ("*.gguf", "Modelfile"),
}
"""What each kind of export writes: a folder without the marker that holds only such files is taken to be
an export of that kind written before the marker existed."""
_SCRATCH_PREFIXES = (".partial-", ".old-", ".work-")


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


def plain_name(name: str, what: str) -> str:
    """`name`, when it names something inside one folder: not empty, not `.` or `..`, no path separator and no NUL.
    Else `ExportError` naming `what` (e.g. "model_name (CLI: --model-name)"), so no name becomes a path
    outside its folder.

    Example:
        >>> plain_name("phi4-gsm8k", "model_name")
        'phi4-gsm8k'
        >>> plain_name("../escaped", "model_name")
        Traceback (most recent call last):
        ...
        grpo_export.errors.ExportError: model_name '../escaped' names a path, not a file name: use a plain name without a path separator or '..' (e.g. 'my-model'); it names files inside the output folder
    """
    separators = {"/", "\\", os.sep, os.altsep or "/"}
    if not name or name in (".", "..") or "\0" in name or any(sep in name for sep in separators):
        raise ExportError(f"{what} {name!r} names a path, not a file name: use a plain name without a path separator "
                          "or '..' (e.g. 'my-model'); it names files inside the output folder")
    return name


def export_kind_of(folder: Path) -> str | None:
    """The kind of export `folder` holds (from its marker file, else from its file names), or None when it
    holds anything an export does not write.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "model.Q8_0.gguf").write_bytes(b"GGUF")
        >>> export_kind_of(folder)
        'gguf'
        >>> _ = (folder / "notes.txt").write_text("mine")
        >>> export_kind_of(folder) is None
        True
    """
    marker = folder / MARKER_NAME
    if marker.is_file():
        try:
            return json.loads(marker.read_text(encoding="utf-8")).get("kind")
        except (OSError, json.JSONDecodeError, AttributeError):
            return None
    entries = list(folder.iterdir())
    if not entries or any(not entry.is_file() for entry in entries):
        return None
    for kind, patterns in EXPORT_FILE_PATTERNS.items():
        if all(any(fnmatch.fnmatch(entry.name, pattern) for pattern in patterns) for entry in entries):
            return kind
    return None


def check_replaceable(target: Path, kind: str) -> None:
    """Raise `ExportError` unless an export of `kind` may write `target`: absent, an empty folder, or a
    previous export of the same kind.

    Example:
        >>> import tempfile
        >>> check_replaceable(Path(tempfile.mkdtemp()) / "new", "lora")
    """
    if not target.exists():
        return
    if not target.is_dir():
        raise ExportError(f"{target} exists and is not a folder; choose another output folder.")
    if Path.cwd().resolve().is_relative_to(target.resolve()):
        raise ExportError(f"{target} is the current folder (or holds it); export into a new sub-folder instead.")
    if not any(target.iterdir()):
        return
    found = export_kind_of(target)
    if found != kind:
        what = f"a {found} export" if found else "files that no export of this toolkit wrote"
        raise ExportError(
            f"{target} holds {what}, so a {kind} export will not replace it (nothing was deleted). "
            f"Choose a new or empty output folder, or delete {target} yourself if you no longer need it."
        )


def write_marker(folder: Path, **facts) -> None:
    """Add `facts` (e.g. the checks' figures) to `folder`'s marker file, which the export's own writer
    completes with its kind. The marker is hidden: a push does not upload it.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_marker(folder, checks={"top1": 1.0}); write_marker(folder, kind="merged")
        >>> sorted(json.loads((folder / MARKER_NAME).read_text()))
        ['checks', 'kind']
    """
    marker = Path(folder) / MARKER_NAME
    current = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else {}
    current.update(facts)
    marker.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")


def _remove_stale_scratch(target: Path) -> None:
    """Delete scratch folders an earlier export of `target` left behind when it was killed (called under the
    target's lock, so no live export owns them)."""
    for entry in target.parent.glob(f".{target.name}.*"):
        if entry.is_dir() and any(entry.name.startswith(f".{target.name}{p}") for p in _SCRATCH_PREFIXES):
            logger.info("Removing %s, left by an earlier interrupted export", entry)
            shutil.rmtree(entry, ignore_errors=True)


def scratch_dir(target: Path, purpose: str = "work", where: Path | None = None) -> tempfile.TemporaryDirectory:
    """A temporary folder for intermediate files, beside `target` or in `where` (removed on exit; a killed
    export's beside `target` is removed by the next export of `target`). It stays private (0o700): nothing in it
    is renamed into place, so it may be on another file system.

    Example:
        >>> import tempfile
        >>> with scratch_dir(Path(tempfile.mkdtemp()) / "gguf") as work:
        ...     Path(work).name.startswith(".gguf.work-")
        True
    """
    return tempfile.TemporaryDirectory(prefix=f".{target.name}.{purpose}-", dir=where or target.parent)


@contextmanager
def staged_output_dir(target: Path | str, *, kind: str, overwrite: bool = True) -> Iterator[Path]:
    """Yield an empty temp folder beside `target`; on normal exit it replaces `target` atomically.

    If the block raises (a failed verification, Ctrl-C, ...) the temp folder is removed and `target`
    is left exactly as it was. `target` must be absent, empty, or an earlier export of the same `kind`
    (see `check_replaceable`); with `overwrite=False` any existing `target` is refused. A lock beside
    `target` serialises exports into it, and scratch folders of earlier killed exports are removed.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> with staged_output_dir(root / "model", kind="merged") as tmp:
        ...     _ = (tmp / "config.json").write_text("{}")
        >>> (root / "model" / "config.json").read_text()
        '{}'
    """
    target = Path(target).absolute()
    if target.exists() and not overwrite:
        raise ExportError(f"{target} already exists and overwrite=False (CLI: --no-overwrite) was given; "
                          "choose another output folder, or drop --no-overwrite to replace an earlier export.")
    check_replaceable(target, kind)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f".{target.name}.lock"
    try:
        with FileLock(str(lock_path)):
            _remove_stale_scratch(target)
            check_replaceable(target, kind)  # again: another export may have written it while we waited
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
            try:
                yield staging
                write_marker(staging, kind=kind, writer="grpo_export")
                umask_modes(staging)  # mkdtemp (0o700) and safetensors (0o600) ignore the umask
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            _swap_into_place(staging, target)
    finally:
        try:
            lock_path.unlink(missing_ok=True)  # a waiting export then locks a new file; each writes a whole export
        except OSError:
            pass  # a folder where the lock could not be made (read-only): the error that stopped the export counts
    logger.info("Wrote %s", target)


def _swap_into_place(staging: Path, target: Path) -> None:
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
