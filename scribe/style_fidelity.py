"""Style fidelity: is a line written in a style found to be in that style's writer's hand?

The quality report's style measure, as the field reports it: a writer-identification scorer
(scribe/writer_id.py, trained on other writers) identifies each line among the style bank's writers,
from each writer's own real lines (references). Three figures, over the same writers:
- the ceiling: the writers' real held-out lines (not the style line, not the references);
- primed lines: the model's writing primed with each style, found as that style's writer;
- unprimed lines (the floor): the model's own hand, which should spread evenly over the writers, since
  it is none of them.
And how lines spread over the writers (a model that falls back to one average hand piles its lines on
one writer), and a distance: how far lines sit from their writer's centroid, in units of the writer's
own real held-out lines (1.0: as close as the writer's other real lines).

Writers are people, not forms: a bank whose styles come from one writer's several forms counts that
writer once (scribe.iam.derive_writers says who wrote which form).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dataset import ProcessedData
from .ink import hand_traits, word_gap
from .writer_id import Identification, WriterId, centroids, distance_ratio, identification, identify


@dataclass
class BankWriters:
    """Which real writer each style of a bank is, and that writer's real lines in the data."""
    writer_of_style: dict[int, str]        # style id -> writer id
    style_line: dict[int, int]             # style id -> index of the style's own line in the data
    references: dict[str, list[int]]       # writer -> line indices the scorer's centroid is made of
    held_out: dict[str, list[int]]         # writer -> real lines kept apart: the ceiling's queries

    @property
    def writers(self) -> list[str]:
        return sorted(self.references)


def find_style_line(data: ProcessedData, text: str, n_points: int, split: str = "valid") -> int | None:
    """The data line a bank style was taken from: same text; of several, the nearest in length."""
    idx = [int(i) for i in data.indices(split) if str(data.texts[i]) == text]
    if not idx:
        return None
    return min(idx, key=lambda i: abs(int(data.lengths()[i]) - n_points))


def bank_writers(bank, data: ProcessedData, writer_of_form: dict[str, str],
                 style_ids: list[int] | None = None) -> BankWriters:
    """Map each style of `bank` to its writer; split each writer's other lines between references and
    held-out lines (alternately, in the data's order, so both sets cover every form)."""
    style_ids = list(bank.ids) if style_ids is None else style_ids
    index = getattr(bank, "index", None) or {}          # bank.json: each style's source line(s), if known
    at = {str(line_id): i for i, line_id in enumerate(data.line_ids)}
    writer_of_style, style_line, taken = {}, {}, set()
    for sid in style_ids:
        record = index.get(str(sid), {})
        sources = [at.get(str(x)) for x in [record.get("line"), *record.get("extra_lines", [])] if x]
        sources = [i for i in sources if i is not None]
        if not sources:
            style = bank.get(sid)
            found = find_style_line(data, style.text, len(style.offsets))
            sources = [found] if found is not None else []
        if not sources:
            continue
        i = sources[0]
        form = str(data.line_ids[i]).rpartition("-")[0]
        if form in writer_of_form:
            writer_of_style[sid], style_line[sid] = writer_of_form[form], i
            taken.update(sources)        # no line of a prime is a reference or a held-out line
            # nor one its adapter was fitted to (scribe.style_adapters): the scorer never judges a
            # style by the ink it learned from
            taken.update(at[str(x)] for x in record.get("adapt_lines", []) if str(x) in at)
    mine = set(writer_of_style.values())
    lines: dict[str, list[int]] = {w: [] for w in mine}
    for i in data.indices("valid"):
        w = writer_of_form.get(str(data.line_ids[i]).rpartition("-")[0])
        if w in mine and int(i) not in taken:
            lines[w].append(int(i))
    references = {w: ix[0::2] for w, ix in lines.items() if len(ix) >= 2}
    held_out = {w: ix[1::2] for w, ix in lines.items() if len(ix) >= 2}
    writer_of_style = {s: w for s, w in writer_of_style.items() if w in references}
    return BankWriters(writer_of_style, {s: style_line[s] for s in writer_of_style}, references, held_out)


def set_aside(writers: BankWriters, style_ids: list[int], n_lines: int) -> tuple[BankWriters, dict[int, list[int]]]:
    """For learn-my-hand against priming: take `n_lines` real lines of each given style's writer out of
    both its references and its held-out lines (half from each), for a model to be adapted on, so the
    scorer never judges a line by the ink it was trained on. Returns the smaller BankWriters and, per
    style, the lines set aside (a writer with too few lines left is skipped)."""
    refs = {w: list(ix) for w, ix in writers.references.items()}
    held = {w: list(ix) for w, ix in writers.held_out.items()}
    aside = {}
    for sid in style_ids:
        w = writers.writer_of_style.get(sid)
        if w is None or w in {writers.writer_of_style[s] for s in aside}:
            continue
        from_refs, from_held = n_lines - n_lines // 2, n_lines // 2
        if len(refs[w]) < from_refs + 2 or len(held[w]) < from_held + 2:
            continue
        aside[sid] = refs[w][:from_refs] + held[w][:from_held]
        refs[w], held[w] = refs[w][from_refs:], held[w][from_held:]
    return BankWriters(dict(writers.writer_of_style), dict(writers.style_line), refs, held), aside


def measure(scorer: WriterId, data: ProcessedData, writers: BankWriters,
            generated: list[tuple[int | None, float, np.ndarray]]) -> dict:
    """The style section of the report. `generated`: (style id or None, bias, offsets) per line."""
    names, refs = centroids({w: scorer.embed([data.line(i) for i in ix]) for w, ix in writers.references.items()})
    at = {w: k for k, w in enumerate(names)}
    real_queries, real_truth = [], []
    for w, ix in sorted(writers.held_out.items()):
        real_queries += [data.line(i) for i in ix]
        real_truth += [w] * len(ix)
    real_emb = scorer.embed(real_queries)
    ceiling = identification(identify(real_emb, names, refs), real_truth, names)
    real_by_writer = {w: real_emb[[k for k, t in enumerate(real_truth) if t == w]] for w in names}

    by_bias = {}
    for bias in sorted({b for _, b, _ in generated}):
        primed = [(s, o) for s, b, o in generated if b == bias and s in writers.writer_of_style]
        plain = [o for s, b, o in generated if b == bias and s is None]
        entry = {}
        if primed:
            emb = scorer.embed([o for _, o in primed])
            truth = [writers.writer_of_style[s] for s, _ in primed]
            found = identification(identify(emb, names, refs), truth, names)
            per_style = {}
            for s in sorted({s for s, _ in primed}):
                hits = [f == t for (s2, _), f, t in zip(primed, identify(emb, names, refs), truth) if s2 == s]
                per_style[str(s)] = round(float(np.mean(hits)), 3)
            ratios = [distance_ratio(emb[[k for k, t in enumerate(truth) if t == w]], refs[at[w]], real_by_writer[w])
                      for w in sorted(set(truth))]
            entry["primed"] = {**found.to_dict(), "per_style": per_style,
                               "vs_ceiling": round(found.rate / ceiling.rate, 3) if ceiling.rate else None,
                               "distance": round(float(np.mean(ratios)), 3)}
        if plain:
            emb = scorer.embed(plain)
            spread = identification(identify(emb, names, refs), [None] * len(plain), names)
            ratios = [distance_ratio(emb, refs[at[w]], real_by_writer[w]) for w in names]
            entry["unprimed"] = {"lines": spread.lines, "share": spread.to_dict()["share"],
                                 "max_share_over_fair": round(spread.max_share_over_fair, 3),
                                 "distance": round(float(np.mean(ratios)), 3)}
        by_bias[f"{bias:g}"] = entry
    return {"writers": len(names), "styles": len(writers.writer_of_style), "chance": round(1 / len(names), 4),
            "writer_of_style": {str(s): w for s, w in sorted(writers.writer_of_style.items())},
            "ceiling": ceiling.to_dict(), "by_bias": by_bias, "scorer": dict(scorer.metrics)}


# ---- what a person sees: traits of a hand ---------------------------------------------------------------
TRAITS = ("slant", "width", "lifts", "word gap")
TRAIT_WORDS = {"slant": "slant (degrees)", "width": "width per character (ink heights)",
               "lifts": "pen lifts per character", "word gap": "gap between words (ink heights)"}


def trait_values(lines: list[tuple[np.ndarray, str]]) -> np.ndarray:
    """TRAITS of a set of (offsets, text) lines of one hand: the slant, width and pen lifts of
    scribe.ink.hand_traits, and the median word gap (scribe.ink.word_gap; NaN when no line has one)."""
    t = hand_traits(lines)
    gaps = [g for g in (word_gap(o, text) for o, text in lines) if g is not None]
    return np.array([t.slant_deg, t.width, t.strokes_per_char, float(np.median(gaps)) if gaps else np.nan])


def traits_followed(data: ProcessedData, writers: BankWriters, generated: dict[int, list[tuple[np.ndarray, str]]],
                    own: list[tuple[np.ndarray, str]] | None = None) -> dict:
    """Whether each style's lines (`generated`: style id -> (offsets, text) lines) have its writer's traits,
    against the writer's real held-out lines: per trait, the correlation over the styles (1.0: every
    style's trait follows its writer's), the mean distance to the writer, and, for `own` (the model's
    unprimed lines), the same distance: the floor."""
    sids = [s for s in generated if s in writers.writer_of_style and generated[s]]
    gen = np.array([trait_values(generated[s]) for s in sids])
    real = np.array([trait_values([(data.line(i), str(data.texts[i]))
                                   for i in writers.held_out[writers.writer_of_style[s]]]) for s in sids])
    floor = trait_values(own) if own else None
    out = {"styles": sids, "traits": {},
           "per_style": {s: {"generated": [round(float(v), 3) for v in g], "writer": [round(float(v), 3) for v in r]}
                         for s, g, r in zip(sids, gen, real)}}
    for k, name in enumerate(TRAITS):
        ok = ~np.isnan(gen[:, k]) & ~np.isnan(real[:, k]) if len(sids) else np.zeros(0, bool)
        if ok.sum() < 3:
            continue
        varies = np.ptp(gen[ok, k]) > 1e-9 and np.ptp(real[ok, k]) > 1e-9      # else no correlation exists
        out["traits"][name] = {
            "r": round(float(np.corrcoef(gen[ok, k], real[ok, k])[0, 1]), 3) if varies else None,
            "distance": round(float(np.mean(np.abs(gen[ok, k] - real[ok, k]))), 4),
            "own_distance": None if floor is None or np.isnan(floor[k])
            else round(float(np.mean(np.abs(floor[k] - real[ok, k]))), 4),
            "writers": [round(float(real[ok, k].min()), 3), round(float(real[ok, k].max()), 3)],
            "generated": [round(float(gen[ok, k].min()), 3), round(float(gen[ok, k].max()), 3)]}
    return out


def traits_lines(section: dict, bias: float) -> list[str]:
    """Markdown lines for the report's traits table (traits_followed)."""
    out = [f"What a person sees, bias {bias:g}: four traits of each style's primed lines against its writer's "
           f"own held-out lines ({len(section['styles'])} styles; r: how closely the styles follow their writers, "
           "1.0 = each exactly as its writer):", "",
           "| trait | r over the styles | mean distance to the writer (the model's own hand) | writers | styles |",
           "|---|---|---|---|---|"]
    for name, t in section["traits"].items():
        own = "" if t["own_distance"] is None else f" ({t['own_distance']:.3g})"
        r = "-" if t["r"] is None else f"{t['r']:.2f}"
        out.append(f"| {TRAIT_WORDS[name]} | {r} | {t['distance']:.3g}{own} | "
                   f"{t['writers'][0]:.2f} to {t['writers'][1]:.2f} | {t['generated'][0]:.2f} to {t['generated'][1]:.2f} |")
    return out


def summary_lines(style: dict) -> list[str]:
    """Markdown lines for the report: the table of rates per bias, beside the ceiling."""
    c = style["ceiling"]
    out = [f"{style['styles']} styles from {style['writers']} writers (chance {style['chance']:.1%}); each line is "
           f"identified among those writers by the writer-identification scorer, from the writers' own real lines.",
           "", "| lines | found as their writer | vs real | most-chosen writer's share / fair share | "
           "distance to the writer (1.0 = the writer's own lines) |", "|---|---|---|---|---|",
           f"| real held-out lines (ceiling) | {c['rate']:.1%} of {c['lines']} | 1.00 | "
           f"{c['max_share_over_fair']:.2f} | 1.00 |"]
    for bias, e in style["by_bias"].items():
        if "primed" in e:
            p = e["primed"]
            out.append(f"| primed, bias {bias} | {p['rate']:.1%} of {p['lines']} | {p['vs_ceiling']:.2f} | "
                       f"{p['max_share_over_fair']:.2f} | {p['distance']:.2f} |")
        if "unprimed" in e:
            u = e["unprimed"]
            out.append(f"| unprimed, bias {bias} | (chance {style['chance']:.1%}) | | {u['max_share_over_fair']:.2f} | "
                       f"{u['distance']:.2f} |")
    return out


def adapted_lines(section: dict) -> list[str]:
    """Markdown lines for learn-my-hand against priming (evaluate's adaptation section)."""
    out = [f"Learn my hand against priming, for {len(section['styles'])} of the bank's writers (styles "
           f"{', '.join(str(s) for s in section['styles'])}): the model adapted to {section['lines_per_writer']} "
           f"other real lines of each writer (`scribe.adapt`, {section['minutes']:g} minutes each, training "
           f"{section.get('train', 'all')} weights; those lines "
           f"kept out of the scorer's references and queries), against the same model primed by the style; "
           f"{section['lines_per_arm']} lines each, bias {section['bias']:g}.", "",
           "| lines | found as their writer | distance to the writer | reader's CER |", "|---|---|---|---|"]
    for name, label in (("primed", "primed by the style (base model)"),
                        ("adapted", "adapted to the writer, primed by the style")):
        e = section[name]
        out.append(f"| {label} | {e['rate']:.1%} | {e['distance']:.2f} | {e['cer']:.3f} |")
    return out
