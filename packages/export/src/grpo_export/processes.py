"""Child processes that end with the process that started them.

The training package's `grpo_training.processes` has the same names and contract (the two packages import
nothing of each other).

A scheduler's SIGTERM, `docker stop` or Ctrl-C reaches only the process it is sent to; an export's tools
and llama.cpp's build (cmake, make, the compilers) would otherwise run on, orphaned, writing gigabytes or
holding the CPU. So every child of the export:

- gets `PR_SET_PDEATHSIG` (Linux): the death of its parent, by any signal, SIGKILL included, signals it;
- when started with `run_in_own_group`, runs in a process group of its own, and a SIGTERM or SIGINT the
  parent receives meanwhile is passed to that whole group (SIGKILL after a grace period), then the parent
  exits with it (SIGINT: `KeyboardInterrupt`; SIGTERM: `SystemExit(143)`, so `finally` blocks run);
- with `guard=True` (a tool that starts processes of its own, like `cmake --build`) the group is led by a
  shell that kills the whole group as soon as it is signalled, so even a SIGKILLed parent takes the
  compilers with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

PR_SET_PDEATHSIG = 1
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT)
GRACE_SECONDS = 30.0
"""How long a child group has to end after a forwarded signal before it is SIGKILLed."""
GROUP_GUARD = 'trap "kill -KILL 0" TERM INT HUP; "$@" & wait $!'
"""A POSIX shell script leading a process group: runs its arguments and, signalled, kills the whole group."""


def _set_death_signal(death_signal: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(death_signal))


def end_with_parent() -> None:
    """`preexec_fn` for a tool's subprocess: on Linux the child is SIGKILLed when the exporting process dies
    (a killed export must not leave a converter writing gigabytes); elsewhere nothing.

    Example:
        >>> subprocess.run(["true"], preexec_fn=end_with_parent).returncode
        0
    """
    _set_death_signal(signal.SIGKILL)


def die_with_parent(death_signal: int = signal.SIGKILL) -> Callable[[], None]:
    """A `preexec_fn` giving the child `death_signal` when the process that starts it dies (Linux; elsewhere
    nothing). A parent that died before the child was set up is caught too.

    Example:
        >>> subprocess.run(["true"], preexec_fn=die_with_parent(signal.SIGTERM)).returncode
        0
    """
    parent = os.getpid()

    def set_up() -> None:
        _set_death_signal(death_signal)
        if os.getppid() != parent:  # the parent died between fork and prctl
            os.kill(os.getpid(), death_signal)

    return set_up


def _signal_group(group: int, number: int) -> None:
    try:
        os.killpg(group, number)
    except (ProcessLookupError, PermissionError):
        pass


def run_in_own_group(command: Sequence[str], *, guard: bool = False, death_signal: int = signal.SIGTERM,
                     grace_s: float = GRACE_SECONDS, **popen_kwargs) -> subprocess.CompletedProcess:
    """`subprocess.run(command, **popen_kwargs)` with the child in a process group of its own that ends with
    this process (see the module's docstring). `guard=True` for a tool that starts processes of its own.

    Example:
        >>> run_in_own_group(["echo", "hi"], stdout=subprocess.PIPE, text=True).stdout
        'hi\\n'
    """
    if guard and os.name == "posix":
        command = ["sh", "-c", GROUP_GUARD, "grpo-group-guard", *command]
    received: list[int] = []  # the signals this process got while the child ran
    since: list[float] = []
    started: list[subprocess.Popen] = []

    def forward(number: int, _frame) -> None:
        received.append(number)
        since.append(time.monotonic())
        if started:
            _signal_group(started[0].pid, number)

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {number: signal.signal(number, forward) for number in FORWARDED_SIGNALS} if in_main_thread else {}
    try:
        process = subprocess.Popen(command, process_group=0, preexec_fn=die_with_parent(death_signal),
                                   **popen_kwargs)
        started.append(process)
        if received:
            _signal_group(process.pid, received[0])
        stdout = stderr = None
        while True:
            try:
                stdout, stderr = process.communicate(timeout=0.5 if received else None)
                break
            except subprocess.TimeoutExpired:
                if received and time.monotonic() - since[0] > grace_s:
                    _signal_group(process.pid, signal.SIGKILL)
        if received:
            _signal_group(process.pid, signal.SIGKILL)  # whatever of the group outlived its leader
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if received:
        if received[0] == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + received[0])
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)

