#!/usr/bin/env bash
# The whole pipeline on synthetic data in under a minute: fake archives -> prepare -> verify -> train
# (resume included) -> sample SVG + PNG. Needs no IAM-OnDB download.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python train/make_synthetic_iam.py --out "$work/iam" --forms 12
python train/prepare_data.py --data_dir "$work/iam" --out "$work/data.npz"
python train/verify_data.py --data "$work/data.npz" > "$work/verify.log"
python train/train.py --data "$work/data.npz" --out_dir "$work/run" --rnn_size 16 --nmixtures 3 --nwindow 3 \
    --batch_size 4 --max_steps 10 --save_every 5 --log_every 5 --compile false
python train/train.py --data "$work/data.npz" --out_dir "$work/run" --rnn_size 16 --nmixtures 3 --nwindow 3 \
    --batch_size 4 --max_steps 14 --save_every 7 --log_every 7 --compile false | tee "$work/resume.log"
grep -q "Restored from checkpoint-10" "$work/resume.log"
python -m scribe.sample --text "the quick fox" --checkpoint "$work/run/checkpoint-14.pt" --out "$work/out.svg" \
    --seed 1 --max_steps 120
python -m scribe.sample --text "the quick fox" --checkpoint "$work/run/checkpoint-14.pt" --out "$work/out.png" \
    --seed 1 --max_steps 120
python - "$work/out.svg" "$work/out.png" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
paths = root.findall(".//{http://www.w3.org/2000/svg}path")
assert paths, "the SVG has no paths"
assert open(sys.argv[2], "rb").read(8) == b"\x89PNG\r\n\x1a\n", "not a PNG"
print(f"smoke OK: {len(paths)} paths in the SVG, PNG written")
PY
