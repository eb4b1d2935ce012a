#!/usr/bin/env python3
"""Writes the sample APIM events in samples/*.jsonl (APIM event schema v2 of docs/event-schema.md,
plus one legacy v1) and the two-month billing set in samples/billing/.

The request and response bodies follow the public Azure OpenAI REST formats (chat completions,
streamed chunks with prompt_filter_results and content-filter annotations, the include_usage
chunk, tool calls, embeddings, the Responses API and its typed stream events, error bodies).
Every key, id and name here is made up. Run from the repo root: python3 samples/make_samples.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CF_SAFE = {k: {"filtered": False, "severity": "safe"} for k in ("hate", "self_harm", "sexual", "violence")}
PROMPT_FILTER = [{"prompt_index": 0, "content_filter_results": {**CF_SAFE, "jailbreak": {"filtered": False, "detected": False}}}]

COOKBOOK_MESSAGES = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
    {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
    {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."},
]


def event(request_id, minute, *, sub, sub_name, product="aoai-standard", path, api_version, status=200,
          request=None, response=None, stream_injected=False, caller=None, operation_id=None, method="POST",
          request_truncated=False, response_truncated=False, duration=850):
    deployment = None
    parts = path.split("/")
    if "deployments" in parts:
        deployment = parts[parts.index("deployments") + 1]
    ev = {
        "schemaVersion": 2,
        "eventTime": f"2026-11-02T09:{minute:02d}:00.1234567Z",
        "requestId": request_id,
        "serviceName": "apim-chargeback-demo.azure-api.net",
        "region": "Sweden Central",
        "apiId": "azure-openai",
        "operationId": operation_id,
        "subscriptionId": sub,
        "subscriptionName": sub_name,
        "productId": product if sub else None,
        "userId": "1" if sub else None,
        "callerAppId": caller[0] if caller else None,
        "callerTenantId": caller[1] if caller else None,
        "callerObjectId": caller[2] if caller else None,
        "clientIp": "10.20.1.14",
        "method": method,
        "path": path,
        "apiVersion": api_version,
        "deploymentId": deployment,
        "statusCode": status,
        "durationMs": duration,
        "streamUsageInjected": stream_injected,
        "request": json.dumps(request, ensure_ascii=False) if isinstance(request, (dict, list)) else request,
        "response": json.dumps(response, ensure_ascii=False) if isinstance(response, (dict, list)) else response,
        "requestTruncated": request_truncated,
        "responseTruncated": response_truncated,
    }
    return ev


def sse(chunks):
    out = []
    for c in chunks:
        out.append("data: " + (c if isinstance(c, str) else json.dumps(c, ensure_ascii=False, separators=(",", ":"))) + "\n\n")
    return "".join(out)


def chat_chunk(cid, model, delta, finish=None, index=0, usage=None):
    return {"choices": [{"content_filter_results": CF_SAFE if delta.get("content") else {}, "delta": delta,
                         "finish_reason": finish, "index": index, "logprobs": None}],
            "created": 1793611500, "id": cid, "model": model, "object": "chat.completion.chunk",
            "system_fingerprint": "fp_b705f0c291", "usage": usage}


def annotation(end):
    return {"choices": [{"content_filter_offsets": {"check_offset": 0, "start_offset": 0, "end_offset": end},
                         "content_filter_results": {**CF_SAFE, "protected_material_text": {"filtered": False, "detected": False}},
                         "finish_reason": None, "index": 0}], "created": 0, "id": "", "model": "", "object": ""}


def write(name, events):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")


# 1. Non-streamed chat with cached prompt tokens.
chat_req = {"messages": [{"role": "system", "content": "You are a concise assistant for the finance team."},
                         {"role": "user", "content": "Summarise the Q3 travel spend variance in two sentences."}],
            "max_tokens": 200, "temperature": 0.2}
chat_resp = {"choices": [{"content_filter_results": CF_SAFE, "finish_reason": "stop", "index": 0, "logprobs": None,
                          "message": {"content": "Q3 travel spend came in 12% over plan, driven by two unplanned customer summits in Lisbon and Austin. Excluding those events, spend was 3% under plan.", "refusal": None, "role": "assistant"}}],
             "created": 1793611440, "id": "chatcmpl-BJ3aQx1", "model": "gpt-4o-2024-11-20", "object": "chat.completion",
             "prompt_filter_results": PROMPT_FILTER, "system_fingerprint": "fp_b705f0c291",
             "usage": {"completion_tokens": 36, "completion_tokens_details": {"accepted_prediction_tokens": 0, "audio_tokens": 0, "reasoning_tokens": 0, "rejected_prediction_tokens": 0},
                       "prompt_tokens": 1290, "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": 1152}, "total_tokens": 1326}}
write("chat-completion.jsonl", [
    event("0b6f3c52-5d1e-4f5a-9a51-6f7c0e9d1a01", 1, sub="finance-analytics", sub_name="Finance analytics",
          path="/openai/deployments/gpt-4o/chat/completions", api_version="2024-10-21",
          operation_id="ChatCompletions_Create", request=chat_req, response=chat_resp),
])

# 2. Streamed chat where the policy injected include_usage: usage chunk before [DONE].
words = ["Our", " refund", " policy", " allows", " returns", " within", " 30", " days", " of", " delivery", "."]
cid = "chatcmpl-BJ3b7Kk"
chunks = [{"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": PROMPT_FILTER},
          chat_chunk(cid, "gpt-4o-mini-2024-07-18", {"content": "", "refusal": None, "role": "assistant"})]
chunks += [chat_chunk(cid, "gpt-4o-mini-2024-07-18", {"content": w}) for w in words]
chunks += [chat_chunk(cid, "gpt-4o-mini-2024-07-18", {}, finish="stop"), annotation(59),
           {"choices": [], "created": 1793611500, "id": cid, "model": "gpt-4o-mini-2024-07-18", "object": "chat.completion.chunk",
            "system_fingerprint": "fp_b705f0c291",
            "usage": {"completion_tokens": 11, "completion_tokens_details": {"reasoning_tokens": 0}, "prompt_tokens": 412,
                      "prompt_tokens_details": {"cached_tokens": 0}, "total_tokens": 423}},
           "[DONE]"]
write("chat-stream-with-usage.jsonl", [
    event("1c7e4d63-6e2f-4a6b-8b62-7a8d1f0e2b02", 5, sub="support-bot", sub_name="Customer support bot",
          path="/openai/deployments/gpt-4o-mini/chat/completions", api_version="2024-10-21", stream_injected=True,
          operation_id="ChatCompletions_Create",
          request={"messages": [{"role": "user", "content": "What is the refund window?"}], "stream": True,
                   "stream_options": {"include_usage": True}},
          response=sse(chunks)),
])

# 3. Streamed chat on an old api-version: no usage anywhere, counted with the tokenizer.
answer = ["This", " change", " of", " direction", " so", " late", " means", " we", " can't", " do", " everything", " for", " the", " client", "."]
cid = "chatcmpl-BJ3c9Zt"
chunks = [{"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": PROMPT_FILTER},
          chat_chunk(cid, "gpt-4-0613", {"content": "", "role": "assistant"})]
chunks += [chat_chunk(cid, "gpt-4-0613", {"content": w}) for w in answer]
chunks += [chat_chunk(cid, "gpt-4-0613", {}, finish="stop"), "[DONE]"]
for c in chunks:
    if isinstance(c, dict):
        c.pop("usage", None)
write("chat-stream-without-usage.jsonl", [
    event("2d8f5e74-7f3a-4b7c-9c73-8b9e2a1f3c03", 9, sub="marketing-copy", sub_name="Marketing copywriter",
          path="/openai/deployments/gpt-4/chat/completions", api_version="2024-02-01",
          operation_id="ChatCompletions_Create", request={"messages": COOKBOOK_MESSAGES, "stream": True}, response=sse(chunks)),
])

# 4. Streamed tool call without usage: tool definitions and arguments are counted.
tools = [{"type": "function", "function": {"name": "get_invoice_status", "description": "Get the payment status of an invoice.",
          "parameters": {"type": "object", "properties": {
              "invoice_id": {"type": "string", "description": "The invoice number, e.g. INV-2026-0042."},
              "currency": {"type": "string", "description": "Currency to report amounts in.", "enum": ["EUR", "USD", "GBP"]}},
              "required": ["invoice_id"]}}}]
cid = "chatcmpl-BJ3dTool"
args = ["{\"", "invoice", "_id", "\":\"", "INV", "-202", "6", "-004", "2", "\",\"", "currency", "\":\"", "EUR", "\"}"]
chunks = [{"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": PROMPT_FILTER},
          chat_chunk(cid, "gpt-4o-2024-11-20", {"content": None, "refusal": None, "role": "assistant",
                     "tool_calls": [{"index": 0, "id": "call_7Qk2", "type": "function", "function": {"name": "get_invoice_status", "arguments": ""}}]})]
chunks += [chat_chunk(cid, "gpt-4o-2024-11-20", {"tool_calls": [{"index": 0, "function": {"arguments": a}}]}) for a in args]
chunks += [chat_chunk(cid, "gpt-4o-2024-11-20", {}, finish="tool_calls"), "[DONE]"]
for c in chunks:
    if isinstance(c, dict):
        c.pop("usage", None)
write("chat-stream-tool-call.jsonl", [
    event("3e9a6f85-8a4b-4c8d-8d84-9caf3b2a4d04", 14, sub="accounts-payable", sub_name="Accounts payable agent",
          path="/openai/deployments/gpt-4o/chat/completions", api_version="2024-06-01",
          operation_id="ChatCompletions_Create",
          request={"messages": [{"role": "system", "content": "You help the accounts payable team."},
                                {"role": "user", "content": "Has invoice INV-2026-0042 been paid? Answer in euros."}],
                   "tools": tools, "tool_choice": "auto", "stream": True},
          response=sse(chunks)),
])

# 5. Embeddings (batch of two inputs).
write("embeddings.jsonl", [
    event("4fab7096-9b5c-4d9e-9e95-adb04c3b5e05", 20, sub="search-indexer", sub_name="Search indexer",
          path="/openai/deployments/text-embedding-3-small/embeddings", api_version="2024-10-21",
          operation_id="embeddings_create",
          request={"input": ["Travel policy: economy class for flights under six hours.", "Expense reports are due within 30 days."]},
          response={"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.0023, -0.0091, 0.0154]},
                                               {"object": "embedding", "index": 1, "embedding": [-0.0112, 0.0047, 0.0021]}],
                    "model": "text-embedding-3-small", "usage": {"prompt_tokens": 21, "total_tokens": 21}}),
])

# 6. Responses API: streamed (usage only in response.completed) and non-streamed with reasoning.
resp_id = "resp_68f0c1a2b3"
def rev(kind, **data):
    data = {"type": kind, **data}
    return f"event: {kind}\ndata: " + json.dumps(data, separators=(",", ":")) + "\n\n"
base = {"id": resp_id, "object": "response", "created_at": 1793611800, "model": "gpt-4.1-2025-04-14", "output": [], "usage": None}
stream = (rev("response.created", sequence_number=0, response={**base, "status": "in_progress"})
          + rev("response.in_progress", sequence_number=1, response={**base, "status": "in_progress"})
          + rev("response.output_item.added", sequence_number=2, output_index=0, item={"id": "msg_1", "type": "message", "role": "assistant", "content": []})
          + "".join(rev("response.output_text.delta", sequence_number=3 + i, item_id="msg_1", output_index=0, content_index=0, delta=d)
                    for i, d in enumerate(["Approved", " budgets", " are", " in", " the", " FY27", " plan", "."]))
          + rev("response.output_text.done", sequence_number=11, item_id="msg_1", output_index=0, content_index=0, text="Approved budgets are in the FY27 plan.")
          + rev("response.completed", sequence_number=12, response={**base, "status": "completed",
                "output": [{"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Approved budgets are in the FY27 plan.", "annotations": []}]}],
                "usage": {"input_tokens": 2087, "input_tokens_details": {"cached_tokens": 1920}, "output_tokens": 9,
                          "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 2096}}))
write("responses.jsonl", [
    event("5abc81a7-ac6d-4eaf-8fa6-bec15d4c6f06", 25, sub=None, sub_name=None,
          caller=("8d3f2c1e-0a4b-4c5d-9e6f-7a8b9c0d1e2f", "72f988bf-86f1-41af-91ab-2d7cd011db47", "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"),
          path="/openai/v1/responses", api_version="v1", operation_id="createResponse",
          request={"model": "gpt-4.1", "previous_response_id": "resp_68f0c0ffee", "input": "Where are the approved budgets?", "stream": True},
          response=stream),
    event("6bcd92b8-bd7e-4fb0-9ab7-cfd26e5d7a07", 27, sub="planning-agent", sub_name="FP&A planning agent",
          path="/openai/v1/responses", api_version="v1", operation_id="createResponse",
          request={"model": "o4-mini", "input": [{"role": "user", "content": "Reconcile the two forecast versions and list the three biggest deltas."}], "reasoning": {"effort": "medium"}},
          response={"id": "resp_68f0c2d4e5", "object": "response", "created_at": 1793611900, "status": "completed", "model": "o4-mini-2025-04-16",
                    "output": [{"id": "rs_1", "type": "reasoning", "summary": []},
                               {"id": "msg_2", "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "1. Cloud hosting +8%...", "annotations": []}]}],
                    "usage": {"input_tokens": 3410, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 1184,
                              "output_tokens_details": {"reasoning_tokens": 896}, "total_tokens": 4594}}),
])

# 7. Prompt-side content filter: 400, billed for the prompt only.
write("content-filter-400.jsonl", [
    event("7cdea3c9-ce8f-4a01-8bc8-d0e37f6e8b08", 31, sub="support-bot", sub_name="Customer support bot",
          path="/openai/deployments/gpt-4o-mini/chat/completions", api_version="2024-10-21", status=400,
          operation_id="ChatCompletions_Create",
          request={"messages": [{"role": "user", "content": "Write a threatening letter to my neighbour."}]},
          response={"error": {"message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
                              "type": None, "param": "prompt", "code": "content_filter", "status": 400,
                              "innererror": {"code": "ResponsibleAIPolicyViolation",
                                             "content_filter_result": {**CF_SAFE, "violence": {"filtered": True, "severity": "medium"}}}}}),
])

# 8. Throttled: 429, not billable.
write("throttled-429.jsonl", [
    event("8defb4da-df90-4b12-9cd9-e1f48a7f9c09", 33, sub="search-indexer", sub_name="Search indexer",
          path="/openai/deployments/text-embedding-3-small/embeddings", api_version="2024-10-21", status=429,
          operation_id="embeddings_create", request={"input": "quarterly report"},
          response={"error": {"code": "429", "message": "Requests to the Embeddings_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds."}}),
])

# 9. Legacy v1 event of the original sample: raw subscription key (fake) that must never be emitted.
write("legacy-v1.jsonl", [
    {"EventTime": "11/2/2026 9:35:00 AM", "AppSubscriptionKey": "5f2b8c0e9d4a4e7bb1c3d6e8f0a2b4c6",
     "ApiOperation": "ChatCompletion",
     "Request": json.dumps({"messages": [{"role": "user", "content": "Translate 'invoice' into German."}]}),
     "Response": json.dumps({"choices": [{"finish_reason": "stop", "index": 0, "message": {"content": "Rechnung", "role": "assistant"}}],
                             "created": 1793612100, "id": "chatcmpl-legacy1", "model": "gpt-35-turbo", "object": "chat.completion",
                             "usage": {"completion_tokens": 3, "prompt_tokens": 15, "total_tokens": 18}})},
])

# 10. Truncated by the policy: response cut in the middle (usage survives in the tail), and a
#     request cut at the end on a stream without usage.
long_text = "The migration plan moves 140 workloads in four waves. " * 400
full = json.dumps({"choices": [{"finish_reason": "stop", "index": 0, "message": {"content": long_text, "role": "assistant"}}],
                   "created": 1793612200, "id": "chatcmpl-long1", "model": "gpt-4.1-2025-04-14", "object": "chat.completion",
                   "usage": {"completion_tokens": 4801, "prompt_tokens": 95, "total_tokens": 4896,
                             "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}},
                  separators=(",", ":"))
cut = full[:4000] + "\n\n" + full[-600:]
req_full = json.dumps({"messages": [{"role": "user", "content": "Review this runbook: " + long_text}], "stream": True})
chunks = [chat_chunk("chatcmpl-long2", "gpt-4.1-2025-04-14", {"content": "Looks complete; add a rollback step."}), "[DONE]"]
for c in chunks:
    if isinstance(c, dict):
        c.pop("usage", None)
write("truncated.jsonl", [
    event("9ef0c5eb-e0a1-4c23-8dea-f2a59b8fad10", 40, sub="platform-migration", sub_name="Platform migration",
          path="/openai/deployments/gpt-41/chat/completions", api_version="2024-10-21", operation_id="ChatCompletions_Create",
          request={"messages": [{"role": "user", "content": "Write the migration plan."}]}, response=cut, response_truncated=True),
    event("a0f1d6fc-f1b2-4d34-9efb-03b6ac9cbe11", 42, sub="platform-migration", sub_name="Platform migration",
          path="/openai/deployments/gpt-41/chat/completions", api_version="2024-02-01", operation_id="ChatCompletions_Create",
          request=req_full[:3000], response=sse(chunks), request_truncated=True),
])
# 11. The billing set (samples/billing/): two months, three deployments of gpt-4o — `gpt-4o`
#     (Global Standard), `chat-eu` (Data Zone Standard, whose EA rate changes on 2026-11-15) and
#     `ptu-core` (provisioned: a monthly amount split by weighted tokens) — for `report
#     --price-sheet`, `statement`, FOCUS and budgets. Deployment types come from the sheet's
#     `deployments` (replay --price-sheet samples/billing/contoso-ea.json).
def chat_call(request_id, day, hour, *, sub, sub_name, deployment, prompt, completion, cached=0, month=11,
              caller=None):
    ev = event(request_id, 0, sub=sub, sub_name=sub_name, caller=caller,
               path=f"/openai/deployments/{deployment}/chat/completions", api_version="2024-10-21",
               operation_id="ChatCompletions_Create",
               request={"messages": [{"role": "user", "content": "Draft the monthly variance commentary."}]},
               response={"choices": [{"content_filter_results": CF_SAFE, "finish_reason": "stop", "index": 0, "logprobs": None,
                                      "message": {"content": "Variance commentary drafted.", "refusal": None, "role": "assistant"}}],
                         "created": 1793611440, "id": f"chatcmpl-{request_id[:8]}", "model": "gpt-4o-2024-11-20",
                         "object": "chat.completion", "prompt_filter_results": PROMPT_FILTER, "system_fingerprint": "fp_b705f0c291",
                         "usage": {"completion_tokens": completion, "prompt_tokens": prompt, "total_tokens": prompt + completion,
                                   "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": cached},
                                   "completion_tokens_details": {"reasoning_tokens": 0}}})
    ev["eventTime"] = f"2026-{month:02d}-{day:02d}T{hour:02d}:15:00.1234567Z"
    return ev


BILLING = os.path.join(HERE, "billing")
os.makedirs(BILLING, exist_ok=True)
FIN = dict(sub="finance-analytics", sub_name="Finance analytics")
SUP = dict(sub="support-bot", sub_name="Customer support bot")
PLAN = dict(sub="planning-agent", sub_name="FP&A planning agent")
billing_events = [
    # November, Global Standard and Data Zone, both sides of the 2026-11-15 rate change.
    chat_call("b1000001-0000-4000-8000-000000000001", 3, 9, **FIN, deployment="gpt-4o", prompt=12000, completion=800, cached=4096),
    chat_call("b1000001-0000-4000-8000-000000000002", 4, 14, **SUP, deployment="chat-eu", prompt=30000, completion=2500),
    chat_call("b1000001-0000-4000-8000-000000000003", 14, 23, **SUP, deployment="chat-eu", prompt=18000, completion=1200),
    chat_call("b1000001-0000-4000-8000-000000000004", 16, 8, **SUP, deployment="chat-eu", prompt=22000, completion=1900),
    chat_call("b1000001-0000-4000-8000-000000000005", 20, 10, **PLAN, deployment="gpt-4o", prompt=45000, completion=6000),
    # November on the provisioned deployment: weighted tokens 3:1 between planning and finance.
    chat_call("b1000001-0000-4000-8000-000000000006", 5, 11, **PLAN, deployment="ptu-core", prompt=200000, completion=25000),
    chat_call("b1000001-0000-4000-8000-000000000007", 18, 15, **PLAN, deployment="ptu-core", prompt=100000, completion=12500),
    chat_call("b1000001-0000-4000-8000-000000000008", 25, 16, **FIN, deployment="ptu-core", prompt=100000, completion=12500),
    # The same call delivered twice (at-least-once): counted once.
    chat_call("b1000001-0000-4000-8000-000000000001", 3, 9, **FIN, deployment="gpt-4o", prompt=12000, completion=800, cached=4096),
    # December: pay-as-you-go only; ptu-core has no calls, so its month stays unallocated.
    chat_call("b1000001-0000-4000-8000-000000000009", 1, 10, **FIN, deployment="gpt-4o", prompt=9000, completion=700, month=12),
    chat_call("b1000001-0000-4000-8000-000000000010", 2, 17, **SUP, deployment="chat-eu", prompt=26000, completion=2100, month=12),
]
with open(os.path.join(BILLING, "events-2026-11-12.jsonl"), "w", encoding="utf-8") as f:
    for e in billing_events:
        f.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")
print("samples written to", HERE, "and", BILLING)
