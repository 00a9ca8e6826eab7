"""`python train/make_synthetic_iam.py ...`: the script form of `python -m scribe.train.make_synthetic_iam`.

Write a small fake IAM-OnDB (both archives + split lists) of synthetic ink, for smoke tests. The code is the
module scribe.train.make_synthetic_iam, in the package (so the wheel has it too); this script runs it from a
checkout, as the docs and tests call it.
"""
import sys

from scribe.train.make_synthetic_iam import main

if __name__ == "__main__":
    sys.exit(main())
