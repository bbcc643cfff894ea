"""The cmake options llama.cpp is built with keep a statically linked libstdc++ inside each shared library.

A g++ that links libstdc++ statically (as some self-built GCCs do) puts a copy in
every library of llama.cpp's build; exported, the copies' symbols interpose and the runtime crashes loading
a model (benchmarks/EXPORT.md). Built here through cmake with the toolkit's own options, a one-function
library must export no strong symbol but its own: everything the archive brought stays inside (weak template
instances compiled from the library's own source are not the archive's). Built without them it exports
hundreds of libstdc++'s, so the check can fail."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grpo_export.llama_cpp import CMAKE_OPTIONS

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or not (shutil.which("cmake") and shutil.which("g++") and shutil.which("nm")),
    reason="needs Linux with cmake, g++ and nm (as the llama.cpp build does)")

LIBRARY_SOURCE = """
#include <string>
#include <unordered_map>
int vocabulary_size(const char *text) {
    std::unordered_map<std::string, int> ids{{text, 1}};
    return static_cast<int>(ids.at(text) + std::string(text).size());
}
"""
CMAKE_LISTS = """
cmake_minimum_required(VERSION 3.14)
project(static_libstdcxx CXX)
add_library(vocab SHARED vocab.cpp)
target_link_options(vocab PRIVATE -static-libstdc++)
"""


def exported_strong_symbols(project: Path, options: list[str]) -> list[str]:
    project.mkdir(parents=True)
    (project / "vocab.cpp").write_text(LIBRARY_SOURCE)
    (project / "CMakeLists.txt").write_text(CMAKE_LISTS)
    build = project / "build"
    for command in (["cmake", "-S", str(project), "-B", str(build), *options], ["cmake", "--build", str(build)]):
        subprocess.run(command, check=True, capture_output=True, text=True)
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(build / "libvocab.so")],
                             check=True, capture_output=True, text=True).stdout
    return [line.split()[-1] for line in symbols.splitlines() if line.split()[-2] not in "WwVvu"]


def test_the_build_options_keep_a_static_libstdcxx_out_of_the_exported_symbols(tmp_path):
    options = [option for option in CMAKE_OPTIONS if "LINKER_FLAGS" in option]
    try:
        without = exported_strong_symbols(tmp_path / "plain", [])
    except subprocess.CalledProcessError as error:
        pytest.skip(f"this g++ cannot link libstdc++ statically: {error.stderr[-300:]}")
    assert len(without) > 100, f"without the option libstdc++'s own symbols should be exported: {without}"
    assert exported_strong_symbols(tmp_path / "toolkit", options) == ["_Z15vocabulary_sizePKc"]
