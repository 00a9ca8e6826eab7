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
