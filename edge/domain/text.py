"""Names as people typed them, cleaned once at the boundary: NFC, no control or
invisible format characters (bidi overrides, zero-width joiners, NUL, newlines),
runs of spaces as one. A name with a right-to-left override or a hidden character
would print as one thing on the pickup list and sort or match as another."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def clean_line(text: str) -> str:
    """One line of visible text: the form a name, an address part or a note is kept in."""
    text = unicodedata.normalize("NFC", text)
    kept = (
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs", "Cn")
    )
    return _SPACES.sub(" ", "".join(kept)).strip()
