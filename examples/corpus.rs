//! Writes a deterministic corpus of realistic APIM events (schema v2, one per line) for the
//! benchmarks, the load test and the tokenizer baseline.
//!
//! ```text
//! cargo run --release --example corpus -- [--seed 42] [--events 20000] [--mix mixed|usage|tokenizer|azure-usage|azure-text] [--out FILE]
//! ```
//!
//! Mixes (weights in percent):
//! - `mixed`: non-stream chat with usage 30, stream with a usage chunk 20, stream without usage
//!   (the tokenizer path, 1–40 KB of generated text in many languages and code) 12, tool-call
//!   stream without usage 8, embeddings 12, Responses API 10 (half streamed), truncated 5,
//!   429 / 500 (not billable) 3.
//! - `usage`: only events whose response carries a usage object (chat, stream usage chunk,
//!   embeddings, Responses API).
//! - `tokenizer`: only streams without usage whose request is plain role/content messages, so that
//!   `examples/tokenizer_texts.rs` can export exactly the texts the tokenizer path counts.
//! - `azure-usage` / `azure-text`: Azure-shaped chat streams, with and without the final usage
//!   chunk: every chunk a whole Azure chunk object (id, created, model, system_fingerprint,
//!   `content_filter_results` of four categories, `logprobs`, `finish_reason`), the first one
//!   Azure's `prompt_filter_results` chunk with empty choices, 1–40 characters of content per
//!   chunk, one stream in ten a tool call, events from 2 KB up to APIM's 200 KB log cap. Plain
//!   role/content requests, so `tokenizer_texts` can export the `azure-text` texts too.
//!
//! The same seed, count and mix always give the same bytes (a seeded `fastrand::Rng`).

use std::io::{BufWriter, Write};

use serde_json::{json, Value};

/// Event kinds a corpus can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Chat,
    StreamUsage,
    StreamText,
    ToolStream,
    Embeddings,
    Responses,
    Truncated,
    NotBillable,
    /// Azure-shaped stream with the `include_usage` chunk (see [`Gen::azure_stream`]).
    AzureUsage,
    /// Azure-shaped stream without usage: the fallback-count path.
    AzureText,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Chat => "chat",
            Kind::StreamUsage => "stream-usage",
            Kind::StreamText => "stream-text",
            Kind::ToolStream => "tool-stream",
            Kind::Embeddings => "embeddings",
            Kind::Responses => "responses",
            Kind::Truncated => "truncated",
            Kind::NotBillable => "not-billable",
            Kind::AzureUsage => "azure-usage",
            Kind::AzureText => "azure-text",
        }
    }

    pub const ALL: [Kind; 10] = [
        Kind::Chat,
        Kind::StreamUsage,
        Kind::StreamText,
        Kind::ToolStream,
        Kind::Embeddings,
        Kind::Responses,
        Kind::Truncated,
        Kind::NotBillable,
        Kind::AzureUsage,
        Kind::AzureText,
    ];
}

fn mix(name: &str) -> Option<Vec<(Kind, u32)>> {
    Some(match name {
        "mixed" => vec![
            (Kind::Chat, 30),
            (Kind::StreamUsage, 20),
            (Kind::StreamText, 12),
            (Kind::ToolStream, 8),
            (Kind::Embeddings, 12),
            (Kind::Responses, 10),
            (Kind::Truncated, 5),
            (Kind::NotBillable, 3),
        ],
        "usage" => vec![
            (Kind::Chat, 45),
            (Kind::StreamUsage, 25),
            (Kind::Embeddings, 15),
            (Kind::Responses, 15),
        ],
        "tokenizer" => vec![(Kind::StreamText, 100)],
        "azure-usage" => vec![(Kind::AzureUsage, 100)],
        "azure-text" => vec![(Kind::AzureText, 100)],
        _ => return None,
    })
}

const LANGS: &[&[&str]] = &[
    // English
    &[
        "the",
        "budget",
        "forecast",
        "migration",
        "plan",
        "moves",
        "workloads",
        "in",
        "four",
        "waves",
        "and",
        "every",
        "team",
        "reviews",
        "its",
        "quarterly",
        "spend",
        "before",
        "approval.",
        "However,",
        "cloud",
        "costs",
        "grew",
        "12%",
        "faster",
        "than",
        "expected",
    ],
    // German
    &[
        "Die",
        "Rechnung",
        "wurde",
        "bereits",
        "bezahlt",
        "und",
        "der",
        "Übertrag",
        "erfolgt",
        "nächste",
        "Woche.",
        "Größere",
        "Änderungen",
        "müssen",
        "schriftlich",
        "freigegeben",
        "werden,",
        "während",
        "Straßenbahn",
        "fährt.",
    ],
    // French
    &[
        "Le",
        "rapport",
        "trimestriel",
        "montre",
        "une",
        "hausse",
        "des",
        "coûts",
        "de",
        "déplacement;",
        "l'équipe",
        "prévoit",
        "réduire",
        "les",
        "dépenses",
        "à",
        "l'été",
        "prochain",
        "où",
        "c'était",
        "déjà",
        "prévu.",
    ],
    // Spanish
    &[
        "El",
        "informe",
        "anual",
        "señala",
        "que",
        "la",
        "migración",
        "terminó",
        "según",
        "lo",
        "previsto;",
        "año",
        "próximo",
        "habrá",
        "más",
        "automatización",
        "¿verdad?",
        "¡Claro!",
    ],
    // Russian
    &[
        "Бюджет",
        "на",
        "следующий",
        "квартал",
        "утверждён,",
        "но",
        "расходы",
        "на",
        "облако",
        "выросли",
        "быстрее,",
        "чем",
        "ожидалось.",
        "Команда",
        "подготовит",
        "отчёт",
    ],
    // Chinese (no spaces)
    &[
        "预算",
        "已经",
        "批准",
        "，",
        "但是",
        "云计算",
        "成本",
        "增长",
        "得",
        "比",
        "预期",
        "更快",
        "。",
        "团队",
        "将",
        "在",
        "下周",
        "提交",
        "报告",
        "迁移",
        "计划",
        "分为",
        "四个",
        "阶段",
    ],
    // Japanese
    &[
        "予算",
        "は",
        "承認",
        "されました",
        "が",
        "、",
        "クラウド",
        "の",
        "費用",
        "が",
        "予想",
        "より",
        "早く",
        "増えています",
        "。",
        "チーム",
        "は",
        "来週",
        "報告書",
        "を",
        "提出",
        "します",
    ],
    // Korean
    &[
        "예산이",
        "승인되었지만",
        "클라우드",
        "비용이",
        "예상보다",
        "빠르게",
        "증가했습니다.",
        "팀은",
        "다음",
        "주에",
        "보고서를",
        "제출합니다.",
    ],
    // Arabic
    &[
        "تمت",
        "الموافقة",
        "على",
        "الميزانية،",
        "لكن",
        "تكاليف",
        "السحابة",
        "ارتفعت",
        "أسرع",
        "من",
        "المتوقع.",
        "سيقدم",
        "الفريق",
        "التقرير",
        "الأسبوع",
        "المقبل.",
    ],
    // Hindi
    &[
        "बजट",
        "को",
        "मंजूरी",
        "मिल",
        "गई",
        "है,",
        "लेकिन",
        "क्लाउड",
        "की",
        "लागत",
        "उम्मीद",
        "से",
        "तेज़ी",
        "से",
        "बढ़ी",
        "है।",
        "टीम",
        "अगले",
        "सप्ताह",
        "रिपोर्ट",
        "देगी।",
    ],
    // Emoji and symbols
    &[
        "✅",
        "🚀",
        "📈",
        "👍🏽",
        "🇸🇪",
        "→",
        "€1,250.00",
        "±0.5",
        "°C",
        "™",
        "…",
        "«ok»",
        "👨‍👩‍👧",
    ],
];

const CODE: &[&str] = &[
    "fn main() {\n    let total: u64 = items.iter().map(|i| i.tokens).sum();\n    println!(\"{total}\");\n}\n",
    "def reconcile(a, b):\n    \"\"\"Return the three biggest deltas.\"\"\"\n    deltas = sorted(((k, b[k] - a.get(k, 0)) for k in b), key=lambda x: -abs(x[1]))\n    return deltas[:3]\n",
    "SELECT consumer, SUM(total_tokens) AS tokens\nFROM usage\nWHERE event_time >= ago(30d)\nGROUP BY consumer\nORDER BY tokens DESC;\n",
    "{\n  \"invoice_id\": \"INV-2026-0042\",\n  \"amount\": 1250.00,\n  \"currency\": \"EUR\",\n  \"paid\": true\n}\n",
    "```bash\nfor f in *.jsonl; do\n\tjq -c 'select(.statusCode == 200)' \"$f\" >> ok.jsonl\ndone\n```\n",
    "const sum = (xs) => xs.reduce((a, b) => a + b, 0);\n\t\t// TODO: handle   NaN\n",
    "    if (x <= 0x7f) { return 1; } else if (x <= 0x7ff) { return 2; }\r\n",
];

const MODELS_O200K: &[&str] = &[
    "gpt-4o-2024-11-20",
    "gpt-4o-mini-2024-07-18",
    "gpt-4.1-2025-04-14",
    "o4-mini-2025-04-16",
];
const MODELS_CL100K: &[&str] = &["gpt-4-0613", "gpt-35-turbo-0125", "gpt-4-turbo-2024-04-09"];
const CONSUMERS: &[(&str, &str)] = &[
    ("finance-analytics", "Finance analytics"),
    ("support-bot", "Customer support bot"),
    ("marketing-copy", "Marketing copywriter"),
    ("accounts-payable", "Accounts payable agent"),
    ("search-indexer", "Search indexer"),
    ("planning-agent", "FP&A planning agent"),
    ("platform-migration", "Platform migration"),
];

/// The generator: one seeded PRNG, deterministic output.
pub struct Gen {
    rng: fastrand::Rng,
    n: u64,
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen {
            rng: fastrand::Rng::with_seed(seed),
            n: 0,
        }
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.usize(..items.len())]
    }

    /// About `bytes` bytes of prose in a few languages, with code blocks, numbers, newlines and
    /// runs of whitespace.
    pub fn text(&mut self, bytes: usize) -> String {
        let mut s = String::with_capacity(bytes + 64);
        let mut lang = self.pick(LANGS);
        while s.len() < bytes {
            match self.rng.u32(..100) {
                0..=2 => s.push_str(self.pick(CODE)),
                3..=5 => {
                    lang = self.pick(LANGS);
                    s.push_str("\n\n");
                }
                6 => s.push_str(&format!(" {} ", self.rng.u32(..1_000_000))),
                7 => s.push_str(&" ".repeat(self.rng.usize(2..12))),
                _ => {
                    let w = self.pick(lang);
                    if !s.is_empty() && !s.ends_with(['\n', ' ']) && lang.len() > 13 {
                        s.push(' ');
                    }
                    s.push_str(w);
                }
            }
        }
        let mut cut = bytes.min(s.len());
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s
    }

    fn text_in(&mut self, bytes: std::ops::Range<usize>) -> String {
        let n = self.rng.usize(bytes);
        self.text(n)
    }

    fn model_one_in(&mut self, n: u32) -> &'static str {
        let cl100k = self.rng.u32(..n) == 0;
        self.model(cl100k)
    }

    fn id(&mut self) -> String {
        self.n += 1;
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            self.rng.u32(..),
            self.rng.u16(..),
            self.rng.u16(..0xfff),
            self.rng.u16(..0xfff),
            self.n
        )
    }

    fn envelope(&mut self, kind: Kind, deployment: &str, op: &str, path: &str) -> Value {
        let (sub, sub_name) = self.pick(CONSUMERS);
        let minute = self.rng.u32(..60);
        let second = self.rng.u32(..60);
        json!({
            "schemaVersion": 2,
            "eventTime": format!("2026-11-02T09:{minute:02}:{second:02}.1234567Z"),
            "requestId": self.id(),
            "serviceName": "apim-chargeback-demo.azure-api.net",
            "region": "Sweden Central",
            "apiId": "azure-openai",
            "operationId": op,
            "subscriptionId": sub,
            "subscriptionName": sub_name,
            "productId": "aoai-standard",
            "userId": "1",
            "callerAppId": null,
            "callerTenantId": null,
            "clientIp": "10.20.1.14",
            "method": "POST",
            "path": path.replace("{d}", deployment),
            "apiVersion": if kind == Kind::StreamText { "2024-02-01" } else { "2024-10-21" },
            "deploymentId": deployment,
            "statusCode": 200,
            "durationMs": self.rng.u32(50..9000),
            "streamUsageInjected": kind == Kind::StreamUsage,
            "requestTruncated": false,
            "responseTruncated": false,
        })
    }

    fn messages(&mut self, max_text: usize) -> Value {
        let mut msgs = vec![json!({"role": "system", "content": self.text_in(40..400)})];
        for i in 0..self.rng.usize(1..6) {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            msgs.push(json!({"role": role, "content": self.text_in(10..max_text)}));
        }
        Value::Array(msgs)
    }

    fn usage(&mut self) -> Value {
        let prompt = self.rng.u64(5..20_000);
        let completion = self.rng.u64(1..4_000);
        json!({
            "completion_tokens": completion,
            "completion_tokens_details": {"accepted_prediction_tokens": 0, "audio_tokens": 0,
                "reasoning_tokens": if self.rng.bool() { completion / 2 } else { 0 },
                "rejected_prediction_tokens": 0},
            "prompt_tokens": prompt,
            "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": prompt / 1024 * 1024 / 2},
            "total_tokens": prompt + completion,
        })
    }

    fn model(&mut self, cl100k: bool) -> &'static str {
        if cl100k {
            self.pick(MODELS_CL100K)
        } else {
            self.pick(MODELS_O200K)
        }
    }

    fn sse(chunks: &[Value]) -> String {
        let mut s = String::new();
        for c in chunks {
            s.push_str("data: ");
            s.push_str(&c.to_string());
            s.push_str("\n\n");
        }
        s.push_str("data: [DONE]\n\n");
        s
    }

    fn chunk(id: &str, model: &str, delta: Value, usage: Option<Value>) -> Value {
        let mut c = json!({
            "choices": [{"content_filter_results": {}, "delta": delta, "finish_reason": null,
                         "index": 0, "logprobs": null}],
            "created": 1793611500, "id": id, "model": model,
            "object": "chat.completion.chunk", "system_fingerprint": "fp_b705f0c291",
        });
        if let Some(u) = usage {
            c["usage"] = u;
        }
        c
    }

    /// Splits `text` into stream deltas of 1–120 bytes (on char boundaries).
    fn deltas(&mut self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let mut cut = self.rng.usize(1..120).min(rest.len());
            while !rest.is_char_boundary(cut) {
                cut += 1;
            }
            out.push(rest[..cut].to_string());
            rest = &rest[cut..];
        }
        out
    }

    fn prompt_filter() -> Value {
        json!({"choices": [], "created": 0, "id": "", "model": "", "object": "",
               "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]})
    }

    /// Azure's per-choice content filter annotation: four categories, none filtered.
    fn azure_filters() -> Value {
        let safe = json!({"filtered": false, "severity": "safe"});
        json!({"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe})
    }

    /// One Azure chat chunk object as Azure sends it; `usage: Some(Null)` writes the
    /// `"usage":null` every chunk carries once `include_usage` is asked for.
    fn azure_chunk(id: &str, model: &str, choice: Value, usage: Option<Value>) -> Value {
        let mut c = json!({
            "choices": [choice], "created": 1793611500, "id": id, "model": model,
            "object": "chat.completion.chunk", "system_fingerprint": "fp_f3927aa00d",
        });
        if let Some(u) = usage {
            c["usage"] = u;
        }
        c
    }

    fn azure_choice(delta: Value, finish: Option<&str>) -> Value {
        json!({"content_filter_results": Self::azure_filters(), "delta": delta,
               "finish_reason": finish, "index": 0, "logprobs": null})
    }

    /// Pieces of 1–40 characters (not bytes), as Azure streams them.
    fn azure_pieces(&mut self, text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        let mut at = 0;
        while at < chars.len() {
            let n = self.rng.usize(1..=40).min(chars.len() - at);
            out.push(chars[at..at + n].iter().collect());
            at += n;
        }
        out
    }

    /// An Azure-shaped chat stream event (see the module doc), its size drawn up to the cap.
    fn azure_stream(&mut self, with_usage: bool) -> Value {
        const CAP: usize = 200 * 1024;
        let kind = if with_usage {
            Kind::AzureUsage
        } else {
            Kind::AzureText
        };
        let model = self.model_one_in(3);
        let chat_path = "/openai/deployments/{d}/chat/completions";
        let mut ev = self.envelope(kind, model, "ChatCompletions_Create", chat_path);
        ev["streamUsageInjected"] = with_usage.into();
        let id = format!("chatcmpl-{:x}", self.rng.u64(..));
        let null = with_usage.then_some(Value::Null);
        // About 560 bytes of event per chunk, 20 characters of content on average.
        let budget = self.rng.usize(2 * 1024..CAP);
        let tool = self.rng.u32(..10) == 0;
        let mut chunks = vec![Self::prompt_filter()];
        let first = if tool {
            json!({"content": null, "refusal": null, "role": "assistant",
                   "tool_calls": [{"index": 0, "id": "call_Az81", "type": "function",
                                   "function": {"name": "get_invoice_status", "arguments": ""}}]})
        } else {
            json!({"content": "", "refusal": null, "role": "assistant"})
        };
        chunks.push(Self::azure_chunk(
            &id,
            model,
            json!({"content_filter_results": {}, "delta": first,
            "finish_reason": null, "index": 0, "logprobs": null}),
            null.clone(),
        ));
        let text = self.text(budget / 28);
        let pieces = if tool {
            self.azure_pieces(&format!(
                "{{\"invoice_id\":\"INV-2026-0042\",\"note\":{}}}",
                Value::String(text)
            ))
        } else {
            self.azure_pieces(&text)
        };
        for p in pieces {
            let delta = if tool {
                json!({"tool_calls": [{"index": 0, "function": {"arguments": p}}]})
            } else {
                json!({"content": p})
            };
            chunks.push(Self::azure_chunk(
                &id,
                model,
                Self::azure_choice(delta, None),
                null.clone(),
            ));
        }
        let finish = if tool { "tool_calls" } else { "stop" };
        chunks.push(Self::azure_chunk(
            &id,
            model,
            Self::azure_choice(json!({}), Some(finish)),
            null,
        ));
        if with_usage {
            chunks.push(
                json!({"choices": [], "created": 1793611500, "id": id, "model": model,
                "object": "chat.completion.chunk", "system_fingerprint": "fp_f3927aa00d",
                "usage": self.usage()}),
            );
        }
        let mut req = json!({"messages": self.messages(1500), "stream": true});
        if with_usage {
            req["stream_options"] = json!({"include_usage": true});
        }
        ev["request"] = req.to_string().into();
        let mut body = Self::sse(&chunks);
        // Keep the event under APIM's cap: drop content chunks from the middle if needed.
        while body.len() + 4096 > CAP && chunks.len() > 4 {
            chunks.remove(chunks.len() / 2);
            body = Self::sse(&chunks);
        }
        ev["response"] = body.into();
        ev
    }

    pub fn event(&mut self, kind: Kind) -> Value {
        let chat_path = "/openai/deployments/{d}/chat/completions";
        match kind {
            Kind::Chat => {
                let model = self.model_one_in(4);
                let mut ev = self.envelope(kind, model, "ChatCompletions_Create", chat_path);
                let answer = self.text_in(50..3000);
                ev["request"] = json!({"messages": self.messages(1500), "max_tokens": 800})
                    .to_string()
                    .into();
                ev["response"] = json!({
                    "choices": [{"content_filter_results": {}, "finish_reason": "stop", "index": 0,
                                 "logprobs": null, "message": {"content": answer, "refusal": null, "role": "assistant"}}],
                    "created": 1793611440, "id": "chatcmpl-x", "model": model, "object": "chat.completion",
                    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
                    "system_fingerprint": "fp_b705f0c291", "usage": self.usage(),
                })
                .to_string()
                .into();
                ev
            }
            Kind::StreamUsage | Kind::StreamText => {
                let with_usage = kind == Kind::StreamUsage;
                let model = self.model_one_in(3);
                let mut ev = self.envelope(kind, model, "ChatCompletions_Create", chat_path);
                let size = if with_usage {
                    self.rng.usize(50..3000)
                } else {
                    self.rng.usize(1024..40 * 1024)
                };
                let answer = self.text(size);
                let mut chunks = vec![Self::prompt_filter()];
                chunks.push(Self::chunk(
                    "chatcmpl-s",
                    model,
                    json!({"content": "", "role": "assistant"}),
                    None,
                ));
                for d in self.deltas(&answer) {
                    chunks.push(Self::chunk(
                        "chatcmpl-s",
                        model,
                        json!({"content": d}),
                        None,
                    ));
                }
                if with_usage {
                    chunks.push(json!({"choices": [], "created": 1793611500, "id": "chatcmpl-s", "model": model,
                        "object": "chat.completion.chunk", "usage": self.usage()}));
                }
                let mut req = json!({"messages": self.messages(if with_usage { 1500 } else { 4000 }), "stream": true});
                if with_usage {
                    req["stream_options"] = json!({"include_usage": true});
                }
                ev["request"] = req.to_string().into();
                ev["response"] = Self::sse(&chunks).into();
                ev
            }
            Kind::ToolStream => {
                let model = self.model(false);
                let mut ev = self.envelope(kind, model, "ChatCompletions_Create", chat_path);
                let tools = json!([{"type": "function", "function": {"name": "get_invoice_status",
                    "description": "Get the payment status of an invoice.",
                    "parameters": {"type": "object", "properties": {
                        "invoice_id": {"type": "string", "description": "The invoice number, e.g. INV-2026-0042."},
                        "currency": {"type": "string", "description": "Currency to report amounts in.", "enum": ["EUR", "USD", "GBP"]}},
                        "required": ["invoice_id"]}}}]);
                ev["request"] = json!({"messages": self.messages(800), "tools": tools, "tool_choice": "auto", "stream": true})
                    .to_string()
                    .into();
                let args = format!(
                    "{{\"invoice_id\":\"INV-2026-{:04}\",\"currency\":\"{}\",\"note\":{}}}",
                    self.rng.u32(..10000),
                    self.pick(&["EUR", "USD", "GBP"]),
                    Value::String(self.text_in(0..400))
                );
                let mut chunks = vec![Self::prompt_filter()];
                chunks.push(Self::chunk(
                    "chatcmpl-t",
                    model,
                    json!({"content": null, "role": "assistant",
                    "tool_calls": [{"index": 0, "id": "call_7Qk2", "type": "function",
                                    "function": {"name": "get_invoice_status", "arguments": ""}}]}),
                    None,
                ));
                for d in self.deltas(&args) {
                    chunks.push(Self::chunk(
                        "chatcmpl-t",
                        model,
                        json!({"tool_calls": [{"index": 0, "function": {"arguments": d}}]}),
                        None,
                    ));
                }
                ev["response"] = Self::sse(&chunks).into();
                ev
            }
            Kind::Embeddings => {
                let model = self.pick(&[
                    "text-embedding-3-small",
                    "text-embedding-3-large",
                    "text-embedding-ada-002",
                ]);
                let mut ev = self.envelope(
                    kind,
                    model,
                    "embeddings_create",
                    "/openai/deployments/{d}/embeddings",
                );
                let n = self.rng.usize(1..8);
                let inputs: Vec<String> = (0..n).map(|_| self.text_in(20..600)).collect();
                let data: Vec<Value> = (0..n)
                    .map(|i| json!({"object": "embedding", "index": i,
                        "embedding": (0..8).map(|_| (self.rng.f64() - 0.5) / 10.0).collect::<Vec<f64>>()}))
                    .collect();
                let prompt = self.rng.u64(5..4000);
                ev["request"] = json!({"input": inputs}).to_string().into();
                ev["response"] = json!({"object": "list", "data": data, "model": model,
                    "usage": {"prompt_tokens": prompt, "total_tokens": prompt}})
                .to_string()
                .into();
                ev
            }
            Kind::Responses => {
                let model = self.pick(&[
                    "gpt-4.1-2025-04-14",
                    "o4-mini-2025-04-16",
                    "gpt-5-mini-2025-08-07",
                ]);
                let mut ev = self.envelope(kind, model, "createResponse", "/openai/v1/responses");
                ev["deploymentId"] = Value::Null;
                let answer = self.text_in(50..2500);
                let input = self.rng.u64(10..9000);
                let output = self.rng.u64(1..3000);
                let usage = json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": input / 4},
                    "output_tokens": output, "output_tokens_details": {"reasoning_tokens": output / 3},
                    "total_tokens": input + output});
                let stream = self.rng.bool();
                ev["request"] =
                    json!({"model": model, "input": self.text_in(20..1500), "stream": stream})
                        .to_string()
                        .into();
                let base = json!({"id": "resp_68f0c1a2b3", "object": "response", "created_at": 1793611800,
                    "model": model, "output": [], "usage": null});
                if stream {
                    let mut s = String::new();
                    let mut put = |kind: &str, mut data: Value| {
                        data["type"] = kind.into();
                        s.push_str(&format!("event: {kind}\ndata: {data}\n\n"));
                    };
                    put(
                        "response.created",
                        json!({"sequence_number": 0, "response": base.clone()}),
                    );
                    let deltas = self.deltas(&answer);
                    for (i, d) in deltas.iter().enumerate() {
                        put(
                            "response.output_text.delta",
                            json!({"sequence_number": i + 1, "item_id": "msg_1",
                            "output_index": 0, "content_index": 0, "delta": d}),
                        );
                    }
                    let mut done = base.clone();
                    done["status"] = "completed".into();
                    done["usage"] = usage;
                    put(
                        "response.completed",
                        json!({"sequence_number": deltas.len() + 1, "response": done}),
                    );
                    ev["response"] = s.into();
                } else {
                    let mut done = base;
                    done["status"] = "completed".into();
                    done["output"] = json!([{"id": "msg_2", "type": "message", "role": "assistant",
                        "content": [{"type": "output_text", "text": answer, "annotations": []}]}]);
                    done["usage"] = usage;
                    ev["response"] = done.to_string().into();
                }
                ev
            }
            Kind::Truncated => {
                let inner = if self.rng.bool() {
                    Kind::Chat
                } else {
                    Kind::StreamText
                };
                let mut ev = self.event(inner);
                for (body, flag) in [
                    ("response", "responseTruncated"),
                    ("request", "requestTruncated"),
                ] {
                    if self.rng.bool() || body == "response" {
                        let text = ev[body].as_str().unwrap_or_default().to_string();
                        let mut cut = self.rng.usize(text.len() / 4..text.len().max(2) - 1);
                        while !text.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        // APIM's policy keeps the head and, for responses, sometimes the tail.
                        let kept = if body == "response" && self.rng.bool() {
                            let mut tail = text.len().saturating_sub(600).max(cut);
                            while !text.is_char_boundary(tail) {
                                tail += 1;
                            }
                            format!("{}\n\n{}", &text[..cut], &text[tail..])
                        } else {
                            text[..cut].to_string()
                        };
                        ev[body] = kept.into();
                        ev[flag] = true.into();
                    }
                }
                ev
            }
            Kind::AzureUsage | Kind::AzureText => self.azure_stream(kind == Kind::AzureUsage),
            Kind::NotBillable => {
                let mut ev = self.event(Kind::Chat);
                let (status, code) =
                    self.pick(&[(429, "429"), (500, "InternalServerError"), (401, "401")]);
                ev["statusCode"] = status.into();
                ev["response"] = json!({"error": {"code": code, "message": "Requests have exceeded the call rate limit; please retry after 6 seconds."}})
                    .to_string()
                    .into();
                ev
            }
        }
    }
}

fn main() -> std::io::Result<()> {
    let mut seed = 42u64;
    let mut events = 20_000usize;
    let mut mix_name = "mixed".to_string();
    let mut out: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_default();
        match a.as_str() {
            "--seed" => seed = val().parse().unwrap_or(seed),
            "--events" => events = val().parse().unwrap_or(events),
            "--mix" => mix_name = val(),
            "--out" => out = Some(val()),
            _ => {
                eprintln!("usage: corpus [--seed N] [--events N] [--mix mixed|usage|tokenizer|azure-usage|azure-text] [--out FILE]");
                std::process::exit(2);
            }
        }
    }
    let Some(weights) = mix(&mix_name) else {
        eprintln!(
            "corpus: unknown mix {mix_name:?} (mixed, usage, tokenizer, azure-usage, azure-text)"
        );
        std::process::exit(2);
    };
    let total: u32 = weights.iter().map(|(_, w)| w).sum();
    let sink: Box<dyn Write> = match &out {
        Some(p) => Box::new(std::fs::File::create(p)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::with_capacity(1 << 20, sink);
    let mut gen = Gen::new(seed);
    let mut counts = vec![0usize; Kind::ALL.len()];
    let mut bytes = 0usize;
    for _ in 0..events {
        let mut r = gen.rng.u32(..total);
        let kind = weights
            .iter()
            .find(|(_, wt)| {
                if r < *wt {
                    true
                } else {
                    r -= wt;
                    false
                }
            })
            .map_or(Kind::Chat, |(k, _)| *k);
        let line = gen.event(kind).to_string();
        bytes += line.len() + 1;
        w.write_all(line.as_bytes())?;
        w.write_all(b"\n")?;
        if let Some(i) = Kind::ALL.iter().position(|k| *k == kind) {
            counts[i] += 1;
        }
    }
    w.flush()?;
    let summary: Vec<String> = Kind::ALL
        .iter()
        .zip(&counts)
        .filter(|(_, c)| **c > 0)
        .map(|(k, c)| format!("{}={c}", k.name()))
        .collect();
    eprintln!(
        "corpus: seed {seed}, {events} events ({}), {:.1} MB",
        summary.join(" "),
        bytes as f64 / 1e6
    );
    Ok(())
}
