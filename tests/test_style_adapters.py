"""Style adapters (scribe.style_adapters): each style's own biases and output layer, given to its own
rows of a batch. The fast step against the eager one and against one model per row; the file's
checks; a Hand that writes with them (and says so when it cannot)."""
import numpy as np
import pytest
import torch

from helpers import synthetic_offsets
from test_fast import tiny_model
from scribe.checkpoint import load_checkpoint
from scribe.fast import NEVER_PACKED, fast_step
from scribe.hand import Hand
from scribe.model import RowParams
from scribe.request import LineSpec
from scribe.sampling import LineRequest, Sampler
from scribe.style_adapters import (ADAPTER_FILE, AdapterError, StyleAdapter, adapted_names, base_fingerprint,
                                   load_adapters, save_adapters)
from scribe.styles import StyleBank


def random_adapter(model, seed, scale=0.3, style_id=0):
    g = torch.Generator().manual_seed(seed)
    names = set(adapted_names(model))
    params = {n: p.detach() + scale * torch.randn(p.shape, generator=g)
              for n, p in model.named_parameters() if n in names}
    return StyleAdapter(style_id, params, f"test-{seed}")


def test_an_adapter_holds_every_bias_and_the_output_layer_only():
    model = tiny_model(3)
    names = adapted_names(model)
    assert "output.weight" in names and "window.bias" in names and "cell1.bias_ih" in names
    assert not any(n.endswith("weight") and not n.startswith("output.") for n in names)
    assert len([n for n in names if n.startswith("upper.")]) == 4       # two upper layers, two biases each


@pytest.mark.parametrize("packed_rows", [2, NEVER_PACKED, None])
def test_each_row_steps_as_the_model_with_its_own_adapter(packed_rows, monkeypatch):
    """Rows of three sets (the model's own, two adapters) in one batch: the eager step with RowParams,
    the compiled step with its adapter_rows, and one adapted model per row agree step by step."""
    model = tiny_model(3)
    if packed_rows is None:
        monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    adapters = [random_adapter(model, 1), random_adapter(model, 2)]
    sel = [1, 0, 2, 1]
    rp = RowParams.of(model, [None, adapters[0].params, adapters[1].params], sel)
    per_row = [model if s == 0 else adapters[s - 1].applied_to(model) for s in sel]
    fast = fast_step(model, packed_rows=packed_rows)
    rows = fast.adapter_rows(rp.sel, rp.b1, rp.bw, rp.b_upper, rp.w_out, rp.b_out)
    gen = torch.Generator().manual_seed(1)
    B = len(sel)
    onehot = model.text_onehot(torch.randint(1, 20, (B, 9), generator=gen))
    s_eager, s_fast = model.initial_state(B), model.initial_state(B)
    s_rows = [m.initial_state(1) for m in per_row]
    with torch.no_grad():
        for _ in range(120):
            x = torch.randn(B, 3, generator=gen)
            x[:, 2] = (x[:, 2] > 1).float()
            out_e, s_eager, _ = model.step(x, s_eager, onehot, rp)
            out_f, s_fast, _ = fast(x, s_fast, onehot, rows)
            torch.testing.assert_close(out_f, out_e, atol=1e-5, rtol=1e-5)
            for b, m in enumerate(per_row):
                out_b, s_rows[b], _ = m.step(x[b:b + 1], s_rows[b], onehot[b:b + 1])
                torch.testing.assert_close(out_e[b:b + 1], out_b, atol=1e-5, rtol=1e-5)
        plain, _, _ = model.step(x, s_eager, onehot)
    assert float((plain[0] - out_e[0]).abs().max()) > 1e-3      # the adapter really changes the outputs


def test_a_batch_without_adapters_takes_the_plain_products():
    model = tiny_model(3)
    sampler = Sampler(model, _stats(), fast_step(model))
    assert sampler.row_params([LineRequest([1, 2, 3]), LineRequest([4, 5])]) is None


def _stats():
    from scribe.dataset import NormStats
    return NormStats((10.0, 0.0), (40.0, 40.0), 300.0, 25.0)


def test_priming_with_an_adapter_reads_the_prime_with_its_weights():
    from scribe.sampling import Prime
    model = tiny_model(3)
    adapter = random_adapter(model, 3)
    prime = Prime(synthetic_offsets(seed=1).astype(np.float32) / 20.0, "hello")
    enc = [[1, 2, 3, 4, 5, 6]]
    via_adapter, _ = Sampler(model, _stats(), fast_step(model)).prime_states([prime], enc, adapter)
    stepped, _ = Sampler(adapter.applied_to(model), _stats()).prime_states([prime], enc)     # eager, step by step
    plain, _ = Sampler(model, _stats()).prime_states([prime], enc)
    for a, b in zip(via_adapter, stepped):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    assert float((via_adapter[4] - plain[4]).abs().max()) > 1e-3


def test_the_file_round_trips_and_refuses_another_model(tmp_path):
    model, other = tiny_model(3, seed=0), tiny_model(3, seed=1)
    adapters = {0: random_adapter(model, 1).params, 2: random_adapter(model, 2).params}
    path = save_adapters(tmp_path / "styles" / ADAPTER_FILE, model, adapters, {0: {"adapt_lines": ["a-1"]}})
    loaded = load_adapters(path, model)
    assert sorted(loaded) == [0, 2]
    for name, value in adapters[2].items():
        torch.testing.assert_close(loaded[2].params[name], value, atol=2e-3, rtol=1e-3)   # deltas in half precision
    assert loaded[0].key != loaded[2].key
    assert base_fingerprint(model) != base_fingerprint(other)
    with pytest.raises(AdapterError, match="another model") as e:
        load_adapters(path, other)
    assert str(tmp_path) not in str(e.value)
    with pytest.raises(AdapterError, match="not a readable") as e:
        load_adapters(tmp_path / "styles" / "missing.safetensors", model)
    assert str(tmp_path) not in str(e.value) and "missing.safetensors" in str(e.value)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(AdapterError, match="not a readable") as e:
        load_adapters(path, model)
    assert str(tmp_path) not in str(e.value)


def _bank_with_adapters(ckpt_path, style_dir, ids=(1,)):
    model = load_checkpoint(ckpt_path).build_model()
    save_adapters(style_dir / ADAPTER_FILE, model, {i: random_adapter(model, 10 + i, 0.5).params for i in ids}, {})
    return model


def test_a_hand_writes_each_style_with_its_own_adapter(tiny_ckpt_path, tiny_style_dir):
    """Style 1 has an adapter, style 0 none. Fast and eager write the same ink; style 1's ink differs
    from priming alone, style 0's does not; the same seed gives the same ink."""
    _bank_with_adapters(tiny_ckpt_path, tiny_style_dir)
    specs = [LineSpec("hello there", 0, 1.0), LineSpec("hi all", 1, 1.0), LineSpec("plain", None, 1.0)]
    fast = Hand.load(tiny_ckpt_path, tiny_style_dir)
    eager = Hand.load(tiny_ckpt_path, tiny_style_dir, fast=False)
    assert fast.primed(1).adapter is not None and fast.primed(0).adapter is None
    a = fast.write(specs, seed=3, max_steps=40, candidates=1)
    b = eager.write(specs, seed=3, max_steps=40, candidates=1)
    for x, y in zip(a.lines, b.lines):
        np.testing.assert_allclose(x.offsets, y.offsets, atol=1e-3)
    alone = Hand(load_checkpoint(tiny_ckpt_path), StyleBank(tiny_style_dir, adapters=False))
    c = alone.write(specs, seed=3, max_steps=40, candidates=1)
    np.testing.assert_allclose(a.lines[0].offsets, c.lines[0].offsets, atol=1e-3)
    assert a.lines[1].offsets.shape != c.lines[1].offsets.shape or not np.allclose(a.lines[1].offsets, c.lines[1].offsets)
    again = fast.write(specs, seed=3, max_steps=40, candidates=1)
    np.testing.assert_array_equal(again.lines[1].offsets, a.lines[1].offsets)
    assert not [n for n in a.notes() if "adapters" in n.text]


def test_adapters_of_another_model_are_not_used_and_the_result_says_so(tiny_ckpt_path, tiny_style_dir):
    ckpt = load_checkpoint(tiny_ckpt_path)
    other = ckpt.build_model()                 # the same shapes, other weights: fitted to another model
    with torch.no_grad():
        other.cell1.weight_hh.add_(0.1)
    save_adapters(tiny_style_dir / ADAPTER_FILE, other, {1: random_adapter(other, 3).params}, {})
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    result = hand.write([LineSpec("hi all", 1, 1.0)], seed=3, max_steps=30, candidates=1)
    notes = [n for n in result.notes() if "adapters" in n.text]
    assert len(notes) == 1 and notes[0].level == "warning" and "another model" in notes[0].text
    assert str(tiny_style_dir) not in notes[0].text
    page = hand.write_paragraph("hi all there", style=1, max_steps=30, candidates=1, seed=3)
    assert [n.text for n in page.notes() if "adapters" in n.text] == [notes[0].text]    # once, in paragraphs too
    alone = Hand(ckpt, StyleBank(tiny_style_dir, adapters=False)).write([LineSpec("hi all", 1, 1.0)], seed=3,
                                                                           max_steps=30, candidates=1)
    np.testing.assert_allclose(result.lines[0].offsets, alone.lines[0].offsets, atol=1e-3)


def test_the_lines_to_fit_are_spread_over_the_writer_and_never_the_styles_own():
    from test_writers import writer_data
    from scribe.train.adapt_styles import choose_lines, writer_lines
    data, writer_of_form = writer_data()
    own = {str(data.line_ids[6]), str(data.line_ids[7])}
    pool = writer_lines(data, "w0", writer_of_form, own)
    assert len(pool) == 10 and not {str(data.line_ids[i]) for i in pool} & own
    assert all(writer_of_form[str(data.line_ids[i]).rpartition("-")[0]] == "w0" for i in pool)
    from scribe.alphabet import Alphabet
    alphabet = Alphabet(" 0123456789abcdefghijklmnopqrstuvwxyz")
    chosen = choose_lines(data, pool, 5, alphabet, data.stats)
    assert len(chosen) == 5 and set(chosen) <= set(pool)
    forms = {str(data.line_ids[i]).rpartition("-")[0] for i in chosen}
    assert len(forms) == 3                                  # every form of the writer, not the first ones


def test_with_a_reader_the_lines_to_fit_are_those_it_reads_best():
    from test_writers import writer_data
    from scribe.alphabet import Alphabet
    from scribe.train.adapt_styles import choose_lines, writer_lines
    data, writer_of_form = writer_data()
    pool = writer_lines(data, "w0", writer_of_form, set())
    worst_first = pool[::-1]              # the reader misreads a line the more, the earlier it comes

    class Reader:
        def read(self, lines):
            assert len(lines) == len(pool)
            texts = [str(data.texts[i]) for i in pool]
            return [t[:max(0, len(t) - worst_first.index(i) - 1)] for t, i in zip(texts, pool)]

    chosen = choose_lines(data, pool, 4, Alphabet(" 0123456789abcdefghijklmnopqrstuvwxyz"), data.stats, Reader())
    assert chosen == sorted(pool[-4:])


@pytest.mark.slow
def test_the_shipped_bank_has_an_adapter_per_style_fitted_on_other_lines_of_its_writer(iam_dir):
    import json
    from scribe import iam
    from scribe.checkpoint import default_checkpoint
    from scribe.styles import SHIPPED_STYLE_DIR
    model = load_checkpoint(default_checkpoint()).build_model()
    adapters = load_adapters(SHIPPED_STYLE_DIR / ADAPTER_FILE, model)
    bank = StyleBank(SHIPPED_STYLE_DIR)
    assert sorted(adapters) == bank.ids
    index = json.loads((SHIPPED_STYLE_DIR / "bank.json").read_text())
    writer_of = iam.writer_of_form(iam.derive_writers(iam.read_form_clocks(iam_dir)))
    testset_v = set(iam.read_split_lists(iam.default_split_dir(iam_dir))["testset_v"])
    form = lambda line_id: line_id.rpartition("-")[0]
    for sid in bank.ids:
        rec = index[str(sid)]
        own = {rec["line"], *rec["extra_lines"]}
        fitted = rec["adapt_lines"]
        assert len(fitted) >= 5 and not set(fitted) & own
        assert {writer_of[form(x)] for x in fitted} == {writer_of[form(rec["line"])]}
        assert {form(x) for x in fitted} <= testset_v


def test_fitting_some_styles_again_keeps_the_others(tmp_path):
    from scribe.train.adapt_styles import existing_adapters
    model = tiny_model(3)
    folder = tmp_path / "styles"
    save_adapters(folder / ADAPTER_FILE, model, {0: random_adapter(model, 1).params, 4: random_adapter(model, 2).params},
                  {0: {"adapt_lines": ["a01-001w-01"]}})
    params, records, strength = existing_adapters(folder, model)
    assert sorted(params) == [0, 4] and records[0]["adapt_lines"] == ["a01-001w-01"] and records[4] == {}
    assert strength == 1.0
    other = tiny_model(3, seed=9)
    assert existing_adapters(folder, other) == ({}, {}, None)    # fitted to another model: start afresh
    assert existing_adapters(tmp_path / "none", model) == ({}, {}, None)


def test_the_file_says_how_much_of_each_adapter_the_sampler_applies(tmp_path):
    model = tiny_model(3)
    fitted = random_adapter(model, 1).params
    path = save_adapters(tmp_path / ADAPTER_FILE, model, {3: fitted}, {}, strength=0.5)
    base = dict(model.named_parameters())
    half, whole = load_adapters(path, model)[3], load_adapters(path, model, strength=1.0)[3]
    for name, value in fitted.items():
        torch.testing.assert_close(whole.params[name], value, atol=2e-3, rtol=1e-3)
        torch.testing.assert_close(half.params[name], base[name].detach() + 0.5 * (value - base[name].detach()),
                                   atol=2e-3, rtol=1e-3)
    assert half.key != whole.key


def test_a_style_s_own_strength_wins_over_the_file_s_and_a_given_one_over_both(tmp_path):
    model = tiny_model(3)
    fitted = {0: random_adapter(model, 1).params, 1: random_adapter(model, 2).params}
    path = save_adapters(tmp_path / ADAPTER_FILE, model, fitted, {1: {"strength": 0.25}}, strength=0.5)
    base = dict(model.named_parameters())
    loaded, forced = load_adapters(path, model), load_adapters(path, model, strength=1.0)
    for sid, strength in ((0, 0.5), (1, 0.25)):
        for name, value in fitted[sid].items():
            b = base[name].detach()
            torch.testing.assert_close(loaded[sid].params[name], b + strength * (value - b), atol=2e-3, rtol=1e-3)
            torch.testing.assert_close(forced[sid].params[name], value, atol=2e-3, rtol=1e-3)
    assert loaded[1].key != forced[1].key        # primed states are cached by the values, not the file
    bad = save_adapters(tmp_path / "bad.safetensors", model, fitted, {1: {"strength": "lots"}})
    with pytest.raises(AdapterError, match="style 1's strength must be a number from 0 to 2"):
        load_adapters(bad, model)


def test_a_style_s_strength_is_the_most_its_lines_carry_within_the_legibility_cost():
    from scribe.train.adapt_styles import strength_for
    grid = (0.0, 0.25, 0.5, 0.75, 1.0)
    assert strength_for(grid, [0.03, 0.031, 0.029, 0.03, 0.032], cost=0.01) == 1.0      # costs nothing: all of it
    assert strength_for(grid, [0.05, 0.07, 0.09, 0.11, 0.13], cost=0.01) == 0.1        # 0.08 CER per unit: 0.125
    assert strength_for(grid, [0.05, 0.07, 0.09, 0.11, 0.13], cost=0.02) == 0.25
    assert strength_for(grid, [0.05, 0.2, 0.3, 0.4, 0.5], cost=0.01) == 0.0              # any of it costs too much
    # one noisy reading does not decide it: a dip at 0.5 does not let a rising curve through
    assert strength_for(grid, [0.05, 0.06, 0.05, 0.08, 0.10], cost=0.01) < 0.75


def test_tuning_texts_are_trainset_lines_the_model_can_write(tmp_path):
    from scribe.alphabet import Alphabet
    from scribe.dataset import ProcessedData
    from scribe.train.adapt_styles import tuning_texts
    texts = ["x" * 30 + str(i) for i in range(40)] + ["too short", "ü" * 30 + "a" * 5]
    split = ["train"] * 20 + ["valid"] * 20 + ["train", "train"]
    data = ProcessedData(offsets=np.zeros((len(texts), 3), np.float32), starts=np.arange(len(texts) + 1),
                         texts=np.array(texts), line_ids=np.array([f"a01-{i:03d}z-01" for i in range(len(texts))]),
                         splits=np.array(split), stats=None)
    alphabet = Alphabet("ax0123456789")
    chosen = tuning_texts(data, alphabet, n=8)
    assert len(chosen) == 8 and len(set(chosen)) == 8
    assert all(texts.index(t) < 20 for t in chosen)              # trainset lines only, never testset_v
    assert tuning_texts(data, alphabet, n=8) == chosen           # the same texts every run


@pytest.mark.slow
def test_tuning_reads_each_style_at_every_strength_and_keeps_what_stays_legible(tmp_path):
    """The shipped model, bank and reader, one style, two texts: strength 0 is priming alone (the same
    reading as the bank without its adapters), and the chosen strength is the rule applied to what was read."""
    import shutil
    from scribe.checkpoint import default_checkpoint
    from scribe.recognizer import load_recognizer, reading_cer
    from scribe.train.adapt_styles import TUNE_GRID, TUNE_SEEDS, strength_for, tune_strengths
    from helpers import ROOT
    folder = tmp_path / "styles"
    shutil.copytree(ROOT / "checkpoints" / "styles", folder)
    model = load_checkpoint(default_checkpoint()).build_model()
    fitted = {7: load_adapters(folder / ADAPTER_FILE, model, strength=1.0)[7].params}
    records = {7: {"writer": "w"}}
    texts = ["the engine works at last", "send it before noon"]
    tune_strengths(str(default_checkpoint()), folder, model, fitted, records, texts, cost=0.01)
    tuning = records[7]["strength_tuning"]
    assert tuning["grid"] == list(TUNE_GRID) and len(tuning["cer"]) == len(TUNE_GRID)
    assert tuning["lines"] == len(texts) * len(TUNE_SEEDS) and records[7]["writer"] == "w"
    assert records[7]["strength"] == strength_for(TUNE_GRID, tuning["cer"], 0.01)
    (folder / ADAPTER_FILE).unlink()                         # priming alone
    hand, reader = Hand.load(default_checkpoint(), style_dir=folder), load_recognizer()
    written = [(t, ln.model_offsets) for seed in TUNE_SEEDS
               for t, ln in zip(texts, hand.write([LineSpec(t, 7, 1.0) for t in texts], seed=seed + 7, candidates=1).lines)]
    plain = reading_cer(reader.read([o for _, o in written]), [t for t, _ in written])
    assert tuning["cer"][0] == pytest.approx(plain, abs=0.02)
