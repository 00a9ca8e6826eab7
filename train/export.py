"""`python train/export.py ...`: the script form of `python -m scribe.train.export`.

Turn a training checkpoint into the shipped model: half-precision safetensors + a training-curve plot. The
code is the module scribe.train.export, in the package (so the wheel has it too); this script runs it from a
checkout, as the docs and tests call it.
"""
import sys

from scribe.train.export import main

if __name__ == "__main__":
    sys.exit(main())
