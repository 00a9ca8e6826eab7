"""`python train/adapt_styles.py ...`: the script form of `python -m scribe.train.adapt_styles`.

Fit each bank style's adapter (its biases and output layer) to real lines of the style's writer.
"""
import sys

from scribe.train.adapt_styles import main

if __name__ == "__main__":
    sys.exit(main())
