"""Errors raised by grpo_export. Each says what failed, where, and what to do."""

from __future__ import annotations


class ExportError(RuntimeError):
    """An export could not be written (bad input, missing tool, failed subprocess)."""


class ExportVerificationError(ExportError):
    """An artefact was written but reloading it did not reproduce the source model.

    The export that raised it has not replaced anything under the final name.
    """


class InsufficientDiskSpaceError(ExportError):
    """The target file system has less free space than the export needs."""


class HubPushError(ExportError):
    """A Hub push was refused (e.g. the repo already holds files) or failed."""
