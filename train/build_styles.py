"""`python train/build_styles.py ...`: the script form of `python -m scribe.train.build_styles`.

Build the style bank: 13 styles (ids 0-12), each a different real writer of testset_v. The code is the
module scribe.train.build_styles, in the package (so the wheel has it too); this script runs it from a
checkout, as the docs and tests call it.
"""
import sys

from scribe.train.build_styles import main

if __name__ == "__main__":
    sys.exit(main())
