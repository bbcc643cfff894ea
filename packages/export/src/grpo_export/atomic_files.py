"""Files written in the modes the umask asks for, and one line for a write that failed because the disk is full
or read-only.

The same names and contract as `grpo_data.atomic_files` (the export package depends on no package of ours);
there is no `write_atomically` here, since every file an export writes goes into a staged folder
(`grpo_export.output_folders`) that is renamed into place whole.

- `umask_modes` gives a staged folder, before it is renamed into place, the modes a plain `mkdir` / `open` would.
- `write_failure_message` turns a full or read-only disk (however the writer reports it) into one line naming the
  folder, its free space and what to do.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux: /proc/self/status;
    elsewhere it is set and restored at once).

    Example:
        >>> 0 <= current_umask() <= 0o777
        True
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def umask_modes(folder: str | Path) -> Path:
    """Give `folder`, and every folder and file in it, the mode a plain `mkdir` / `open` would have given
    them under the process's umask (0o777 / 0o666 less the umask; files executable by their owner keep
    the execute bits). Call it on a staging folder before renaming it into place: `tempfile.mkdtemp`
    makes the folder private (0o700), and safetensors >= 0.8 writes its files private (0o600) whatever the
    umask (safetensors/safetensors#782), so the final folder would keep those modes. Links are left alone.

    Example:
        >>> import tempfile
        >>> folder = umask_modes(tempfile.mkdtemp())
        >>> oct(folder.stat().st_mode & 0o777) == oct(0o777 & ~current_umask())
        True
    """
    folder = Path(folder)
    mask = current_umask()
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir() or path.stat().st_mode & 0o100:
            path.chmod(0o777 & ~mask)
        else:
            path.chmod(0o666 & ~mask)
    return folder


# How a full or read-only disk shows: OSError's errno, or the text of the writer's own error (safetensors'
# SafetensorError, torch.save's "[enforce fail ...] unexpected pos" / "file write failed").
_NO_SPACE_TEXTS = ("No space left on device", "os error 28", "Disk quota exceeded", "os error 122")
_TORCH_WRITE_TEXTS = ("unexpected pos", "file write failed")  # torch.save's, on a full disk
_READ_ONLY_TEXTS = ("Read-only file system", "os error 30")
_PATH_LOCALS = ("filename", "f", "name_or_buffer", "save_directory", "output_dir", "path", "file", "target")


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


def write_failure_message(error: BaseException, advice: str = "") -> str | None:
    """One line for a write that failed because the disk is full or read-only, naming the folder, its free
    space and what to do, then `advice` (what the caller's user can do besides); None for any other error.

    Example:
        >>> write_failure_message(OSError(errno.EROFS, "Read-only file system", "/proc/x"), "see --out")
        'cannot write /proc/x: /proc is on a read-only file system; choose an output folder you can write; see --out'
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
        message = f"{what}: {folder} is on a read-only file system; choose an output folder you can write"
    else:
        free = shutil.disk_usage(folder)
        message = (f"{what}: no space left on the disk of {folder} ({free.free / 1e6:.1f} MB free of "
                   f"{free.total / 1e6:.1f} MB). Free some space there or choose an output folder on a disk with room")
    return f"{message}; {advice}" if advice else message
