"""Run folders: reserving one atomically, so that two launches never share one (`make_run_dir`, and
`make_shared_run_dir` under `accelerate launch`), and locking it while a process trains in it.

Checking that a folder is absent and then creating it leaves a gap in which a second launch (the
same recipe started twice in the same second, or two `accelerate launch` jobs) makes the same
check and gets the same folder. `reserve_run_folder` closes the gap: the folder is created with
`os.mkdir`, which fails when the name is taken, and a taken name is retried with a suffix. An
existing folder, even an empty one, is never reused, since it may have been reserved a moment ago.

A process that trains in a folder holds an OS lock on `<run>/.grpo-run.lock` (`lock_run_folder`: `fcntl.flock`)
until its run ends, so a `--resume` of a run that is still training is refused, naming the process (pid, host).
The operating system releases the lock when the process ends however it ends (a crash, SIGKILL), so there is
no stale lock to remove by hand; the file itself only says who holds it.

Example:
    >>> import tempfile
    >>> parent = Path(tempfile.mkdtemp())
    >>> reserve_run_folder(parent, "demo", stamp="20260101-120000").name
    'demo'
    >>> reserve_run_folder(parent, "demo", stamp="20260101-120000").name
    'demo-20260101-120000'
    >>> reserve_run_folder(parent, "demo", stamp="20260101-120000").name
    'demo-20260101-120000-2'
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from grpo_training import distributed
from grpo_training.recipe.checks import check_run_name
from grpo_training.run.resume import ResumeError

try:
    import fcntl
except ImportError:  # Windows: no flock; folders are not locked there
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from grpo_training.recipe import Recipe

logger = logging.getLogger("grpo_training.run")  # the run's logger: its folder warning belongs to the run's log

MAX_ATTEMPTS = 1000
LOCK_FILE = ".grpo-run.lock"
_held_locks: dict[str, int] = {}  # resolved run folder -> descriptor of its locked file, while this process trains there
_held_locks_guard = threading.Lock()


class RunFolderInUseError(ResumeError):
    """Another live process holds the run folder's lock: it is training there."""


def lock_run_folder(run_dir: str | Path) -> Path:
    """Lock `run_dir` for this process (until `release_run_folder` or the process's end), or refuse naming the
    process that holds it. Locking a folder this process already holds does nothing.

    Raises:
        RunFolderInUseError: another process holds the lock (a `ResumeError`: one `error:` line).

    Example:
        >>> import tempfile
        >>> folder = lock_run_folder(tempfile.mkdtemp())
        >>> sorted(json.loads((folder / LOCK_FILE).read_text())) == ["host", "pid", "since"]
        True
        >>> release_run_folder(folder)
    """
    run_dir = Path(run_dir)
    key = str(run_dir.resolve())
    with _held_locks_guard:
        if fcntl is None or key in _held_locks:
            return run_dir
        descriptor = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _lock_holder(descriptor)
            os.close(descriptor)
            raise RunFolderInUseError(f"run folder {run_dir} is in use: {holder} is training in it; wait for that run "
                                      f"to end (or stop it), then continue it with --resume {run_dir}") from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                         "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
        _held_locks[key] = descriptor
    return run_dir


def release_run_folder(run_dir: str | Path) -> None:
    """Release this process's lock on `run_dir` (nothing when it holds none); the lock file stays."""
    with _held_locks_guard:
        descriptor = _held_locks.pop(str(Path(run_dir).resolve()), None)
    if descriptor is not None:
        os.close(descriptor)  # closing the descriptor releases the flock


def _lock_holder(descriptor: int) -> str:
    """`process <pid> on <host> (since <time>)`, as the holder wrote it in the lock file."""
    try:
        holder = json.loads(os.pread(descriptor, 4096, 0).decode("utf-8"))
        return f"process {holder['pid']} on {holder['host']} (since {holder['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (it has not yet written its pid)"


def timestamp() -> str:
    """The local time as `YYYYmmdd-HHMMSS`, the suffix of default and fallback run names.

    Example:
        >>> len(timestamp())
        15
    """
    return time.strftime("%Y%m%d-%H%M%S")


def candidate_names(name: str, stamp: str) -> list[str]:
    """The names tried for a run called `name`, in order: itself, then with the timestamp, then numbered.

    Example:
        >>> candidate_names("demo", "20260101-120000")[:3]
        ['demo', 'demo-20260101-120000', 'demo-20260101-120000-2']
    """
    return [name, f"{name}-{stamp}"] + [f"{name}-{stamp}-{number}" for number in range(2, MAX_ATTEMPTS)]


def reserve_run_folder(parent: str | Path, name: str, *, stamp: str | None = None) -> Path:
    """Create and return a new, empty folder for a run under `parent`: `name` if free, else a suffixed name.

    Creation is the reservation (`os.mkdir` without `exist_ok`), so concurrent callers always get
    different folders.

    Args:
        parent: the runs folder (created if missing).
        name: the wanted run name.
        stamp: the timestamp used in fallback names (default: now).

    Raises:
        FileExistsError: every candidate name is taken (after `MAX_ATTEMPTS` tries).

    Example:
        >>> import tempfile
        >>> reserve_run_folder(tempfile.mkdtemp(), "run").name
        'run'
    """
    check_run_name(name)  # one folder name: the run stays inside `parent`
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    for candidate in candidate_names(name, stamp or timestamp()):
        try:
            os.mkdir(parent / candidate)
        except FileExistsError:
            continue
        return parent / candidate
    raise FileExistsError(f"{parent}: every folder name from {name!r} to {candidate!r} is taken; choose another run.name")


def make_run_dir(recipe: Recipe, resume_from: str | Path | None = None) -> Path:
    """The run folder, locked for this process (`lock_run_folder`): `resume_from` when resuming, else a new folder
    `<output_dir>/<name or recipe-timestamp>`.

    The folder is reserved atomically (`reserve_run_folder`): a name that is
    already taken, even by a launch a moment ago, gets a timestamp suffix (then a number), so no run is
    ever written over or shared. `recipe.run.name` is set to the folder's name.

    Raises:
        RunFolderInUseError: resuming a run that a live process is still training.
    """
    if resume_from is not None:
        run_dir = Path(resume_from)
        if not run_dir.is_dir():
            raise ResumeError(f"--resume {run_dir}: no such run folder")
        return lock_run_folder(run_dir)
    stamp = timestamp()
    name = recipe.run.name
    if not name:
        stem = Path(recipe.source_path).stem if recipe.source_path else "run"
        name = f"{stem}-{stamp}"
    run_dir = lock_run_folder(reserve_run_folder(recipe.run.output_dir, name, stamp=stamp))
    if run_dir.name != name:
        taken = Path(recipe.run.output_dir) / name
        logger.warning("Run folder %s is already taken (continue a run there with --resume %s); this run writes to %s",
                       taken, taken, run_dir)
    recipe.run.name = run_dir.name
    return run_dir


def make_shared_run_dir(recipe: Recipe, resume_from: str | Path | None = None) -> Path:
    """`make_run_dir` on the main process; every other process gets the same folder and `run.name`.

    (The default name carries a timestamp, and the no-overwrite rule may add one, so processes must
    not each decide.) A plain run calls `make_run_dir` directly.
    """
    if not distributed.is_distributed():
        return make_run_dir(recipe, resume_from)
    decided: tuple[str, str, str] | None = None
    if distributed.is_main_process():
        try:
            run_dir = make_run_dir(recipe, resume_from)
            decided = ("ok", str(run_dir), recipe.run.name or run_dir.name)
        except Exception as error:  # the other processes must hear of it instead of waiting for a folder
            decided = ("error", f"{type(error).__name__}: {error}", "")
            distributed.broadcast_from_main(decided)
            raise
    status, value, name = distributed.broadcast_from_main(decided)
    if status != "ok":
        raise RuntimeError(f"the main process could not make the run folder ({value})")
    recipe.run.name = name
    return Path(value)
