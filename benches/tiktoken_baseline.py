#!/usr/bin/env python3
"""Python `tiktoken` baseline: encode_ordinary on exactly the texts the tokenizer path counts.

    python3 benches/tiktoken_baseline.py texts.jsonl

texts.jsonl comes from `examples/tokenizer_texts.rs` (one event per line: encoding, texts and
chargeback's count of each). Single-threaded; only the encode_ordinary calls are timed (best of
--repeat runs). Compares every count with chargeback's and says whether all are identical; exits
1 if any differs. Needs TIKTOKEN_CACHE_DIR from benches/setup-tiktoken-cache.sh when offline.
"""
import argparse
import json
import sys
import time

import tiktoken

ap = argparse.ArgumentParser()
ap.add_argument("texts")
ap.add_argument("--repeat", type=int, default=1)
a = ap.parse_args()

rows = []
with open(a.texts, encoding="utf-8") as f:
    for line in f:
        if line.strip():
            r = json.loads(line)
            rows.append((r["encoding"], r["texts"], r["counts"]))

encoders = {name: tiktoken.get_encoding(name) for name in {r[0] for r in rows}}
for e in encoders.values():
    e.encode_ordinary("warm up")

best = None
for _ in range(max(1, a.repeat)):
    counts = []
    t0 = time.perf_counter()
    for enc, texts, _ in rows:
        encode = encoders[enc].encode_ordinary
        counts.append([len(encode(t)) for t in texts])
    dt = time.perf_counter() - t0
    best = dt if best is None else min(best, dt)

n_texts = sum(len(r[1]) for r in rows)
n_bytes = sum(len(t.encode("utf-8")) for r in rows for t in r[1])
n_tokens = sum(sum(c) for c in counts)
diff = sum(1 for r, c in zip(rows, counts) for x, y in zip(r[2], c) if x != y)
print(json.dumps({
    "tiktoken_version": tiktoken.__version__,
    "events": len(rows), "texts": n_texts, "bytes": n_bytes, "tokens": n_tokens,
    "seconds": round(best, 4), "mb_per_s": round(n_bytes / 1e6 / best, 2),
    "count_mismatches": diff,
}))
if diff:
    print(f"tiktoken_baseline: {diff} of {n_texts} counts DIFFER from chargeback", file=sys.stderr)
    sys.exit(1)
print(f"tiktoken_baseline: all {n_texts} counts identical to chargeback ({n_tokens} tokens)", file=sys.stderr)
