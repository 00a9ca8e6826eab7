"""Training: prepare_data, verify_data, train, export, build_styles, train_recognizer, train_writer_id and
make_synthetic_iam (test data), each a module with a `main` (`python -m scribe.train.train`, the console
scripts `scribe-train`, `scribe-prepare-data`, ...). The checkout's train/*.py are thin scripts that run
them (`python train/train.py`), as the docs and tests call them.
"""
