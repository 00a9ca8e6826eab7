"""What live ink costs: the guide's three-line document written through the app's line-mode path
(scribe.web.outputs: sampling, then SVG, PNG, PDF and the saved document), without live ink and with
it, per finished line and per stroke (scribe.web.live), in the same run.

    nice -n 19 env OMP_NUM_THREADS=1 python benchmarks/live_cost.py --rounds 5

Modes, each round in turn (each round starting with the next mode), same seed (each must write the
same files):
- no live ink: the compiled sampling loop, as /write runs it;
- per line: the loop in compiled chunks of 16 pen steps; the page drawn as each line finishes;
- per stroke: the same, the page drawn whenever a stroke has ended, at most every 0.25 s (the app's);
- every stroke: the same with no limit (every chunk in which a pen lifted);
- per-step callback: the Python step loop with an on_step callback (Hand.write's pen-step hook), for
  comparison.
Every update's page is laid out and turned into SVG as the app does (the time Gradio takes to send
it is not included). Two more rows time the sampling loop alone (Sampler.sample against
Sampler.sample_live in chunks of 16 steps, nothing drawn): what the chunks themselves cost.
Prints median wall and CPU times (CPU time is steadier on a shared machine), page updates per write,
and the ratios to no live ink.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from scribe.hand import Hand, run_to_end, use_sampling_threads

from scribe.request import LineSpec, WriteRequest
from scribe.web import live, outputs

LINES = ["Report due by 09:00 on March 15th, 1985.", "Can't believe it - met him at 3:00pm!",
         "Got your message (thanks!) - call me."]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--candidates", type=int, default=1, help="legibility check N (the app starts at 4)")
    args = p.parse_args(argv)
    use_sampling_threads()
    hand = Hand.load(args.checkpoint)
    styles = (hand.style_ids[:3] + [None] * 3)[:3] if hand.style_ids else [None] * 3
    specs = [LineSpec(t, s, b) for t, s, b in zip(LINES, styles, (1.8, 0.6, 1.2))]
    out = Path(tempfile.mkdtemp(prefix="scribe-live-cost-"))
    hand.write(specs, seed=0, candidates=1)         # prime the styles, warm up

    def request(seed):
        return WriteRequest(specs, seed, candidates=args.candidates)

    def plain(seed):
        return outputs.write_files(hand, request(seed), out_root=out), 1

    def streamed(mode, min_interval):
        def run(seed):
            n, result = 0, None
            for u in live.live_updates(outputs.write_files_live(hand, request(seed), out_root=out),
                                       mode, min_interval=min_interval, running=live.Running()):
                n += u.svg is not None
                result = u.result or result
            return result, n
        return run

    def stepped(seed):
        return outputs.write_files(hand, request(seed), out_root=out, on_step=lambda t, cap, done: None), 1

    batch = hand.sample_candidates(hand.check(specs), args.candidates, seed=0)
    reqs, primed = batch.requests, batch.primed

    def loop_only(seed):
        return hand.sampler.sample(reqs, seed=seed, primed=primed), 0

    def chunks_only(seed):
        return run_to_end(hand.sampler.sample_live(reqs, seed=seed, primed=primed)), 0

    modes = {"no live ink": plain, "per line": streamed("lines", 0.0),
             "per stroke (<= 4/s)": streamed("strokes", live.MIN_PREVIEW_S),
             "every stroke": streamed("strokes", 0.0), "per-step callback": stepped,
             "loop only: compiled": loop_only, "loop only: chunks": chunks_only}
    wall = {k: [] for k in modes}
    cpu = {k: [] for k in modes}
    updates = {k: [] for k in modes}
    names = list(modes)
    for r in range(args.rounds):
        files, ink = None, None
        for name in names[r % len(names):] + names[:r % len(names)]:     # each round starts one mode later
            started, cpu0 = time.perf_counter(), time.process_time()
            result, n = modes[name](r + 1)
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - cpu0)
            updates[name].append(n)
            if name.startswith("loop only"):
                got = [ln.offsets.tobytes() for ln in result]
                assert ink is None or got == ink, f"{name} sampled different ink"
                ink = got
            else:
                svg = result.svg_path.read_bytes()
                assert files is None or svg == files, f"{name} wrote different ink"
                files = svg
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in wall.items()), file=sys.stderr)
    med = lambda d, k: statistics.median(d[k])
    print(f"{len(specs)} lines, candidates {args.candidates}, median of {args.rounds} rounds")
    print(f"{'':22s} {'wall':>7s} {'ratio':>6s} {'CPU':>7s} {'ratio':>6s}  page updates")
    for k in modes:
        base = "loop only: compiled" if k.startswith("loop only") else "no live ink"
        print(f"{k:22s} {med(wall, k):6.2f}s {med(wall, k) / med(wall, base):5.2f}x {med(cpu, k):6.2f}s "
              f"{med(cpu, k) / med(cpu, base):5.2f}x  {statistics.median(updates[k]):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
