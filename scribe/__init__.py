"""Scribe: Graves (2013) handwriting synthesis in PyTorch.

The high-level API is `Hand` (scribe.hand); everything else is one module per concern:
errors (ScribeError), alphabet, iam (reading IAM-OnDB), ink (stroke maths), dataset, model, sampling,
styles, checkpoint, files; render/ (pages and every output format); web/ (the Gradio app, the only
Gradio code). The package imports neither Gradio nor the renderers at import time, so the training
path runs on a bare GPU machine. docs/architecture.md has the map.
"""
from .alphabet import Alphabet, UnknownCharactersError
from .checkpoint import CheckpointError, load_checkpoint
from .errors import InputError, ScribeError

__all__ = ["Alphabet", "UnknownCharactersError", "CheckpointError", "InputError", "ScribeError", "load_checkpoint",
           "Hand", "LineSpec"]


def __getattr__(name):
    # Hand pulls in rendering; import it lazily so `import scribe` stays light.
    if name in ("Hand", "LineSpec", "Handwriting"):
        from . import hand
        return getattr(hand, name)
    raise AttributeError(name)
