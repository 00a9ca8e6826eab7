import tarfile

import numpy as np
import pytest

from scribe import iam
from scribe.train.make_synthetic_iam import write_fake_iam


def test_transcription_lines_after_csr():
    text = "OCR:\n\nignored\n\nCSR:\n\nfirst line\nsecond line\n\n"
    assert iam.parse_transcription(text) == ["first line", "second line"]
    assert iam.parse_transcription("no marker") == []


def test_stroke_xml_parses_points_in_any_attribute_order():
    xml = (b'<StrokeSet><Stroke><Point time="1" y="20" x="10"/><Point x="11" y="22" time="2"/></Stroke>'
           b'<Stroke><Point x="30" y="5"/></Stroke></StrokeSet>')
    strokes = iam.parse_stroke_xml(xml)
    assert [s.tolist() for s in strokes] == [[[10, 20], [11, 22]], [[30, 5]]]
    with pytest.raises(iam.DataError, match="no <Stroke>"):
        iam.parse_stroke_xml(b"<html/>")


def test_pairs_lines_skips_mismatched_forms_archive_and_folder(tmp_path):
    root = write_fake_iam(tmp_path / "iam", forms=4, lines_per_form=3)
    # break one form: an extra transcription line that has no stroke file
    with tarfile.open(root / "ascii-all.tar.gz") as t:
        t.extractall(tmp_path / "unpacked", filter="data")
    with tarfile.open(root / "lineStrokes-all.tar.gz") as t:
        t.extractall(tmp_path / "unpacked", filter="data")
    broken = next((tmp_path / "unpacked" / "ascii").rglob("z00-001.txt"))
    broken.write_text(broken.read_text() + "one more line\n")
    report = iam.ReadReport()
    lines = iam.read_lines(tmp_path / "unpacked", report=report)
    assert report.forms_skipped == ["z00-001"] and report.forms_read == 3
    assert len(lines) == 9 and lines[0].line_id == "z00-000-01"
    from_archives = iam.read_lines(root)
    assert len(from_archives) == 12
    assert from_archives[0].text == lines[0].text
    np.testing.assert_array_equal(from_archives[0].strokes[0], lines[0].strokes[0])


def test_missing_or_corrupt_archives_tell_the_user_what_to_download(tmp_path):
    with pytest.raises(iam.DataError, match="lineStrokes-all.tar.gz and ascii-all.tar.gz"):
        iam.read_lines(tmp_path)
    (tmp_path / "ascii-all.tar.gz").write_bytes(b"not gzip")
    with pytest.raises(iam.DataError, match="not a readable .tar.gz"):
        iam.read_lines(tmp_path)


@pytest.mark.slow
def test_real_archives_pair_lines_with_text(iam_dir):
    forms = set(sorted(iam.read_split_lists(iam_dir / "splits")["testset_v"])[:3])
    lines = iam.read_lines(iam_dir, forms=forms)
    assert {ln.form_id for ln in lines} == forms
    assert all(ln.text and ln.strokes for ln in lines)
    pts = np.concatenate(lines[0].strokes)
    assert pts.min() >= 0 and np.ptp(pts[:, 0]) > 500    # whiteboard units, a whole line wide
