"""Memory sizes as a recipe or the command line writes them: "24GB", "22.5GiB", "16000MiB", or a number of GiB.

GPU makers sell cards by binary gigabytes (a "24 GB" RTX 4090 holds 24 GiB), so "GB" and "GiB" both mean 2**30
bytes here, and "MB" / "MiB" 2**20.

Example:
    >>> parse_memory_size("24GB") == 24 * 2**30
    True
    >>> parse_memory_size(16) == 16 * 2**30
    True
    >>> format_gib(24 * 2**30)
    '24.0 GiB'
"""

from __future__ import annotations

import re

GIB = 2**30
_UNITS = {"": GIB, "g": GIB, "gb": GIB, "gib": GIB, "m": 2**20, "mb": 2**20, "mib": 2**20}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_memory_size(value: str | float | int) -> int:
    """Bytes of a size such as "24GB", "22.5 GiB", "16000MiB" or 24 (GiB); ValueError when it is not one.

    Example:
        >>> parse_memory_size("lots")
        Traceback (most recent call last):
        ...
        ValueError: 'lots' is not a memory size; write e.g. 24GB, 22.5GiB or 16000MiB
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a memory size; write e.g. 24GB, 22.5GiB or 16000MiB")
    if isinstance(value, (int, float)):
        number, unit = float(value), ""
    else:
        match = _SIZE.match(str(value))
        if not match or match.group(2).lower() not in _UNITS:
            raise ValueError(f"{value!r} is not a memory size; write e.g. 24GB, 22.5GiB or 16000MiB")
        number, unit = float(match.group(1)), match.group(2).lower()
    if number <= 0:
        raise ValueError(f"{value!r}: a memory size must be > 0")
    return int(number * _UNITS[unit])


def format_gib(size: float) -> str:
    """Bytes as GiB with one decimal."""
    return f"{size / GIB:.1f} GiB"
