"""Writers from the recording clock (scribe.iam), the writer-identification scorer (scribe.writer_id) and
the style-fidelity measure built on them (scribe.style_fidelity)."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import synthetic_offsets
from scribe import iam
from scribe.dataset import NormStats, ProcessedData
from scribe.styles import MemoryStyleBank
from scribe.writer_id import (WriterId, WriterIdError, centroids, distance_ratio, identification, identify,
                              load_writer_id)
from scribe.style_fidelity import bank_writers, find_style_line, measure, set_aside

CATEGORIES = "abdfhjkm"


def sitting(start: float, prefix: str, n: int = 8, pause: float = 40.0, length: float = 150.0):
    """{form: (start, end)} for n forms of one sitting, one text category each, `pause` s apart."""
    out, t = {}, start
    for k in range(n):
        out[f"{CATEGORIES[k % len(CATEGORIES)]}0{k}-{prefix}{k:02d}z"] = (t, t + length)
        t += length + pause
    return out


# ---- writers from the clock ----------------------------------------------------------------------------
def test_one_sitting_is_one_writer_and_an_idle_gap_starts_the_next():
    clocks = {**sitting(1e7, "p"), **sitting(1e7 + 8 * 190 + 2000, "q")}
    writers = iam.derive_writers(clocks)
    assert [len(w.forms) for w in writers] == [8, 8] and all(w.placed for w in writers)
    assert {f[4] for f in writers[0].forms} != {f[4] for f in writers[1].forms}


def test_a_writer_stepping_up_within_a_minute_is_told_apart_by_the_text_categories():
    first = sitting(1e7, "p")
    end = max(e for _, e in first.values())
    clocks = {**first, **sitting(end + 30, "q")}          # a 30 s pause: the clock alone would merge them
    writers = iam.derive_writers(clocks)
    assert sorted(len(w.forms) for w in writers) == [8, 8]
    assert all(len({f[4] for f in w.forms}) == 1 for w in writers)    # each writer's forms, not mixed


def test_a_clock_that_goes_back_or_restarts_near_zero_is_not_chained():
    clocks = {**sitting(1e7, "p", n=3), "m01-000x": (1e7 + 100, 1e7 + 200), "n01-000y": (500.0, 700.0)}
    writers = iam.derive_writers(clocks)
    by_form = iam.writer_of_form(writers)
    assert by_form["m01-000x"] != by_form["a00-p00z"]          # began before the previous form ended
    lone = [w for w in writers if w.forms == ["n01-000y"]]
    assert len(lone) == 1 and not lone[0].placed               # a restarted clock: unplaced, alone


def test_stroke_times_are_read_from_the_line_files():
    xml = (b'<StrokeSet><Stroke colour="black" start_time="12.50" end_time="13.00"><Point x="1" y="2" time="12.5"/>'
           b'</Stroke><Stroke start_time="14.00" end_time="15.25"><Point x="3" y="4" time="14"/></Stroke></StrokeSet>')
    assert iam.parse_stroke_times(xml) == (12.5, 15.25)
    assert iam.parse_stroke_times(b"<StrokeSet><Stroke><Point x='1' y='2'/></Stroke></StrokeSet>") is None


@pytest.mark.slow
def test_real_writers_never_cross_the_writer_independent_split(iam_dir):
    writers = iam.derive_writers(iam.read_form_clocks(iam_dir))
    lists = iam.read_split_lists(iam.default_split_dir(iam_dir))
    split_of = {f: name for name, forms in lists.items() for f in forms}
    placed = [w for w in writers if w.placed]
    # IAM-OnDB's official split is by writer: a derivation that mixed two people would cross it
    assert all(len({split_of.get(f) for f in w.forms}) == 1 for w in placed)
    assert sum(len(w.forms) == 8 for w in placed) >= 180          # about 8 forms a writer, one sitting
    assert sum(1 for w in placed if split_of.get(w.forms[0]) == "testset_v" and len(w.forms) > 1) >= 13
    assert all(not w.placed and len(w.forms) == 1 for w in writers if not w.placed)


# ---- the scorer ------------------------------------------------------------------------------------------
def test_identification_counts_hits_per_writer_and_the_spread():
    names = ["w1", "w2", "w3"]
    result = identification(["w1", "w1", "w2", "w1"], ["w1", "w2", "w2", None], names)
    assert result.rate == pytest.approx(2 / 3) and result.per_writer == {"w1": 1.0, "w2": 0.5}
    assert result.share == {"w1": 0.75, "w2": 0.25, "w3": 0.0}
    assert result.max_share_over_fair == pytest.approx(2.25)


def test_nearest_centroid_and_distance_ratio():
    refs = {"a": np.array([[1.0, 0.0], [0.9, 0.1]]), "b": np.array([[0.0, 1.0]])}
    names, c = centroids(refs)
    assert names == ["a", "b"] and np.allclose(np.linalg.norm(c, axis=1), 1)
    assert identify(np.array([[0.8, 0.2], [0.1, 0.9]]), names, c) == ["a", "b"]
    own_real = np.array([[0.95, 0.31]])
    far = np.array([[0.0, 1.0]])
    assert distance_ratio(far, c[0], own_real) > 5 > distance_ratio(own_real, c[0], own_real) == pytest.approx(1.0)


def test_scorer_saves_and_loads_the_same_embeddings(tmp_path):
    scorer = WriterId.new(conv_channels=8, hidden=8, embed=6)
    scorer.metrics = {"trained_writers": 3}
    lines = [synthetic_offsets(seed=s) for s in range(3)]
    path = scorer.save(tmp_path / "w.safetensors")
    loaded = load_writer_id(path)
    assert loaded.metrics == {"trained_writers": 3}
    assert np.allclose(loaded.embed(lines), scorer.embed(lines), atol=2e-3)       # half-precision weights
    assert np.allclose(np.linalg.norm(loaded.embed(lines), axis=1), 1, atol=1e-5)


def test_scorer_load_errors_name_the_file(tmp_path):
    with pytest.raises(WriterIdError, match="no writer-identification file"):
        load_writer_id(tmp_path / "none.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(WriterIdError, match="bad.safetensors is not a readable"):
        load_writer_id(bad)
    from scribe.files import load_tagged, save_tagged
    good = tmp_path / "good.safetensors"
    WriterId.new(conv_channels=8, hidden=8, embed=6).save(good)
    tensors, meta = load_tagged(good, "scribe-writer-id")
    save_tagged(tmp_path / "cut.safetensors", dict(list(tensors.items())[1:]), "scribe-writer-id", meta)
    with pytest.raises(WriterIdError, match="^cut.safetensors: metadata or weights are malformed") as e:
        load_writer_id(tmp_path / "cut.safetensors")
    assert str(tmp_path) not in str(e.value)


# ---- the measure -------------------------------------------------------------------------------------------
def writer_data():
    """Two writers, three forms each, four lines a form; each writer's ink has its own loop shape."""
    offs, texts, ids = [], [], []
    for w, form_prefix in enumerate(["a01-001w", "b01-002x"]):
        for f in range(3):
            for n in range(4):
                o = synthetic_offsets(n_strokes=4 + w * 3, seed=100 * w + 10 * f + n)
                o[:, 0] *= 1.0 + w          # writer 1 writes twice as wide
                offs.append(o)
                texts.append(f"line {w} {f} {n}")
                ids.append(f"{form_prefix[:4]}{f}{form_prefix[5:]}-{n + 1:02d}")
    starts = np.concatenate([[0], np.cumsum([len(o) for o in offs])]).astype(np.int64)
    data = ProcessedData(np.concatenate(offs).astype(np.float32), starts, np.array(texts), np.array(ids),
                         np.array(["valid"] * len(texts)), NormStats((0.0, 0.0), (1.0, 1.0), 300.0, 25.0))
    forms = {i.rpartition("-")[0] for i in ids}
    writer_of_form = {f: ("w0" if f.startswith("a") else "w1") for f in forms}
    return data, writer_of_form


def test_bank_writers_map_styles_and_keep_the_style_line_out_of_both_sets():
    data, writer_of_form = writer_data()
    bank = MemoryStyleBank()
    bank.add("line 0 1 2", data.line(6))
    bank.add("line 1 2 0", data.line(20))
    assert find_style_line(data, "line 1 2 0", len(data.line(20))) == 20
    found = bank_writers(bank, data, writer_of_form)
    assert found.writer_of_style == {0: "w0", 1: "w1"} and found.style_line == {0: 6, 1: 20}
    for w in ("w0", "w1"):
        ref, held = set(found.references[w]), set(found.held_out[w])
        assert not ref & held and 6 not in ref | held and 20 not in ref | held
        assert len(ref | held) == 11


def test_lines_a_style_adapter_was_fitted_to_are_neither_references_nor_queries():
    """bank.json's adapt_lines (train/adapt_styles.py) stay out of the measure, as the style's own lines do."""
    data, writer_of_form = writer_data()
    bank = MemoryStyleBank()
    bank.add("line 0 1 2", data.line(6))
    bank.index = {"0": {"line": str(data.line_ids[6]), "adapt_lines": [str(data.line_ids[i]) for i in (0, 1, 9)]}}
    found = bank_writers(bank, data, writer_of_form)
    kept = set(found.references["w0"]) | set(found.held_out["w0"])
    assert not kept & {0, 1, 6, 9} and len(kept) == 8


def test_lines_set_aside_for_learning_a_hand_leave_the_scorers_references_and_queries():
    data, writer_of_form = writer_data()
    bank = MemoryStyleBank()
    bank.add("line 0 1 2", data.line(6))
    bank.add("line 1 2 0", data.line(20))
    found = bank_writers(bank, data, writer_of_form)
    trimmed, aside = set_aside(found, [0, 1], 5)
    assert sorted(aside) == [0, 1] and all(len(ix) == 5 for ix in aside.values())
    for sid, w in ((0, "w0"), (1, "w1")):
        kept = set(trimmed.references[w]) | set(trimmed.held_out[w])
        assert not kept & set(aside[sid]), "a line learnt from is never scored against"
        assert kept | set(aside[sid]) == set(found.references[w]) | set(found.held_out[w])
        assert len(trimmed.references[w]) >= 2 and len(trimmed.held_out[w]) >= 2
    # the original is untouched, and a writer with too few lines is skipped rather than emptied
    assert len(found.references["w0"]) + len(found.held_out["w0"]) == 11
    assert set_aside(found, [0], 9)[1] == {}


def test_the_measure_finds_each_writers_own_lines_and_spreads_a_plain_hand():
    """A scorer that sees width (the two writers differ in it) finds real lines as their writer; lines
    'primed' with a style but written in the other writer's hand score 0; an unprimed hand that looks
    like one writer piles onto that writer."""
    data, writer_of_form = writer_data()
    bank = MemoryStyleBank()
    bank.add("line 0 1 2", data.line(6))
    bank.add("line 1 2 0", data.line(20))
    found = bank_writers(bank, data, writer_of_form)

    class WidthScorer:
        metrics = {}

        def embed(self, lines):
            w = np.array([np.abs(o[:, 0]).sum() / max(np.abs(o[:, 1]).sum(), 1e-9) for o in lines])
            v = np.column_stack([np.cos(w), np.sin(w)])
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    own = [(0, 1.0, data.line(0)), (1, 1.0, data.line(13))]
    swapped = [(0, 0.5, data.line(13)), (1, 0.5, data.line(0))]
    plain = [(None, 1.0, data.line(1)), (None, 1.0, data.line(2))]
    report = measure(WidthScorer(), data, found, own + swapped + plain)
    assert report["ceiling"]["rate"] == 1.0 and report["writers"] == 2
    assert report["by_bias"]["1"]["primed"]["rate"] == 1.0 and report["by_bias"]["0.5"]["primed"]["rate"] == 0.0
    assert report["by_bias"]["1"]["unprimed"]["share"] == {"w0": 1.0, "w1": 0.0}
    assert report["by_bias"]["1"]["unprimed"]["max_share_over_fair"] == 2.0


# ---- what a person sees: traits -----------------------------------------------------------------------------
def hand_line(slant: float, gap: float, words: int, seed: int) -> np.ndarray:
    """A line of `words` three-letter words: each letter one arch 2 high, 0.3 apart within a word and
    `gap` ink heights between words, sheared by `slant` (x per unit of height), with a little noise."""
    from scribe.ink import strokes_to_offsets
    rng = np.random.default_rng(seed)
    strokes, x = [], 0.0
    for w in range(words):
        for _ in range(3):
            t = np.linspace(0, np.pi, 9)
            y = -2.0 * np.sin(t) + rng.normal(0, 0.02, 9)            # y down: the arch rises
            strokes.append(np.column_stack([x + t / np.pi - slant * y, y]))
            x += 1.3
        x += gap * 2.0 - 0.3
    return strokes_to_offsets(strokes)


def test_traits_follow_the_writer_only_when_the_lines_are_in_the_writers_hand():
    from scribe.style_fidelity import BankWriters, TRAITS, traits_followed, traits_lines
    hands = {0: (0.0, 0.4), 1: (0.3, 0.8), 2: (-0.2, 1.2), 3: (0.5, 1.6)}     # slant, word gap
    offs, texts = [], []
    for s, (k, g) in hands.items():
        for n in range(3):
            offs.append(hand_line(k, g, 3, seed=10 * s + n))
            texts.append("abc def ghi")
    starts = np.concatenate([[0], np.cumsum([len(o) for o in offs])]).astype(np.int64)
    data = ProcessedData(np.concatenate(offs).astype(np.float32), starts, np.array(texts),
                         np.array([f"x0{s}-000z-0{n}" for s in hands for n in range(3)]),
                         np.array(["valid"] * len(offs)), NormStats((0.0, 0.0), (1.0, 1.0), 300.0, 25.0))
    writers = BankWriters({s: f"w{s}" for s in hands}, {s: 3 * s for s in hands},
                          {f"w{s}": [3 * s] for s in hands}, {f"w{s}": [3 * s + 1, 3 * s + 2] for s in hands})
    own_hand = [(hand_line(0.1, 0.9, 2, seed=99 + n), "abc def") for n in range(3)]
    faithful = {s: [(hand_line(k, g, 2, seed=500 + s), "abc def")] for s, (k, g) in hands.items()}
    out = traits_followed(data, writers, faithful, own_hand)
    assert out["styles"] == [0, 1, 2, 3] and set(out["traits"]) == set(TRAITS)
    for name in ("slant", "word gap"):
        t = out["traits"][name]
        assert t["r"] > 0.98 and t["distance"] < t["own_distance"] / 3
    low, high = out["traits"]["word gap"]["writers"]
    assert low == pytest.approx(0.4, abs=0.05) and high > 1.2       # a slanted hand's clear gaps are narrower
    assert out["traits"]["lifts"]["r"] is None                        # one lift a letter in every hand: no r
    # every style written in the next writer's hand: its traits no longer follow its writer
    shifted = {s: [(hand_line(*hands[(s + 1) % 4], 2, seed=700 + s), "abc def")] for s in hands}
    moved = traits_followed(data, writers, shifted, own_hand)
    assert moved["traits"]["word gap"]["r"] < 0.5 and moved["traits"]["slant"]["r"] < 0.5
    md = "\n".join(traits_lines(out, 1.0))
    assert "| gap between words (ink heights) | 1.00 |" in md and "4 styles" in md


@pytest.mark.slow
def test_writers_of_forms_is_the_clock_chain_in_one_call(iam_dir):
    assert iam.writers_of_forms(iam_dir) == iam.writer_of_form(iam.derive_writers(iam.read_form_clocks(iam_dir)))
