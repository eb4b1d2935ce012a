#!/usr/bin/env python3
"""Writes one-event files of pathological input into DIR (default target/bench/pathological):
1,000,000 spaces / tabs / "a" and 200 KB of random Unicode as the generated text of a stream
without usage (the tokenizer path), and 10,000-deep JSON nesting both as the event itself and as
its response body."""
import json
import os
import random
import sys

if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1].startswith("-")):
    # An option is never a folder name: `--help` once created a folder called "--help".
    print(f"usage: {sys.argv[0]} [DIR]\n\n{__doc__}", file=sys.stderr)
    sys.exit(0 if sys.argv[1] in ("-h", "--help") else 2)
out = sys.argv[1] if len(sys.argv) > 1 else "target/bench/pathological"
os.makedirs(out, exist_ok=True)


def stream_event(name, text):
    chunk = {"choices": [{"delta": {"content": text}, "index": 0, "finish_reason": None}],
             "model": "gpt-4o-2024-11-20", "object": "chat.completion.chunk"}
    return {"schemaVersion": 2, "requestId": f"patho-{name}", "eventTime": "2026-11-02T09:00:00Z",
            "subscriptionId": "fuzz", "method": "POST", "statusCode": 200,
            "path": "/openai/deployments/gpt-4o/chat/completions", "apiVersion": "2024-02-01",
            "request": json.dumps({"messages": [{"role": "user", "content": "go"}], "stream": True}),
            "response": "data: " + json.dumps(chunk, ensure_ascii=False) + "\n\ndata: [DONE]\n\n"}


rng = random.Random(7)
chars = []
size = 0
while size < 200 * 1024:
    c = chr(rng.randrange(0x20, 0x2FFFF))
    if 0xD800 <= ord(c) <= 0xDFFF or not c.isprintable():
        continue
    chars.append(c)
    size += len(c.encode("utf-8"))
cases = {
    "spaces-1m": json.dumps(stream_event("spaces-1m", " " * 1_000_000)),
    "tabs-1m": json.dumps(stream_event("tabs-1m", "\t" * 1_000_000)),
    "a-1m": json.dumps(stream_event("a-1m", "a" * 1_000_000)),
    "unicode-200k": json.dumps(stream_event("unicode-200k", "".join(chars)), ensure_ascii=False),
    "nested-event-10k": '{"requestId":"patho-nested","x":' + "[" * 10_000 + "]" * 10_000 + "}",
    "nested-body-10k": json.dumps({**stream_event("nested-body-10k", ""), "response": "[" * 10_000 + "]" * 10_000}),
}
for name, line in cases.items():
    with open(os.path.join(out, name + ".jsonl"), "w", encoding="utf-8") as f:
        f.write(line + "\n")
print(" ".join(cases))
