#!/usr/bin/env bash
# One chunk of training on a borrowed GPU machine whose disk is gone after each call, and which sends
# back only small files (the project's lent H100/H200: 10-minute calls, 16 MiB per returned file).
#
#   bash scripts/gpu_chunk.sh CONFIG MINUTES [train.py flags ...]
#
# 1. joins the previous chunk's checkpoint parts (transfer/*.parts.json, if any) into the run folder;
# 2. trains with train.py --config CONFIG --time_budget MINUTES (auto-resume: "Restored from checkpoint-N");
# 3. splits the newest checkpoint into parts of at most 15 MiB in $OUT, with the log.
# Copy the returned files into transfer/ (git-ignored) and call again with transfer/ and data/ carried:
# training goes on exactly where it stopped, optimizer state included.
# Needs data/iam_ondb.npz (or the config's "data") carried along: it is built here, never on the GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:?usage: bash scripts/gpu_chunk.sh CONFIG MINUTES [train.py flags ...]}
minutes=${2:?usage: bash scripts/gpu_chunk.sh CONFIG MINUTES [train.py flags ...]}
shift 2
out=${OUT:?set OUT to the folder whose files come back}
transfer=${TRANSFER:-transfer}
run_dir=${RUN_DIR:-$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["out_dir"])' "$config")}
export PYTHONUNBUFFERED=1

if compgen -G "$transfer/*.parts.json" >/dev/null; then
    python train/checkpoint_parts.py join "$transfer" --out "$run_dir"
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python train/train.py --config "$config" --out_dir "$run_dir" --time_budget "$minutes" "$@" 2>&1 \
    | tee "$out/train-$(date +%H%M%S).log"
python train/checkpoint_parts.py split "$run_dir" --out "$out" --part_mib 15
