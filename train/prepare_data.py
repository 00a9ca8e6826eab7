"""`python train/prepare_data.py ...`: the script form of `python -m scribe.train.prepare_data`.

Build the processed dataset from the IAM-OnDB archives, as downloaded. The code is the module
scribe.train.prepare_data, in the package (so the wheel has it too); this script runs it from a checkout, as
the docs and tests call it.
"""
import sys

from scribe.train.prepare_data import main

if __name__ == "__main__":
    sys.exit(main())
