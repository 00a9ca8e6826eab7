"""`python train/train_writer_id.py ...`: the script form of `python -m scribe.train.train_writer_id`.

Train the writer-identification scorer (scribe/writer_id.py) on the writers of the training splits. The code
is the module scribe.train.train_writer_id, in the package (so the wheel has it too); this script runs it
from a checkout, as the docs and tests call it.
"""
import sys

from scribe.train.train_writer_id import main

if __name__ == "__main__":
    sys.exit(main())
