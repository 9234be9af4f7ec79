"""Throughput of the WeChat order parser: the test corpus against a 300-product catalog.

Run `taskset -c 0 .venv/bin/python bench/wechat_parse.py [seconds]`; the goal is at least
2,000 messages/second on one core of the centre box.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from wechat_catalog import padded_catalog  # noqa: E402 - after the path set-up above

from edge.domain.wechat import Catalog, parse_message  # noqa: E402

GOAL_PER_SECOND = 2000


def _run(texts: list[str], catalog: Catalog, seconds: float) -> tuple[int, float, list[float]]:
    done = 0
    latencies: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text in texts:
            t = time.perf_counter()
            parse_message(text, catalog)
            latencies.append(time.perf_counter() - t)
        done += len(texts)
    latencies.sort()
    return done, time.perf_counter() - start, latencies


def _report(label: str, texts: list[str], done: int, elapsed: float, lat: list[float]) -> float:
    rate = done / elapsed
    mean_chars = sum(map(len, texts)) / len(texts)
    print(
        f"{label}: {len(texts)} messages (mean {mean_chars:.1f} chars), {done} parsed in "
        f"{elapsed:.2f} s: {rate:,.0f} messages/s; latency p50 {lat[len(lat) // 2] * 1e6:.0f} us,"
        f" p99 {lat[int(len(lat) * 0.99)] * 1e6:.0f} us, max {lat[-1] * 1e6:.0f} us"
    )
    return rate


def main(seconds: float = 3.0) -> int:
    corpus = ROOT / "tests" / "edge" / "wechat" / "wechat_corpus.jsonl"
    texts = [json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines()]
    t0 = time.perf_counter()
    catalog = Catalog(padded_catalog(300))
    print(f"catalog: {len(catalog)} products, built in {(time.perf_counter() - t0) * 1000:.1f} ms")
    for text in texts:  # warm the folding cache and OpenCC once, as a running server would
        parse_message(text, catalog)
    rate = _report("whole corpus", texts, *_run(texts, catalog, seconds))
    # Long family-member messages (lists, greetings) are the slow end: measure them alone.
    long_texts = [t for t in texts if len(t) >= 25]
    long_rate = _report("long messages", long_texts, *_run(long_texts, catalog, seconds / 2))
    worst = min(rate, long_rate)
    verdict = "met" if worst >= GOAL_PER_SECOND else "NOT met"
    print(f"goal {GOAL_PER_SECOND:,}/s on one core: {verdict}")
    return 0 if worst >= GOAL_PER_SECOND else 1


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0))
