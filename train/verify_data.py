"""`python train/verify_data.py ...`: the script form of `python -m scribe.train.verify_data`.

Check the processed dataset before training: counts, characters, lengths, anomalies. The code is the module
scribe.train.verify_data, in the package (so the wheel has it too); this script runs it from a checkout, as
the docs and tests call it.
"""
import sys

from scribe.train.verify_data import main

if __name__ == "__main__":
    sys.exit(main())
