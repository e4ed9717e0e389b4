"""Turn an exception raised inside a step into the one sentence a user needs."""

from __future__ import annotations


def root_cause(error: BaseException) -> BaseException:
    """The innermost meaningful error: dlt wraps a resource's exception in PipelineStepFailed and
    extraction errors, whose messages bury the original one under pipeline internals."""
    seen: set[int] = set()
    current = error
    while id(current) not in seen:
        seen.add(id(current))
        inner = getattr(current, "exception", None) or current.__cause__
        if not isinstance(inner, BaseException):
            break
        current = inner
    return current


def describe_error(error: BaseException) -> str:
    cause = root_cause(error)
    message = str(cause).strip() or cause.__class__.__name__
    return message if cause is error else f"{message} ({cause.__class__.__name__})"


class UserError(Exception):
    """Something the user can put right (a bad option value, a busy state directory, an unreachable
    service): the CLI prints the message, which says what was wrong and what is valid, and exits with
    `exit_code` (2 unless said otherwise), without a traceback."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
