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

from wechat_catalog import padded_catalog

from edge.wechat import Catalog, parse_message

GOAL_PER_SECOND = 2000


def main(seconds: float = 3.0) -> int:
    corpus = ROOT / "tests" / "wechat_corpus.jsonl"
    texts = [json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines()]
    t0 = time.perf_counter()
    catalog = Catalog(padded_catalog(300))
    build_ms = (time.perf_counter() - t0) * 1000
    for text in texts:  # warm the folding cache and OpenCC once, as a running server would
        parse_message(text, catalog)
    done = 0
    chars = 0
    latencies: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text in texts:
            t = time.perf_counter()
            parse_message(text, catalog)
            latencies.append(time.perf_counter() - t)
            chars += len(text)
        done += len(texts)
    elapsed = time.perf_counter() - start
    latencies.sort()
    rate = done / elapsed
    p50 = latencies[len(latencies) // 2] * 1e6
    p99 = latencies[int(len(latencies) * 0.99)] * 1e6
    print(f"catalog: {len(catalog)} products, built in {build_ms:.1f} ms")
    print(f"corpus: {len(texts)} messages, mean {chars / done:.1f} chars")
    print(f"parsed {done} messages in {elapsed:.2f} s: {rate:,.0f} messages/s")
    print(f"latency p50 {p50:.0f} us, p99 {p99:.0f} us, max {latencies[-1] * 1e6:.0f} us")
    print(f"goal {GOAL_PER_SECOND:,}/s: {'met' if rate >= GOAL_PER_SECOND else 'NOT met'}")
    return 0 if rate >= GOAL_PER_SECOND else 1


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0))
