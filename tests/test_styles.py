import numpy as np
import pytest

from scribe import ink
from scribe.dataset import NormStats
from scribe.styles import StyleBank, StyleError, read_style, write_style
from helpers import synthetic_offsets

STATS = NormStats((10.0, 0.0), (40.0, 40.0), 300.0, 25.0)


def test_bank_lists_ids_and_bad_ids_name_the_valid_ones(tiny_style_dir):
    bank = StyleBank(tiny_style_dir)
    assert bank.ids == [0, 1, 2]
    assert bank.get(1).text == "quick fox"
    for bad in (3, -1, "x"):
        with pytest.raises(StyleError, match="valid style ids: 0-2"):
            bank.get(bad)


def test_files_in_other_units_give_the_same_prime(tmp_path):
    offsets = synthetic_offsets(points=40)
    write_style(tmp_path, 0, "hello", offsets)
    other = offsets.copy()
    other[:, :2] /= np.median(np.linalg.norm(other[:, :2], axis=1))   # another tool: median step 1
    write_style(tmp_path, 1, "hello", other)
    bank = StyleBank(tmp_path)
    a, b = bank.get(0).prime(STATS), bank.get(1).prime(STATS)
    assert a.offsets.shape == b.offsets.shape
    np.testing.assert_allclose(a.offsets, b.offsets, atol=1e-3)
    # and the prime is at the training data's size
    strokes = ink.offsets_to_strokes(STATS.denormalise(a.offsets))
    assert abs(ink.ink_height(strokes) / STATS.ink_height - 1) < 0.1


def test_malformed_style_files_are_reported(tmp_path):
    write_style(tmp_path, 0, "ok", synthetic_offsets())
    np.save(tmp_path / "style-1-chars.npy", np.array(b"two d"))
    np.save(tmp_path / "style-1-strokes.npy", np.zeros((5, 2), np.float32))
    np.save(tmp_path / "style-2-chars.npy", np.array([b"not", b"0-d"]))
    np.save(tmp_path / "style-2-strokes.npy", np.zeros((5, 3), np.float32))
    (tmp_path / "style-3-chars.npy").write_bytes(b"junk")
    np.save(tmp_path / "style-3-strokes.npy", np.zeros((5, 3), np.float32))
    with pytest.raises(StyleError, match=r"\(T, 3\)"):
        read_style(tmp_path, 1)
    with pytest.raises(StyleError, match="0-d bytes"):
        read_style(tmp_path, 2)
    with pytest.raises(StyleError, match="unreadable"):
        read_style(tmp_path, 3)


def test_the_bank_index_gives_each_style_its_description_and_a_bad_index_is_ignored(tiny_style_dir):
    import json
    from scribe.web.views import style_chart_html, style_choices
    (tiny_style_dir / "bank.json").write_text(json.dumps({"1": {"description": "upright, narrow, joined",
                                                                 "writer": "a01-001w"}, "2": "not a record"}))
    bank = StyleBank(tiny_style_dir)
    assert bank.get(1).description == "upright, narrow, joined" and bank.get(0).description == ""
    assert ("1: upright, narrow, joined", "1") in style_choices(bank)
    assert "upright, narrow, joined" in style_chart_html(bank)
    for bad in ("{", "[1, 2]", '{"1": {"description": 7}}', "[" * 5000):
        (tiny_style_dir / "bank.json").write_text(bad)
        again = StyleBank(tiny_style_dir)
        assert again.get(1).description == "" and again.get(1).text == "quick fox"


def test_a_style_with_more_lines_of_its_writer_round_trips_and_primes_as_the_average(tmp_path):
    import torch
    from helpers import tiny_checkpoint
    from scribe.sampling import Sampler
    lines = [("hello there", synthetic_offsets(seed=1)), ("quick fox", synthetic_offsets(seed=2)),
             ("a line of ink", synthetic_offsets(seed=3))]
    write_style(tmp_path, 4, *lines[0], more=lines[1:])
    write_style(tmp_path, 5, *lines[0])
    bank = StyleBank(tmp_path)
    assert bank.ids == [4, 5]                                    # extra files are not styles of their own
    style = bank.get(4)
    assert [t for t, _ in style.lines()] == ["hello there", "quick fox", "a line of ink"]
    assert all(np.array_equal(o, want) for (_, o), (_, want) in zip(style.lines(), lines))
    assert bank.get(5).more == []
    ck = tiny_checkpoint()
    sampler = Sampler(ck.build_model(), ck.stats)
    primes = style.primes(ck.stats)
    encoded = [ck.alphabet.encode(t) + ck.alphabet.encode_separator() for t, _ in style.lines()]
    with torch.no_grad():
        each, _ = sampler.prime_states(primes, encoded)
        avg, last = sampler.style_state(primes, encoded)
        one, _ = sampler.style_state(primes[:1], encoded[:1])
        single, _ = sampler.prime_states(primes[:1], encoded[:1])
    assert all(a.shape[0] == 1 and torch.allclose(a[0], e.mean(0)) for a, e in zip(avg, each))
    assert all(torch.equal(o, s) for o, s in zip(one, single)) and last.shape[0] == 1
