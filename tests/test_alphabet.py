import pytest

from scribe.alphabet import Alphabet, UnknownCharactersError


def test_lookalikes_are_mapped_before_rejection():
    a = Alphabet(" '-\".abc")
    assert a.clean("\u201cab\u201d \u2014 c\u2019a\u2026") == "\"ab\" - c'a..."


def test_unknown_characters_are_listed_once_each():
    a = Alphabet(" abc")
    with pytest.raises(UnknownCharactersError) as e:
        a.encode("abZ cZé")
    assert e.value.unknown == ["Z", "é"]
    assert "'Z'" in str(e.value) and "'é'" in str(e.value)


def test_encode_decode_round_trip_and_padding_index():
    a = Alphabet("cba ")
    idx = a.encode("a cab")
    assert 0 not in idx and a.decode(idx + [0, 0]) == "a cab"
    assert a.size == 5


def test_from_texts_respects_min_count_and_spaces_collapse():
    a = Alphabet.from_texts(["a b", "ab  a", "q"], min_count=2)
    assert a.chars == " ab"
    assert a.clean("  a   b ") == "a b"


def test_repeated_characters_rejected():
    with pytest.raises(ValueError):
        Alphabet("aa")
