#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from samples/*.jsonl and tests/fixtures/host (never committed).

event_parse, core: one sample event per file; escaped_event: each sample event (first byte 0)
and each sample stream body (first byte 1); sse_parse, tail_usage: each sample's response
body; chunk_scan: each sample stream's chunks, one per file, plus two Azure-shaped chunks;
host_decode: the host fixtures plus the samples wrapped as string, binary and plain-array
invocations; per_event: a few samples at a time, separated by 0xFF, with a deep event (0xFE).
"""
import base64
import glob
import hashlib
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


lines = []
for path in sorted(glob.glob(os.path.join(ROOT, "samples", "*.jsonl"))):
    with open(path, encoding="utf-8") as f:
        lines += [l.rstrip("\n") for l in f if l.strip()]

for line in lines:
    put("event_parse", line)
    put("core", line)
    put("escaped_event", b"\x00" + line.encode("utf-8"))
    ev = json.loads(line)
    for key in ("response", "Response", "request", "Request"):
        body = ev.get(key)
        if isinstance(body, str) and body:
            put("sse_parse", body)
            if key.lower() == "response" and body.lstrip().startswith(("data:", "event:")):
                put("tail_usage", body)
                put("escaped_event", b"\x01" + body.encode("utf-8"))
                for event in body.replace("\r\n", "\n").split("\n\n"):
                    data = event.partition("data:")[2].strip()
                    if data and data != "[DONE]":
                        put("chunk_scan", data)

SAFE = {"filtered": False, "severity": "safe"}
FILTERS = {"hate": SAFE, "self_harm": SAFE, "sexual": SAFE, "violence": SAFE}
for delta in ({"content": " inv\"oice\u00e9 42"},
              {"tool_calls": [{"index": 0, "function": {"arguments": "{\"id\":"}}]}):
    put("chunk_scan", json.dumps({
        "choices": [{"content_filter_results": FILTERS, "delta": delta, "finish_reason": None,
                     "index": 0, "logprobs": None}],
        "created": 1793611500, "id": "chatcmpl-1", "model": "gpt-4o-2024-11-20",
        "object": "chat.completion.chunk", "system_fingerprint": "fp_f3927aa00d", "usage": None},
        separators=(",", ":")))

# Streams longer than the escaped reading's first windows (2 KiB at each end),
# with and without the usage chunk, so that windows are grown and cut inside events.
for with_usage in (True, False):
    chunks = [{"choices": [], "created": 0, "id": "", "model": "", "object": "",
               "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": FILTERS}]}]
    for i in range(110):
        chunks.append({"choices": [{"content_filter_results": FILTERS,
                                    "delta": {"content": f" w\"{i}\\"}, "finish_reason": None,
                                    "index": 0, "logprobs": None}],
                       "created": 1793611500, "id": "chatcmpl-1", "model": "gpt-4o-2024-11-20",
                       "object": "chat.completion.chunk", "usage": None})
    if with_usage:
        chunks.append({"choices": [], "created": 1793611500, "id": "chatcmpl-1",
                       "model": "gpt-4o-2024-11-20", "object": "chat.completion.chunk",
                       "usage": {"prompt_tokens": 19, "completion_tokens": 110, "total_tokens": 129}})
    body = "".join(f"data: {json.dumps(c, separators=(',', ':'))}\n\n" for c in chunks)
    body += "data: [DONE]\n\n"
    put("escaped_event", b"\x01" + body.encode("utf-8"))
    put("escaped_event", b"\x03" + body.encode("utf-8"))

for path in sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "host", "*.json"))):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    put("host_decode", json.dumps(doc.get("body", doc)))

meta = {"PartitionContext": json.dumps({"PartitionId": "0"}),
        "SequenceNumberArray": json.dumps(list(range(len(lines)))),
        "RetryContext": json.dumps({"RetryCount": 0, "MaxRetryCount": 5})}
put("host_decode", json.dumps({"Data": {"events": json.dumps(lines)}, "Metadata": meta}))
# One event per batch, non-ASCII left as is (as the host writes it): small seeds that take the
# one-pass string decoder.
for line in lines:
    one = json.dumps([line], ensure_ascii=False)
    put("host_decode", json.dumps({"Data": {"events": one}, "Metadata": meta}, ensure_ascii=False))
b64 = [base64.b64encode(l.encode()).decode() for l in lines]
put("host_decode", json.dumps({"Data": {"events": json.dumps(b64)}, "Metadata": {"dataType": "binary", **meta}}))
put("host_decode", json.dumps([json.loads(l) for l in lines]))
# per_event: events separated by 0xFF; a chunk starting 0xFE is a deep event.
for i in range(0, len(lines), 3):
    chunk = [l.encode() for l in lines[i:i + 3]]
    put("per_event", b"\xff".join(chunk[:1] + [b"\xfe\x05"] + chunk[1:]))
put("per_event", b"\xff".join(l.encode() for l in lines[:4]))
print({t: len(os.listdir(os.path.join(CORPUS, t))) for t in sorted(os.listdir(CORPUS))})
