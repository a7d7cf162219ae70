"""Measuring and wrapping labels, so that no label on the board is ever cut.

Widths are measured with the advance widths of DejaVu Sans, the widest of the
common sans fonts (and the one the drawing asks for), plus a little room; so a label
that fits here fits on screen, in a browser or in the PNG export.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["FONT", "SMALL", "text_width", "wrap"]

FONT = 12.0
"""Label size, px."""
SMALL = 10.5
"""Size of the second-level lines (what feeds a read model), px."""

# Advance widths of DejaVu Sans, in thousandths of an em, for the characters 32..126.
_ASCII_WIDTHS = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636,
    636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698,
    770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732,
    684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635,
    634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592,
    525, 636, 337, 636, 838,
)  # fmt: skip
_SAFETY = 1.04
"""Room for a font a little wider than the metrics (and for rounding)."""


def text_width(text: str, size: float = FONT) -> float:
    """The width of ``text`` in px (DejaVu Sans metrics; other characters count 1 em).

    >>> round(text_width("Paid"))
    27
    """
    total = 0
    for ch in text:
        code = ord(ch)
        total += _ASCII_WIDTHS[code - 32] if 32 <= code < 127 else 1000
    return total / 1000 * size * _SAFETY


_WORDS = re.compile(r"(?<= )|(?=[→←])")
_HUMPS = re.compile(r"(?<=[_./:,])|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?=\()")


def _fill(pieces: Iterable[str], width: float, size: float) -> list[str]:
    """Greedy: as many pieces on a line as fit (a piece alone may not fit)."""
    lines: list[str] = []
    line = ""
    for piece in pieces:
        if not line or text_width((line + piece).rstrip(), size) <= width:
            line += piece
        else:
            lines.append(line)
            line = piece
    if line:
        lines.append(line)
    return lines


def _split(piece: str, width: float, size: float) -> list[str]:
    """A piece too wide for a line, in parts that fit (breaking it where it would read)."""
    parts = _fill((p for p in _HUMPS.split(piece) if p), width, size)
    result: list[str] = []
    for part in parts:
        while text_width(part.rstrip(), size) > width and len(part) > 1:
            cut = len(part) - 1
            while cut > 1 and text_width(part[:cut], size) > width:
                cut -= 1
            result.append(part[:cut])
            part = part[cut:]
        result.append(part)
    return result


def wrap(text: str, width: float, size: float = FONT) -> tuple[str, ...]:
    """``text`` in lines no wider than ``width`` px; every character is kept.

    Lines break between words (before an arrow too); a word too long for a line breaks
    after ``_``, ``.``, ``/``, ``:`` or ``,``, or between the humps of a CamelCase name,
    and as a last resort anywhere.

    >>> wrap("issue_complimentary_tickets", 150)
    ('issue_complimentary_', 'tickets')
    >>> wrap("DiscountCodeCreated", 100)
    ('DiscountCode', 'Created')
    >>> wrap("Purchase: Paid → send confirmation", 130)
    ('Purchase: Paid →', 'send confirmation')
    """
    words: list[str] = []
    for word in (w for w in _WORDS.split(text) if w):
        if text_width(word.rstrip(), size) <= width:
            words.append(word)
        else:
            words.extend(_split(word, width, size))
    lines = [line.strip() for line in _fill(words, width, size)]
    return tuple(line for line in lines if line) or ("",)
