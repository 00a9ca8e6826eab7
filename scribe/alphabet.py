"""The character set a model can write, and the mapping from text to indices.

Index 0 is reserved for padding, so a model's one-hot width is len(chars) + 1.
"""
from __future__ import annotations

import unicodedata
from collections import Counter
from typing import Iterable
from .errors import ScribeError

# Lookalikes are mapped before anything is rejected, so that text pasted from a word processor
# works. Each entry maps to characters that IAM-OnDB writers actually used.
LOOKALIKES = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\t": " ",
}


class UnknownCharactersError(ScribeError, ValueError):
    """Raised when text holds characters the model was never trained on."""
    title = "Unknown characters"

    def __init__(self, unknown: list[str], alphabet: "Alphabet"):
        self.unknown = unknown
        shown = ", ".join(repr(c) for c in unknown)
        super().__init__(
            f"this model cannot write {shown}. It knows these characters: {alphabet.chars!r}")


class AlphabetError(ScribeError, ValueError):
    """An alphabet that cannot be used (empty, or a character twice)."""
    title = "Alphabet problem"


class Alphabet:
    def __init__(self, chars: str):
        if len(set(chars)) != len(chars):
            raise AlphabetError(f"alphabet has repeated characters: {chars[:200]!r}")
        if not chars:
            raise AlphabetError("alphabet is empty")
        self.chars = "".join(sorted(chars))
        self._index = {c: i + 1 for i, c in enumerate(self.chars)}

    @classmethod
    def from_texts(cls, texts: Iterable[str], min_count: int = 1) -> "Alphabet":
        counts = Counter(c for t in texts for c in normalise_text(t))
        return cls("".join(c for c, n in counts.items() if n >= min_count))

    def __len__(self) -> int:
        return len(self.chars)

    def __eq__(self, other) -> bool:
        return isinstance(other, Alphabet) and other.chars == self.chars

    def __repr__(self) -> str:
        return f"Alphabet({self.chars!r})"

    @property
    def size(self) -> int:
        """Width of the one-hot vectors, padding included."""
        return len(self.chars) + 1

    def clean(self, text: str) -> str:
        """Map lookalikes, then raise UnknownCharactersError listing anything left unwritable."""
        text = normalise_text(text)
        unknown = sorted({c for c in text if c not in self._index})
        if unknown:
            raise UnknownCharactersError(unknown, self)
        return text

    def encode(self, text: str) -> list[int]:
        return [self._index[c] for c in self.clean(text)]

    def encode_separator(self) -> list[int]:
        """The space that joins a style's text to the new text, if this alphabet has one."""
        return [self._index[" "]] if " " in self._index else []

    def decode(self, indices: Iterable[int]) -> str:
        return "".join(self.chars[i - 1] for i in indices if i > 0)


def normalise_text(text: str) -> str:
    """NFC-compose, map lookalikes and collapse runs of spaces; keeps the text's meaning."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(LOOKALIKES.get(c, c) for c in text)
    return " ".join(text.split())
