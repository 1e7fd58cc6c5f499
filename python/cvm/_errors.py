"""The package's exceptions. Every failure of a model or an input is a
:class:`ModelError` (code 1, the reference's "logic" class); a failure of the
runtime itself is a :class:`RuntimeFailure` (code 2)."""


class Error(Exception):
    """A failure reported by cvm. ``code`` is the C API's class: 1 for an
    invalid model or input, 2 for a failure of the runtime itself."""

    code = 0

    def __init__(self, message="", code=None):
        super().__init__(message)
        if code is not None:
            self.code = code


class ModelError(Error, ValueError):
    """The model or the input is invalid (code 1)."""

    code = 1


class RuntimeFailure(Error, RuntimeError):
    """The runtime failed (code 2): as in the reference, also malformed JSON,
    unknown operators and malformed operator attributes."""

    code = 2


def error_for(code, message):
    """The exception class instance for a C API return code."""
    if code == 1:
        return ModelError(message)
    return RuntimeFailure(message, code)
