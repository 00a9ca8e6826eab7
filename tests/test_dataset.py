import numpy as np
import pytest

from scribe.alphabet import Alphabet
from scribe.dataset import BucketBatches, NormStats, ProcessedData, collate
from helpers import synthetic_offsets


def make_data(n=20):
    offs = [np.round(synthetic_offsets(n_strokes=2 + i % 4, seed=i)).astype(np.int16) for i in range(n)]
    starts = np.concatenate([[0], np.cumsum([len(o) for o in offs])])
    texts = np.array(["ab c" * (1 + i % 3) for i in range(n)])
    splits = np.array(["train" if i % 5 else "valid" for i in range(n)])
    return ProcessedData(np.concatenate(offs), starts, texts, np.array([f"l{i}" for i in range(n)]), splits,
                         NormStats((1.0, 0.5), (30.0, 40.0), 200.0, 25.0))


def test_save_load_round_trip(tmp_path):
    d = make_data()
    d.save(tmp_path / "d.npz")
    back = ProcessedData.load(tmp_path / "d.npz")
    assert back.stats == d.stats and len(back) == len(d)
    np.testing.assert_array_equal(back.line(3), d.line(3))
    assert list(back.indices("valid")) == [0, 5, 10, 15]


def test_missing_and_corrupt_files_say_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="prepare_data.py"):
        ProcessedData.load(tmp_path / "none.npz")
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="prepare_data.py"):
        ProcessedData.load(tmp_path / "bad.npz")


def test_batches_are_shifted_masked_and_similar_in_length():
    d = make_data(40)
    bb = BucketBatches(d, "train", Alphabet(" abc"), 4, seed=1)
    batches = bb.epoch()
    assert sorted(np.concatenate(batches).tolist()) == sorted(d.indices("train").tolist())
    b = bb.make(batches[0])
    lengths = b.mask.sum(1)
    assert b.inputs[:, 0].tolist() == [[0, 0, 1]] * len(lengths)
    assert np.allclose(b.inputs[:, 1:], b.targets[:, :-1])
    assert float(lengths.max() - lengths.min()) <= 0.5 * float(lengths.max())


def test_lines_with_unknown_characters_are_left_out():
    d = make_data(20)
    d.texts = np.array(["ab" if i % 2 else "ab c" for i in range(20)])
    bb = BucketBatches(d, "train", Alphabet(" ab"), 2)   # no 'c': the "ab c" lines cannot be learnt
    assert len(bb.idx) > 0 and all(str(d.texts[i]) == "ab" for i in bb.idx)
    with pytest.raises(ValueError, match="no usable lines"):
        BucketBatches(d, "train", Alphabet("z"), 2)


def test_collate_pads_text_with_zero():
    b = collate([np.zeros((3, 3), np.float32), np.zeros((5, 3), np.float32)], [[1, 2], [3]])
    assert b.text.tolist() == [[1, 2], [3, 0]] and b.text_mask.tolist() == [[1, 1], [1, 0]]
