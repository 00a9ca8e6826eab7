"""How a style's primed state is made, measured: the first word's legibility and the style's fidelity.

    python scripts/prime_state_variants.py --variant mean|first|tuned|none [--seeds 1 2] [--steps 60 --lr 0.02]
        [--scale 1.0]

Writes 15 sentences (9 lowercase ones from the first-word test, 6 of the report's) in all 13 shipped styles
at bias 1.0, per seed, and prints: the strict reader's exact first words against the other words, and
the primed lines found as their style's writer by the writer scorer (scribe.style_fidelity). Variants:
- mean: the shipped state, the average of the states primed by each of the style's 3 lines;
- first: the state primed by the style's own line only;
- tuned: the mean state's layers 2..N (what a line carries after a prime) fitted by gradient descent to
  the style's 3 lines (their NLL, layer 1 and the window as sampling restarts them);
- none: unprimed lines (first words only).
--scale multiplies the carried part of the state (layers 2..N) by a factor: below 1 a weaker prime.
Needs data/iam_ondb.npz (train/prepare_data.py) and the IAM-OnDB archives (writers, from the clock).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from scribe.checkpoint import default_checkpoint, load_checkpoint
from scribe.dataset import ProcessedData, collate
from scribe.evaluate import SENTENCES, generate, style_section
from scribe.model import LAYER1_STATE, line_nll
from scribe.recognizer import load_recognizer, word_matches
from scribe.sampling import Sampler
from scribe.styles import StyleBank

FIRST_WORD_SENTENCES = ["after the rain the streets were quiet.", "most of the shops closed early today.",
                        "her brother found the keys in the car.", "only a few boats left the harbour.",
                        "from the window we could see the sea.", "before dinner she read the letter twice",
                        "many people walked along the old road", "under the bridge the water was cold",
                        "every garden needs water, light and time."]


def tuned_state(sampler: Sampler, primes, encoded, steps: int, lr: float, base=Sampler.style_state):
    """The mean primed state with its carried part (layers 2..N) fitted to the style's own lines."""
    state, last = base(sampler, primes, encoded)
    model, batch = sampler.model, collate([p.offsets for p in primes], encoded)
    with torch.no_grad():
        hs, ws, _, _ = model.layer1(batch.inputs, batch.text)    # layer 1 does not see the carried state
    carried = [torch.nn.Parameter(s.detach().clone()) for s in state[LAYER1_STATE:]]
    opt = torch.optim.Adam(carried, lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            out = model._upper_and_output(batch.inputs, hs, ws, None, [c.expand(len(primes), -1) for c in carried])
            loss = line_nll(out, batch, model.config.mixtures)[0]
            opt.zero_grad()
            loss.backward()
            opt.step()
    return list(state[:LAYER1_STATE]) + [c.detach() for c in carried], last


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", choices=("mean", "first", "tuned", "none"), default="mean")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--scale", type=float, default=1.0, help="factor on the carried state (layers 2..N)")
    p.add_argument("--iam_dir", default="../shared/data/iam-ondb")
    args = p.parse_args()
    torch.set_num_threads(1)
    started = time.time()
    shipped = Sampler.style_state
    if args.variant == "first":
        Sampler.style_state = lambda self, primes, encoded: shipped(self, primes[:1], encoded[:1])
    elif args.variant == "tuned":
        Sampler.style_state = lambda self, primes, encoded: tuned_state(self, primes, encoded, args.steps, args.lr, shipped)
    if args.scale != 1.0:
        made = Sampler.style_state

        def scaled(self, primes, encoded):
            state, last = made(self, primes, encoded)
            return list(state[:LAYER1_STATE]) + [s * args.scale for s in state[LAYER1_STATE:]], last
        Sampler.style_state = scaled
    ckpt = load_checkpoint(args.checkpoint or default_checkpoint())
    model, bank = ckpt.build_model(), StyleBank(None)
    styles = [None] if args.variant == "none" else list(bank.ids)
    jobs = [(t, s, 1.0) for s in styles for t in FIRST_WORD_SENTENCES + SENTENCES[:6]]
    lines = []
    for seed in args.seeds:
        lines += generate(model, ckpt.alphabet, ckpt.stats, jobs, bank, seed=seed)
    first, rest = [], []
    for ln, read in zip(lines, load_recognizer().read([ln.sampled.offsets for ln in lines])):
        marks = word_matches(read, ln.text)
        first.append(marks[0])
        rest += marks[1:]
    print(f"{args.variant} (scale {args.scale:g}): {len(lines)} lines; first word read exactly {np.mean(first):.1%}, other words "
          f"{np.mean(rest):.1%}")
    if args.variant != "none":
        notes = []
        style = style_section(lines, ProcessedData.load("data/iam_ondb.npz"), bank, list(bank.ids), None,
                              args.iam_dir, notes)
        if style is None:
            print("no style measure:", *notes)
        else:
            e = style["by_bias"]["1"]["primed"]
            print(f"found as their writer {e['rate']:.1%} (ceiling {style['ceiling']['rate']:.1%}); most-chosen "
                  f"writer's share over a fair share {e['max_share_over_fair']:.2f}; distance {e['distance']:.2f}")
    print(f"{time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
