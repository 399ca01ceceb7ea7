"""ember: run GGUF language models on the CPU, from Python.

A thin layer over ember's C API (libember.so) with ctypes; no compiler is needed. The library
is found through $EMBER_LIBRARY, then a libember.so* inside this package's folder, then the
system's dynamic loader.

    import ember
    with ember.Model("stories260K.gguf") as model, ember.Context(model, n_ctx=512) as ctx:
        for piece in ctx.generate("Once upon a time", max_tokens=32, temperature=0):
            print(piece, end="", flush=True)
"""
from ._lib import ABI_VERSION, LibraryNotFoundError
from .core import (LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN, Context, GenerateResult, MemoryUsage, Model, ModelInfo,
                   Piece, Sampler, TensorInfo, TokenLogprob, apply_chat_template, quantize_file, set_log_handler, version)
from .errors import (BadFileError, BufferTooSmallError, CancelledError, ContextFullError, Error, FileMissingError,
                     InternalError, InvalidArgumentError, IOFailureError, KeyNotFoundError, OutOfMemoryError,
                     TemplateError, UnsupportedError)

__version__ = "0.1.0"

__all__ = [
    "ABI_VERSION", "LibraryNotFoundError", "Model", "Context", "Sampler", "ModelInfo", "TensorInfo", "MemoryUsage",
    "TokenLogprob", "Piece", "GenerateResult", "quantize_file", "set_log_handler", "version", "LOG_DEBUG", "LOG_INFO",
    "LOG_WARN", "LOG_ERROR", "Error", "InvalidArgumentError", "FileMissingError", "BadFileError", "UnsupportedError",
    "OutOfMemoryError", "ContextFullError", "CancelledError", "IOFailureError", "InternalError", "BufferTooSmallError",
    "KeyNotFoundError", "TemplateError", "apply_chat_template",
]
