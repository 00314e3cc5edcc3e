"""Vietnamese text helpers: NFC normalisation, collation keys and accent-free search.

Vietnamese alphabetical order treats ă, â, đ, ê, ô, ơ, ư as letters of their own
(a < ă < â < b < c < d < đ < e < ê ...), while the five tone marks only break ties.
Names are read in lists by given name first (the last word), as Vietnamese HR lists do.
"""
from __future__ import annotations

import unicodedata

ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
# Letter-forming marks, applied after the tone marks are stripped.
_LETTER_MARKS = {"\u0306": "breve", "\u0302": "circumflex", "\u031b": "horn"}
_TONES = {"\u0300": "2", "\u0309": "3", "\u0303": "4", "\u0301": "5", "\u0323": "6"}
_LETTER_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}


def nfc(text: str | None) -> str:
    """Trim and NFC-normalise text coming from a user, a file or a form."""
    if text is None:
        return ""
    return unicodedata.normalize("NFC", str(text)).strip()


def _split_letter(ch: str) -> tuple[str, str]:
    """Split one character into its base letter (ă, ơ ...) and its tone digit."""
    decomposed = unicodedata.normalize("NFD", ch.lower())
    tone = "1"
    base = ""
    for part in decomposed:
        if part in _TONES:
            tone = _TONES[part]
        else:
            base += part
    return unicodedata.normalize("NFC", base), tone


def collation_key(text: str) -> str:
    """A string whose plain code-point order is Vietnamese alphabetical order."""
    primary = []
    tones = []
    for ch in nfc(text):
        base, tone = _split_letter(ch)
        if base in _LETTER_INDEX:
            primary.append(chr(0x41 + _LETTER_INDEX[base]))  # 'A'...: one code per letter
            tones.append(tone)
        elif base.isdigit():
            primary.append("0" + base)
        elif base.isspace():
            primary.append("!")  # a word break sorts before any letter
        elif base.isalnum():
            primary.append("~" + base)
        # punctuation is ignored for ordering
    # A space (lower than every code above) ends the letters, so "An" < "An Bình" < "Anh".
    return "".join(primary) + " " + "".join(tones)


def name_sort_key(full_name: str) -> str:
    """Sort key for a person's name: given name, then family and middle names."""
    words = nfc(full_name).split()
    if not words:
        return ""
    given = words[-1]
    return collation_key(given) + " " + collation_key(" ".join(words))


def fold(text: str) -> str:
    """Lower-case, accent-free form for searching 'nguyen' to find 'Nguyễn'."""
    decomposed = unicodedata.normalize("NFD", nfc(text).lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def sorted_vi(items, key=lambda item: item):
    """Sort any iterable in Vietnamese order by the given text key."""
    return sorted(items, key=lambda item: collation_key(key(item)))
