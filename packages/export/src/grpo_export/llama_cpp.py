"""llama.cpp's own conversion tools, taken from the `llama-cpp-python` sdist on the package registry.

The sdist vendors llama.cpp (`vendor/llama.cpp`): `convert_hf_to_gguf.py` with its `conversion/`
package and `gguf-py`, and the C++ sources of `llama-quantize`. We fetch it once with pip, unpack it
into a cache (`$GRPO_CACHE/llama.cpp-<version>/`, default `~/.cache/grpo-toolkit/...`) and build only
the `llama-quantize` target with cmake, once; later calls reuse both. Nothing is vendored in this repo.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from grpo_export.errors import ExportError
from grpo_export.processes import end_with_parent as end_with_parent  # noqa: F401 - llama_runtime's import
from grpo_export.processes import run_in_own_group

logger = logging.getLogger(__name__)

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
"""The pinned `llama-cpp-python` sdist whose vendored llama.cpp we use."""

_SKIPPED_SOURCE_DIRS = ("models", "docs", "media", "benches")  # vocab files and docs: not needed, ~110 MB
_SOURCE_MARKER = ".unpacked"
CACHE_LAYOUT = "shared"
"""Part of the cache folder's name: shared libraries + the Python bindings (an older layout had a static
quantizer only; both can live side by side, so older installs never unpack over this one)."""
BINDINGS_DIR = "python-bindings"
QUANTIZER_NAME = "llama-quantize.exe" if os.name == "nt" else "llama-quantize"
RUNTIME_LIBRARY = {"win32": "llama.dll", "darwin": "libllama.dylib"}.get(sys.platform, "libllama.so")

CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=OFF",  # a portable binary: CI caches may move between machines
    "-DBUILD_SHARED_LIBS=ON",  # libllama for the runtime check; the tools find it beside them
    "-DCMAKE_BUILD_RPATH=$ORIGIN",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_OPENSSL=OFF",
) + (
    # A toolchain whose g++ links libstdc++ statically (as some self-built GCCs do) puts a copy
    # in each of the four libraries; exported, calls interpose between the copies and llama.cpp crashes loading
    # any model. Kept to each library, the build runs (benchmarks/EXPORT.md). _INIT keeps the user's LDFLAGS.
    ("-DCMAKE_SHARED_LINKER_FLAGS_INIT=-Wl,--exclude-libs,ALL",) if sys.platform == "linux" else ()
)


def cache_root() -> Path:
    """The toolkit's cache folder: `$GRPO_CACHE`, else `~/.cache/grpo-toolkit`.

    Example:
        >>> isinstance(cache_root(), Path)
        True
    """
    return Path(os.environ.get("GRPO_CACHE") or Path.home() / ".cache" / "grpo-toolkit")


@dataclass(frozen=True)
class LlamaCppTools:
    """Paths of the llama.cpp tools in the cache.

    Example:
        >>> tools = LlamaCppTools(Path("/c/llama.cpp-0.3.36"))
        >>> tools.converter.name
        'convert_hf_to_gguf.py'
    """

    home: Path

    @property
    def source(self) -> Path:
        return self.home / "llama.cpp"

    @property
    def converter(self) -> Path:
        return self.source / "convert_hf_to_gguf.py"

    @property
    def quantizer(self) -> Path:
        return self.home / "bin" / QUANTIZER_NAME

    @property
    def runtime_library(self) -> Path:
        """llama.cpp's runtime (libllama), built beside the quantizer; loaded by the ctypes bindings."""
        return self.home / "bin" / RUNTIME_LIBRARY

    @property
    def bindings(self) -> Path:
        """The folder holding the `llama_cpp` ctypes bindings of the llama-cpp-python sdist."""
        return self.source / BINDINGS_DIR


def llama_cpp_home(cache_dir: Path | None = None, version: str = LLAMA_CPP_PYTHON_VERSION) -> Path:
    """Folder holding the unpacked llama.cpp and the built quantizer for one sdist version.

    Example:
        >>> llama_cpp_home(Path("/c")).as_posix()
        '/c/llama.cpp-0.3.36-shared'
    """
    return Path(cache_dir or cache_root()) / f"llama.cpp-{version}-{CACHE_LAYOUT}"


def _download_sdist(version: str, into: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
               "-q", "-d", str(into), f"llama-cpp-python=={version}"]
    logger.info("Fetching the llama-cpp-python %s sdist from the package registry (once)", version)
    result = run_in_own_group(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    archives = sorted(into.glob("llama_cpp_python-*.tar.gz"))
    if not archives:
        # `pip download` may fail after saving the archive (metadata step); the archive is all we need.
        raise ExportError(
            f"Could not download the llama-cpp-python {version} sdist with `{' '.join(command)}`:\n"
            f"{result.stderr.strip()[-2000:]}\nCheck access to the package registry, or unpack the sdist's "
            f"vendor/llama.cpp into {into.parent / 'llama.cpp'} yourself."
        )
    return archives[0]


def _unpack_llama_cpp(archive: Path, destination: Path) -> None:
    with tarfile.open(archive) as tar:
        prefix = None
        members = []
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if len(parts) >= 2 and parts[1] == "llama_cpp":  # the ctypes bindings, pure Python
                member.name = Path(BINDINGS_DIR, *parts[1:]).as_posix()
                members.append(member)
                continue
            if len(parts) < 3 or parts[1:3] != ("vendor", "llama.cpp"):
                continue
            prefix = Path(*parts[:3])
            relative = Path(*parts[3:]) if len(parts) > 3 else Path(".")
            if relative.parts and relative.parts[0] in _SKIPPED_SOURCE_DIRS:
                continue
            member.name = relative.as_posix()
            members.append(member)
        if prefix is None:
            raise ExportError(f"{archive} has no vendor/llama.cpp folder: not a llama-cpp-python sdist?")
        tar.extractall(destination, members=members, filter="data")


def ensure_llama_cpp_source(cache_dir: Path | None = None, version: str = LLAMA_CPP_PYTHON_VERSION) -> LlamaCppTools:
    """Return the llama.cpp tools for `version`, fetching and unpacking the sdist on first use.

    Safe under concurrency (a file lock) and interruption (unpacked into a temp folder, then renamed).

    Example:
        >>> tools = ensure_llama_cpp_source()  # doctest: +SKIP
        >>> tools.converter.is_file()  # doctest: +SKIP
        True
    """
    tools = LlamaCppTools(llama_cpp_home(cache_dir, version))
    if (tools.source / _SOURCE_MARKER).is_file():
        return tools
    tools.home.mkdir(parents=True, exist_ok=True)
    with FileLock(str(tools.home / ".source.lock")):
        if (tools.source / _SOURCE_MARKER).is_file():
            return tools
        with tempfile.TemporaryDirectory(dir=tools.home, prefix=".download-") as tmp:
            archive = _download_sdist(version, Path(tmp))
            unpacked = Path(tmp) / "llama.cpp"
            _unpack_llama_cpp(archive, unpacked)
            (unpacked / _SOURCE_MARKER).write_text(f"llama-cpp-python=={version}\n")
            if tools.source.exists():
                shutil.rmtree(tools.source)
            unpacked.rename(tools.source)
    return tools


def ensure_llama_cpp_tools(cache_dir: Path | None = None, version: str = LLAMA_CPP_PYTHON_VERSION,
                           jobs: int | None = None) -> LlamaCppTools:
    """Return llama.cpp's built tools (`llama-quantize` and the runtime library `libllama`), building them
    with cmake on first use (minutes on 2 cores; seconds on many).

    Only the `llama-quantize` and `llama` targets are built, as shared libraries beside the tool, under
    `nice`, with `jobs` parallel compile jobs (default: the machine's cores). They are cached beside the
    sources and reused by later calls and processes.

    Example:
        >>> ensure_llama_cpp_tools().quantizer.name  # doctest: +SKIP
        'llama-quantize'
    """
    tools = ensure_llama_cpp_source(cache_dir, version)
    if tools.quantizer.is_file() and tools.runtime_library.is_file():
        return tools
    if shutil.which("cmake") is None:
        raise ExportError(
            "Building llama.cpp's tools needs `cmake` and a C++ compiler on PATH (e.g. `apt-get install cmake "
            "g++` or `pip install cmake`): K-quants and the GGUF check (llama.cpp's own runtime) need them."
        )
    with FileLock(str(tools.home / ".build.lock")):
        if tools.quantizer.is_file() and tools.runtime_library.is_file():
            return tools
        build_dir = tools.home / "build"
        nice = ["nice", "-n", "10"] if shutil.which("nice") else []
        steps = [
            [*nice, "cmake", "-S", str(tools.source), "-B", str(build_dir), *CMAKE_OPTIONS],
            [*nice, "cmake", "--build", str(build_dir), "--target", "llama-quantize", "llama",
             "-j", str(jobs or os.cpu_count() or 2)],
        ]
        started = time.monotonic()
        log_path = tools.home / "build.log"
        with log_path.open("w") as log:
            for step in steps:
                logger.info("Building llama.cpp's tools: %s", " ".join(step))
                # guarded: make and the compilers end with the export, however it ends
                result = run_in_own_group(step, guard=True, stdout=log, stderr=subprocess.STDOUT)
                if result.returncode != 0:
                    raise ExportError(
                        f"Building llama.cpp's tools failed at `{' '.join(step)}` (exit {result.returncode}). "
                        f"Full log: {log_path}. Install cmake and a C++17 compiler, then retry."
                    )
        built = build_dir / "bin"
        if not (built / QUANTIZER_NAME).is_file() or not (built / RUNTIME_LIBRARY).is_file():
            raise ExportError(f"cmake finished but {built} lacks {QUANTIZER_NAME} or {RUNTIME_LIBRARY}; "
                              f"see {log_path}.")
        staged = tools.home / "bin.partial"
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(built, staged, symlinks=True)
        shutil.rmtree(tools.home / "bin", ignore_errors=True)
        staged.rename(tools.home / "bin")
        shutil.rmtree(build_dir, ignore_errors=True)
        logger.info("Built llama.cpp's tools in %.0f s -> %s", time.monotonic() - started, tools.home / "bin")
    return tools


def ensure_quantizer(cache_dir: Path | None = None, version: str = LLAMA_CPP_PYTHON_VERSION) -> Path:
    """Return the path of `llama-quantize` (built with the runtime by `ensure_llama_cpp_tools`).

    Example:
        >>> ensure_quantizer().name  # doctest: +SKIP
        'llama-quantize'
    """
    return ensure_llama_cpp_tools(cache_dir, version).quantizer
