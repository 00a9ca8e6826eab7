"""Training entry points: prepare_data, verify_data, train, build_styles (run as scripts or modules).
They import the installed scribe package (`pip install -r requirements.txt` installs this checkout).
"""
