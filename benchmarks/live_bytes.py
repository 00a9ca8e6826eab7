"""Live ink that sends only what is new: bytes sent and CPU time of a live write, against the same
write without live ink, through the app's own path (scribe.web.outputs.write_files_live, turned into
updates by scribe.web.live.live_updates and into the preview's HTML by scribe.web.views, as
scribe.web.tabs sends them; what Gradio adds around each update is not counted).

    OMP_NUM_THREADS=1 python benchmarks/live_bytes.py                 # 40 lines of 90 characters
    OMP_NUM_THREADS=1 python benchmarks/live_bytes.py --lines 3 --old # also the old way (whole pages)

Rows: no live ink; live ink sending only the strokes new since the last update (the app's way); with
--old, live ink re-sending the whole page so far at every update (the way before). Printed per row:
CPU seconds (process time, steadier than wall time on a shared machine), updates, bytes sent, and the
ratios to the final SVG's size and to the CPU time without live ink. Candidates 1 (the tiny cost of
the legibility check is not what is measured here); one torch thread; the same seed in every row.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

from scribe.hand import Hand, LineSpec, use_sampling_threads
from scribe.request import WriteRequest
from scribe.web import live, outputs, views

TEXT = "Every line of this long request has ninety characters, written live to see what it costs "


def run(hand, specs, seed, out, mode):
    """(CPU s, updates, bytes sent, final SVG bytes) for one write."""
    c = time.process_time()
    if mode == "none":
        r = outputs.write_files(hand, WriteRequest(specs, seed, candidates=1), out_root=out)
        return time.process_time() - c, 0, len(views.preview_html(r.svg)), len(r.svg)
    sent, updates, final = 0, 0, 0
    writing = outputs.write_files_live(hand, WriteRequest(specs, seed, candidates=1), out_root=out)
    for u in live.live_updates(writing, on_paper=True, incremental=mode == "new", min_interval=0.25,
                               running=live.Running()):
        if u.result is not None:
            final = len(u.result.svg)
            sent += len(views.preview_html(u.result.shown_svg()))
        elif mode == "new" and (u.svg or u.added):
            sent += len(views.live_preview_html(u.svg, u.added, u.live_id))
        elif mode == "old" and u.svg:
            sent += len(views.preview_html(u.svg))
        updates += 1
    return time.process_time() - c, updates, sent, final


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lines", type=int, default=40)
    p.add_argument("--chars", type=int, default=90)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--old", action="store_true", help="also the whole-page way (slow for 40 lines)")
    args = p.parse_args(argv)
    use_sampling_threads(1)
    hand = Hand.load()
    specs = [LineSpec((TEXT * 2)[:args.chars], (3 * i) % 13, 0.75) for i in range(args.lines)]
    modes = ["none", "new"] + (["old"] if args.old else [])
    with tempfile.TemporaryDirectory() as tmp:
        run(hand, specs[:2], 0, Path(tmp), "none")        # warm-up: primes, compiles
        rows = {m: run(hand, specs, args.seed, Path(tmp), m) for m in modes}
    base_cpu, final = rows["none"][0], rows["none"][3]
    print(f"live ink: {args.lines} lines of {args.chars} characters, seed {args.seed}, one thread; final SVG "
          f"{final / 1e3:.0f} kB")
    print(f"  {'mode':<28s} {'CPU s':>7s} {'vs none':>8s} {'updates':>8s} {'sent kB':>9s} {'sent / final SVG':>17s}")
    names = {"none": "no live ink", "new": "live, only new strokes", "old": "live, whole page each update"}
    for m, (cpu, ups, sent, fin) in rows.items():
        print(f"  {names[m]:<28s} {cpu:>7.2f} {cpu / base_cpu:>7.2f}x {ups:>8d} {sent / 1e3:>9.0f} {sent / final:>16.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
