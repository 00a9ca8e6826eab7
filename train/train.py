"""`python train/train.py ...`: the script form of `python -m scribe.train.train`.

Train the Graves synthesis network on the processed IAM-OnDB data. The code is the module
scribe.train.train, in the package (so the wheel has it too); this script runs it from a checkout, as the
docs and tests call it.
"""
import sys

from scribe.train.train import main

if __name__ == "__main__":
    sys.exit(main())
