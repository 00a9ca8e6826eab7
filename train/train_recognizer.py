"""`python train/train_recognizer.py ...`: the script form of `python -m scribe.train.train_recognizer`.

Train the legibility recogniser (scribe/recognizer.py) on the training split of the processed data. The code
is the module scribe.train.train_recognizer, in the package (so the wheel has it too); this script runs it
from a checkout, as the docs and tests call it.
"""
import sys

from scribe.train.train_recognizer import main

if __name__ == "__main__":
    sys.exit(main())
