"""The training package's one way to write a file atomically: into a temporary file beside the target, then
`os.replace` over it, so a reader (or a resumed run) sees the old file or the new one, never half of one; and
`umask_modes`, which gives a staged folder the modes the umask asks for before it is renamed into place.

The temporary file is opened as a plain `open` would, so the final file gets the mode the umask asks for
(a `tempfile.mkstemp` / `NamedTemporaryFile` file is private, 0o600, and would keep that mode).

Example:
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "notes.txt"
    >>> write_atomically(target, "one\\n").read_text()
    'one\\n'
    >>> [path.name for path in target.parent.iterdir()]
    ['notes.txt']
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomically(target: str | Path, content: str | bytes | Callable[[Path], Any]) -> Path:
    """Write `content` to `target` through a temporary file beside it, then rename that over `target`.

    Args:
        target: the file to write (its folder must exist).
        content: text (written as UTF-8), bytes, or a function that writes the file at the path it is given
            (e.g. `figure.savefig`; the path does not end in the target's suffix, so name the format).

    Returns:
        `target` as a `Path`. On any failure the temporary file is removed and `target` is left as it was.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "data.bin"
        >>> write_atomically(target, lambda path: path.write_bytes(b"\\x00\\x01")).read_bytes()
        b'\\x00\\x01'
        >>> mask = os.umask(0o022); _ = os.umask(mask)
        >>> oct(target.stat().st_mode & 0o777) == oct(0o666 & ~mask)
        True
    """
    target = Path(target)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")  # made by the writer: the umask's mode
    try:
        if isinstance(content, str):
            temporary.write_text(content, encoding="utf-8")
        elif isinstance(content, bytes):
            temporary.write_bytes(content)
        else:
            content(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


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
