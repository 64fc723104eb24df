"""Error hierarchy. Every error raised for bad input names the value, the rule it broke and the fix."""

from __future__ import annotations

from collections.abc import Iterable


class HarnessError(Exception):
    """Base class of every error the harness raises on purpose."""

    exit_code = 1


class UsageError(HarnessError):
    """Bad input from the user: a value outside its valid set, a path that cannot be used.

    The message always carries three parts: the value given, the rule it broke, and how to fix it.
    The command line turns it into exit code 2.
    """

    exit_code = 2

    def __init__(self, what: str, value: object, rule: str, fix: str) -> None:
        self.what = what
        self.value = value
        self.rule = rule
        self.fix = fix
        super().__init__(f"{what} {value!r} is not valid: {rule}. Fix: {fix}")


class UnknownChoiceError(UsageError):
    """A name (model, backend, profile, strategy, stream mode) that is not one of the known names."""

    def __init__(self, what: str, value: object, valid: Iterable[str], fix: str | None = None) -> None:
        self.valid = sorted(valid)
        super().__init__(
            what,
            value,
            f"expected one of {self.valid}",
            fix or f"pass one of {self.valid}",
        )


class BuildConfigError(UsageError):
    """A build configuration that cannot be built: rejected before any build starts."""


class ResultsError(HarnessError):
    """A results file that cannot be read: missing, unreadable, or not a harness results file."""

    exit_code = 2


class SchemaVersionError(ResultsError):
    """A results file written under a schema version this harness does not know."""

    def __init__(self, path: str, found: object, supported: Iterable[int]) -> None:
        self.found = found
        self.supported = sorted(supported)
        super().__init__(
            f"results file {path!r} has schema version {found!r}: this harness reads versions "
            f"{self.supported}. Fix: read it with the harness release that wrote it, or re-run the job "
            f"with this one"
        )


class CapabilityMissing(HarnessError):
    """A component the requested cell needs is not on this machine; carries the probe's precise reason."""

    def __init__(self, component: str, reason: str) -> None:
        self.component = component
        self.reason = reason
        super().__init__(f"{component}: {reason}")


class CaptureRefused(HarnessError):
    """An adapter refused to capture a CUDA graph around an engine whose execution context says it is not
    stream-capturable (TensorRT-RTX ``is_stream_capturable`` False: lazy kernels with dynamic shapes)."""



class CorruptResultsError(ResultsError):
    """A results file with a damaged line that is not a torn last line: reported, never skipped silently."""

    def __init__(self, path: str, line: int, why: str) -> None:
        self.line = line
        super().__init__(
            f"results file {path!r} is corrupt at line {line}: {why}. Only the last line of a file can be torn "
            "by an interrupted writer. Fix: restore the file from a copy, or pass --salvage to render what "
            "is readable (damaged lines are listed in the report)"
        )
