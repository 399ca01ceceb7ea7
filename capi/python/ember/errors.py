"""ember.Error and one subclass per status code of the C API.

Every error carries `status` (the negative EMBER_ERR_* code) and `message` (what
ember_last_error() said, naming the file, field or value that was wrong). Where a builtin
exception means the same thing, the subclass derives from it too, so `except ValueError` or
`except FileNotFoundError` also catch ember's.
"""
from . import _lib


class Error(Exception):
    """Base class of every error ember reports."""

    status = None

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self):
        return self.message


class InvalidArgumentError(Error, ValueError):
    status = _lib.ERR_INVALID_ARGUMENT


class FileMissingError(Error, FileNotFoundError):
    status = _lib.ERR_FILE_NOT_FOUND


class BadFileError(Error):
    status = _lib.ERR_BAD_FILE


class UnsupportedError(Error):
    status = _lib.ERR_UNSUPPORTED


class OutOfMemoryError(Error, MemoryError):
    status = _lib.ERR_OUT_OF_MEMORY


class ContextFullError(Error):
    status = _lib.ERR_CONTEXT_FULL


class CancelledError(Error):
    status = _lib.ERR_CANCELLED


class IOFailureError(Error, OSError):
    status = _lib.ERR_IO


class InternalError(Error):
    status = _lib.ERR_INTERNAL


class BufferTooSmallError(Error):
    status = _lib.ERR_BUFFER_TOO_SMALL


class KeyNotFoundError(Error, KeyError):
    status = _lib.ERR_NOT_FOUND


class TemplateError(Error):
    """A chat template failed: a syntax error, raise_exception(), a type error or a limit."""
    status = _lib.ERR_TEMPLATE


_BY_STATUS = {cls.status: cls for cls in (
    InvalidArgumentError, FileMissingError, BadFileError, UnsupportedError, OutOfMemoryError, ContextFullError,
    CancelledError, IOFailureError, InternalError, BufferTooSmallError, KeyNotFoundError, TemplateError)}


def error_for(status, message):
    cls = _BY_STATUS.get(status, Error)
    return cls(message, status)


def check(status):
    """Raises the Error subclass of a failed call with the thread's last error message."""
    if status != _lib.OK:
        message = _lib.lib().ember_last_error().decode("utf-8", "replace")
        raise error_for(status, message)
