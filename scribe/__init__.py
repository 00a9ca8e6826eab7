"""Scribe: Graves (2013) handwriting synthesis in PyTorch.

The high-level API is `Hand` (scribe.hand): it takes a request (scribe.request: WriteRequest,
ParagraphRequest, LineSpec) and gives back a Result (scribe.result); everything else is one module per concern:
errors (ScribeError), alphabet, iam (reading IAM-OnDB), ink (stroke maths), dataset, model, sampling,
styles, checkpoint, files; render/ (pages and every output format); web/ (the Gradio app, the only
Gradio code). The package imports neither torch, Gradio nor the renderers at import time, so the training
path runs on a bare GPU machine. docs/architecture.md has the map.
"""
from .alphabet import Alphabet, UnknownCharactersError
from .errors import InputError, ScribeError

__all__ = ["Alphabet", "UnknownCharactersError", "CheckpointError", "InputError", "ScribeError", "load_checkpoint",
           "Hand", "LineSpec", "WriteRequest", "ParagraphRequest", "Result"]

# Imported when first used: `import scribe` loads neither torch nor the renderers, so what imports only a
# light module (the vpype plug-in, which vpype loads for every command it runs) starts fast.
_LAZY = {"CheckpointError": "checkpoint", "load_checkpoint": "checkpoint",
         "Hand": "hand", "LineSpec": "request", "WriteRequest": "request", "ParagraphRequest": "request",
         "Result": "result"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
