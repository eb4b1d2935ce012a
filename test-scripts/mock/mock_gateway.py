#!/usr/bin/env python3
"""Local stand-in for the APIM gateway, used to test the test scripts without Azure (stdlib only).

serve:  mock_gateway.py serve --port-file F --log L --key K
        Listens on 127.0.0.1 (free port written to F), logs every request as one JSON line to L, answers like
        Azure OpenAI behind the chargeback policy (JSON, or SSE when the body says "stream": true; streamed
        chat completions end with a usage chunk because the policy injects stream_options.include_usage).
        Answers 401 when the api-key header is not K, 400 on a missing api-version, a non-JSON Content-Type
        or an invalid JSON body, 404 on an unknown route.
assert: mock_gateway.py assert --log L --path P [--api-version V|--no-api-version] --stream true|false
        --key K [--field name=value ...]
        Checks the last logged request.
"""
import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ROUTES = {
    "chat/completions": "chat",
    "completions": "completions",
    "embeddings": "embeddings",
}

USAGE = {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}


def classify(path):
    """Returns (kind, deployment, needs_api_version) or None."""
    if path == "/openai/v1/responses":
        return ("responses", None, False)
    if path == "/openai/responses":
        return ("responses", None, True)
    prefix = "/openai/deployments/"
    if path.startswith(prefix):
        rest = path[len(prefix):]
        deployment, _, operation = rest.partition("/")
        if deployment and operation in ROUTES:
            return (ROUTES[operation], deployment, True)
    return None


def sse(events):
    out = []
    for name, data in events:
        if name:
            out.append("event: %s" % name)
        out.append("data: %s" % (data if isinstance(data, str) else json.dumps(data)))
        out.append("")
    return ("\n".join(out) + "\n").encode()


def answer(kind, body, stream):
    model = "gpt-4o-2024-11-20"
    if kind == "chat":
        if not stream:
            return "application/json", json.dumps({
                "id": "chatcmpl-1", "object": "chat.completion", "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello."}, "finish_reason": "stop"}],
                "usage": USAGE}).encode()
        injected = body.get("stream_options") is None
        include = injected or bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = [(None, {"id": "c1", "object": "chat.completion.chunk", "model": model,
                          "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]}),
                  (None, {"id": "c1", "object": "chat.completion.chunk", "model": model,
                          "choices": [{"index": 0, "delta": {"content": "lo."}, "finish_reason": "stop"}]})]
        if include:
            chunks.append((None, {"id": "c1", "object": "chat.completion.chunk", "model": model, "choices": [], "usage": USAGE}))
        chunks.append((None, "[DONE]"))
        return "text/event-stream", sse(chunks)
    if kind == "completions":
        if not stream:
            return "application/json", json.dumps({
                "id": "cmpl-1", "object": "text_completion", "model": "gpt-35-turbo-instruct",
                "choices": [{"index": 0, "text": " paying for what you use.", "finish_reason": "stop"}],
                "usage": USAGE}).encode()
        return "text/event-stream", sse([(None, {"id": "cmpl-1", "object": "text_completion", "choices": [{"index": 0, "text": " paying"}]}),
                                         (None, "[DONE]")])
    if kind == "embeddings":
        return "application/json", json.dumps({
            "object": "list", "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
            "usage": {"prompt_tokens": 5, "total_tokens": 5}}).encode()
    usage = {"input_tokens": 12, "output_tokens": 7, "total_tokens": 19}
    response = {"id": "resp_1", "object": "response", "status": "completed", "model": model,
                "output": [{"type": "message", "content": [{"type": "output_text", "text": "Hello."}]}], "usage": usage}
    if not stream:
        return "application/json", json.dumps(response).encode()
    created = dict(response, status="in_progress", usage=None, output=[])
    return "text/event-stream", sse([
        ("response.created", {"type": "response.created", "response": created}),
        ("response.output_text.delta", {"type": "response.output_text.delta", "delta": "Hello."}),
        ("response.completed", {"type": "response.completed", "response": response}),
    ])


class Handler(BaseHTTPRequestHandler):
    server_version = "mock-apim/1.0"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send(self, status, content_type, payload):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status, message):
        self._send(status, "application/json", json.dumps({"error": {"code": str(status), "message": message}}).encode())

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        record = {"method": "POST", "path": url.path, "query": query,
                  "headers": {k.lower(): v for k, v in self.headers.items()}, "body": raw}
        with self.server.lock:
            with open(self.server.log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
        if self.headers.get("api-key") != self.server.key:
            return self._error(401, "Access denied due to invalid subscription key.")
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return self._error(415, "Content-Type must be application/json")
        route = classify(url.path)
        if route is None:
            return self._error(404, "Resource not found")
        kind, _deployment, needs_version = route
        if needs_version and not query.get("api-version"):
            return self._error(400, "Missing api-version query parameter")
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error(400, "Invalid JSON body")
        if not isinstance(body, dict):
            return self._error(400, "Body must be a JSON object")
        stream = body.get("stream") is True and kind != "embeddings"
        content_type, payload = answer(kind, body, stream)
        self._send(200, content_type, payload)


def serve(args):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.log_path = args.log
    server.key = args.key
    server.lock = threading.Lock()
    with open(args.port_file, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


def fail(message):
    print("mock assert failed: " + message, file=sys.stderr)
    sys.exit(1)


def check(args):
    with open(args.log, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    if not lines:
        fail("no request was logged")
    req = lines[-1]
    if req["path"] != args.path:
        fail("path %r, expected %r" % (req["path"], args.path))
    version = req["query"].get("api-version")
    if args.no_api_version and version is not None:
        fail("unexpected api-version %r" % version)
    if args.api_version is not None and version != args.api_version:
        fail("api-version %r, expected %r" % (version, args.api_version))
    headers = req["headers"]
    if headers.get("api-key") != args.key:
        fail("api-key header is not the expected subscription key")
    if "ocp-apim-subscription-key" in headers:
        fail("the key was sent twice (Ocp-Apim-Subscription-Key as well as api-key)")
    if "authorization" in headers:
        fail("unexpected Authorization header")
    if not headers.get("content-type", "").startswith("application/json"):
        fail("Content-Type %r" % headers.get("content-type"))
    if args.key in req["path"] or args.key in json.dumps(req["query"]) or args.key in req["body"]:
        fail("the key leaked into the URL or the body")
    body = json.loads(req["body"])
    expected_stream = args.stream == "true"
    actual_stream = body.get("stream", False)
    if actual_stream is not expected_stream:
        fail("stream %r, expected %r" % (actual_stream, expected_stream))
    for field in args.field or []:
        name, _, value = field.partition("=")
        if name not in body:
            fail("body has no %r" % name)
        if value and str(body[name]) != value:
            fail("body %s=%r, expected %r" % (name, body[name], value))
    print("mock assert ok: %s %s stream=%s" % (req["path"], version or "(no api-version)", args.stream))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve")
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--key", required=True)
    a = sub.add_parser("assert")
    a.add_argument("--log", required=True)
    a.add_argument("--path", required=True)
    a.add_argument("--api-version")
    a.add_argument("--no-api-version", action="store_true")
    a.add_argument("--stream", choices=["true", "false"], required=True)
    a.add_argument("--key", required=True)
    a.add_argument("--field", action="append")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args)
    else:
        check(args)


if __name__ == "__main__":
    main()
