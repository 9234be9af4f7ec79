"""CSV exports open in Excel/WPS: a text cell that starts like a formula is text."""

from __future__ import annotations

import csv
import io

from centre_world import Centre
from supply_world import MONDAY, place

from edge.domain import spreadsheet


def test_formula_prefixes_are_written_as_text_and_numbers_stay_numbers() -> None:
    buf = io.StringIO()
    w = spreadsheet.writer(buf)
    w.writerow(["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\ry", "土豆", -250, 3.5, None])
    (row,) = list(csv.reader(io.StringIO(buf.getvalue())))
    assert row == [
        "'=1+1",
        "'+86 138",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "'\ry",
        "土豆",
        "-250",
        "3.5",
        "",
    ]
    assert buf.getvalue().endswith("\r\n")


def test_a_product_named_like_a_formula_is_text_in_the_consolidated_csv(sc: Centre) -> None:
    evil = '=HYPERLINK("http://x.invalid","土豆")'
    r = sc.client.patch(
        f"/api/v1/products/{sc.products['土豆']}", json={"name": evil}, headers=sc.headers()
    )
    assert r.status_code == 200, r.text
    place(sc, [("土豆", 5, "斤")])  # the same product id, renamed
    r = sc.client.get(
        "/api/v1/consolidated",
        params={"delivery_date": MONDAY, "format": "csv"},
        headers=sc.headers(),
    )
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [x["product_name"] for x in rows] == ["'" + evil]
