"""Scoring the WeChat parser on labelled JSONL sets (the held-out gates and the corpus):
parse with the test catalog, and precision/recall with the misses listed."""

from __future__ import annotations

import json
from pathlib import Path

from wechat_catalog import CATALOG

from edge.domain.wechat import Catalog, ParsedItem, ParseResult, parse_message

CAT = Catalog(CATALOG)


def parse(text: str) -> ParseResult:
    return parse_message(text, CAT)


def triples(text: str) -> list[tuple[str, float, str]]:
    return [(i.product_name, i.quantity, i.unit) for i in parse(text).items]


def score(path: Path) -> tuple[float, float, int, list[str]]:
    """Precision, recall, non-orders wrongly read as orders, and the misses, over a labelled
    JSONL file: an item counts once, matched on product, unit, quantity and amount."""
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    tp = fp = fn = 0
    wrong_non_orders = 0
    misses: list[str] = []
    for case in cases:
        r = parse(case["text"])
        left = list(r.items)
        for want in case["items"]:
            hit = next((it for it in left if _matches(it, want)), None)
            if hit is None:
                fn += 1
                misses.append(f"missed {want} in {case['text']!r}")
            else:
                left.remove(hit)
                tp += 1
        fp += len(left)
        misses += [
            f"extra {it.product_name} {it.quantity}{it.unit} in {case['text']!r}" for it in left
        ]
        if not case["items"] and r.is_order:
            wrong_non_orders += 1
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    print(f"\n{path.name}: {len(cases)} messages, {tp + fn} items")
    print(f"precision {precision:.4f}  recall {recall:.4f}  (tp={tp} fp={fp} fn={fn})")
    for m in misses:
        print("  ", m)
    return precision, recall, wrong_non_orders, misses


def _matches(item: ParsedItem, want: dict[str, object]) -> bool:
    if item.product_name != want["product"] or item.unit != want["unit"]:
        return False
    qty = want["quantity"]
    if qty is not None and abs(item.quantity - float(qty)) > 1e-6:  # type: ignore[arg-type]
        return False
    return "amount_fen" not in want or item.amount_fen == want["amount_fen"]
