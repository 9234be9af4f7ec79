"""CSV for people who open it in Excel or WPS: a text cell that starts like a formula
(`=`, `+`, `-`, `@`, tab, CR) is written with a leading apostrophe, so a product
named `=HYPERLINK(...)` shows as text instead of running. Numbers stay numbers."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer with CRLF lines whose text cells cannot start a formula."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(v) for v in row])


def writer(out: TextIO) -> SafeWriter:
    return SafeWriter(out)
