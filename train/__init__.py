"""Training entry points: prepare_data, verify_data, train, build_styles (run as scripts or modules)."""
import sys
from pathlib import Path

# Let `python train/<script>.py` import the scribe package from the repository root.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
