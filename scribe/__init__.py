"""Scribe: Graves (2013) handwriting synthesis in PyTorch.

The high-level API is `Hand` (scribe.hand); everything else is one module per concern:
alphabet, iam (reading IAM-OnDB), ink (stroke maths), dataset, model, sampling, styles, render,
checkpoint, files. The package imports neither Gradio nor the renderers at import time, so the training
path runs on a bare GPU machine.
"""
from .alphabet import Alphabet, UnknownCharactersError
from .checkpoint import CheckpointError, load_checkpoint

__all__ = ["Alphabet", "UnknownCharactersError", "CheckpointError", "load_checkpoint", "Hand", "LineSpec"]


def __getattr__(name):
    # Hand pulls in rendering; import it lazily so `import scribe` stays light.
    if name in ("Hand", "LineSpec", "Handwriting", "InputError"):
        from . import hand
        return getattr(hand, name)
    raise AttributeError(name)
