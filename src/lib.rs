//! aoai-chargeback: turns Azure API Management logs of Azure OpenAI calls into exact, attributed,
//! priced usage records. The core (`event` → `engine` → `record`) is pure; `host`, `server`,
//! `telemetry` and the CLI in `main.rs` are thin edges around it.

pub mod engine;
pub mod event;
pub mod host;
pub mod nested_json;
pub mod operation;
pub mod partial_json;
pub mod pricing;
pub mod prompt;
pub mod record;
pub mod replay;
pub mod report;
pub mod response;
pub mod server;
pub mod sse;
pub mod telemetry;
pub mod tokenizer;
