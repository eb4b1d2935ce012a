//! The pure core: one raw APIM event in, one billing outcome out (DESIGN 3, 4). No I/O.
//!
//! Order of decisions: parse the event (v2 or legacy v1) → drop non-inference calls (GET of a
//! stored response) → read the response (usage, model, error) → decide billability from the
//! status (2xx; a prompt-side `content_filter` 400 bills the prompt only) → classify the
//! operation → take the usage object, or count with the model's encoding → price → record.

use std::collections::HashMap;

use serde_json::Value;

use crate::event::{parse_event, ApimEvent, EventError};
use crate::operation::{is_non_inference_method, operation_from_name, route_from_path};
use crate::partial_json::parse_prefix;
use crate::pricing::PriceSheet;
use crate::prompt::{chat_request_tokens, input_tokens, ModelTraits};
use crate::record::{ApiOperation, CountSource, UsageRecord};
use crate::response::{completion_texts, read_response, ChoiceText, ResponseFacts, Usage};
use crate::time::normalize_time;
use crate::tokenizer::Encoding;

/// Settings the core needs; built once at start-up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Deployment name (lower-case) → model name, from `CHARGEBACK_DEPLOYMENT_MODELS`.
    pub deployment_models: HashMap<String, String>,
    pub prices: PriceSheet,
    /// Write zero-token rows (billable: false) for non-billable calls instead of skipping them.
    pub record_non_billable: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            deployment_models: HashMap::new(),
            prices: PriceSheet::embedded(),
            record_non_billable: false,
        }
    }
}

/// A malformed `CHARGEBACK_DEPLOYMENT_MODELS` value.
#[derive(Debug, thiserror::Error)]
#[error("CHARGEBACK_DEPLOYMENT_MODELS entry {entry:?} is not of the form deployment=model")]
pub struct DeploymentMapError {
    pub entry: String,
}

/// Parses `deployment=model,deployment=model` (whitespace and empty entries allowed).
pub fn parse_deployment_models(s: &str) -> Result<HashMap<String, String>, DeploymentMapError> {
    let mut map = HashMap::new();
    for entry in s.split([',', ';']).map(str::trim).filter(|e| !e.is_empty()) {
        match entry.split_once('=') {
            Some((d, m)) if !d.trim().is_empty() && !m.trim().is_empty() => {
                map.insert(d.trim().to_ascii_lowercase(), m.trim().to_string());
            }
            _ => {
                return Err(DeploymentMapError {
                    entry: entry.to_string(),
                })
            }
        }
    }
    Ok(map)
}

/// Where an event came from; copied onto its record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub partition_id: Option<String>,
    pub sequence_number: Option<i64>,
    pub enqueued_time: Option<String>,
    pub invocation_id: Option<String>,
}

/// Why a well-formed event produced no record (counted in handler metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// 401, 403, 404, 408, 429, 5xx and other non-billable statuses.
    NotBillableStatus,
    /// GET/DELETE of stored state, not inference.
    NotInference,
    /// An operation we do not meter (or do not know) whose response had no usage object.
    NoUsageForOperation,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NotBillableStatus => "notBillableStatus",
            SkipReason::NotInference => "notInference",
            SkipReason::NoUsageForOperation => "noUsageForOperation",
        }
    }
}

/// What became of one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Record(Box<UsageRecord>),
    Skipped(SkipReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Billing {
    Full,
    PromptOnly,
    None,
}

struct Counted {
    usage: Usage,
    source: CountSource,
    encoding: Option<&'static str>,
}

/// Processes one raw event. `Err` means the event cannot be read at all: it belongs in the
/// dead-letter output. Never panics, whatever the input.
pub fn process_event(raw: &str, trace: &Trace, cfg: &EngineConfig) -> Result<Outcome, EventError> {
    let ev = parse_event(raw)?;
    Ok(process_parsed(&ev, trace, cfg))
}

/// Processes an already-parsed event.
pub(crate) fn process_parsed(ev: &ApimEvent<'_>, trace: &Trace, cfg: &EngineConfig) -> Outcome {
    if ev.method.as_deref().is_some_and(is_non_inference_method) {
        return Outcome::Skipped(SkipReason::NotInference);
    }
    let (facts, stream_texts) = ev
        .response
        .as_deref()
        .map(read_response)
        .unwrap_or_default();
    let status = ev.status_code.unwrap_or(match &facts.error_code {
        Some(code) => code.parse().unwrap_or(400),
        None => 200,
    });
    let billing = match status {
        200..=299 => Billing::Full,
        400 if facts.error_code.as_deref() == Some("content_filter") => Billing::PromptOnly,
        _ => Billing::None,
    };

    let route = ev.path.as_deref().map(route_from_path);
    let operation = route
        .as_ref()
        .and_then(|r| r.operation)
        .or_else(|| ev.operation_id.as_deref().and_then(operation_from_name))
        .or_else(|| {
            ev.api_operation_hint
                .as_deref()
                .and_then(operation_from_name)
        })
        .or(facts.operation)
        .unwrap_or(ApiOperation::Other);

    // The request is parsed only when something needs it.
    let mut request: Option<Option<(Value, bool)>> = None;
    let mut request_value = || -> Option<(Value, bool)> {
        request
            .get_or_insert_with(|| ev.request.as_deref().and_then(parse_prefix))
            .clone()
    };

    let deployment = ev
        .deployment_id
        .clone()
        .or_else(|| route.as_ref().and_then(|r| r.deployment.clone()));
    let mapped_model = deployment
        .as_deref()
        .and_then(|d| cfg.deployment_models.get(&d.to_ascii_lowercase()).cloned());
    // Many deployments are named after their model: a deployment name that is a known model is
    // the last resort when neither the response, the map nor the request names one.
    let model = facts
        .model
        .clone()
        .or(mapped_model)
        .or_else(|| {
            request_value()
                .and_then(|(v, _)| v.get("model").and_then(Value::as_str).map(str::to_owned))
        })
        .or_else(|| {
            deployment
                .clone()
                .filter(|d| cfg.prices.rates(d).is_some() || Encoding::for_model(d).is_some())
        });
    let deployment = deployment.or_else(|| {
        request_value().and_then(|(v, _)| v.get("model").and_then(Value::as_str).map(str::to_owned))
    });
    let stream = facts.is_stream
        || (ev.response.is_none()
            && request_value().is_some_and(|(v, _)| v.get("stream") == Some(&Value::Bool(true))));

    let counted = match billing {
        Billing::None => None,
        _ => count(
            ev,
            &facts,
            billing,
            operation,
            model.as_deref(),
            &mut request_value,
            stream_texts,
        ),
    };
    let (counted, billable) = match (billing, counted) {
        (Billing::None, _) if cfg.record_non_billable => (
            Counted {
                usage: Usage::default(),
                source: CountSource::Usage,
                encoding: None,
            },
            false,
        ),
        (Billing::None, _) => return Outcome::Skipped(SkipReason::NotBillableStatus),
        (_, None) => return Outcome::Skipped(SkipReason::NoUsageForOperation),
        (_, Some(c)) => (c, true),
    };

    let u = counted.usage;
    let cost = if billable {
        cfg.prices
            .cost(model.as_deref(), u.prompt, u.cached, u.completion)
    } else {
        None
    };
    let event_time = ev
        .event_time
        .as_deref()
        .and_then(normalize_time)
        .or_else(|| trace.enqueued_time.as_deref().and_then(normalize_time))
        .or_else(|| ev.event_time.clone())
        .unwrap_or_default();
    Outcome::Record(Box::new(UsageRecord {
        request_id: ev.request_id.clone(),
        event_time,
        consumer: ev.consumer.clone(),
        api_operation: operation,
        deployment,
        model,
        api_version: ev.api_version.clone(),
        stream,
        status_code: status,
        billable,
        prompt_tokens: u.prompt,
        completion_tokens: u.completion,
        total_tokens: u.prompt.saturating_add(u.completion),
        cached_tokens: u.cached,
        reasoning_tokens: u.reasoning,
        count_source: counted.source,
        encoding: counted.encoding.map(str::to_owned),
        cost,
        service_name: ev.service_name.clone(),
        region: ev.region.clone(),
        partition_id: trace.partition_id.clone(),
        sequence_number: trace.sequence_number,
        enqueued_time: trace.enqueued_time.as_deref().and_then(normalize_time),
        invocation_id: trace.invocation_id.clone(),
        telemetry_undelivered: false,
    }))
}

fn count(
    ev: &ApimEvent<'_>,
    facts: &ResponseFacts,
    billing: Billing,
    operation: ApiOperation,
    model: Option<&str>,
    request_value: &mut dyn FnMut() -> Option<(Value, bool)>,
    stream_texts: Option<(Vec<ChoiceText>, bool)>,
) -> Option<Counted> {
    if let Some(u) = facts.usage {
        let usage = match billing {
            Billing::PromptOnly => Usage {
                completion: 0,
                reasoning: 0,
                ..u
            },
            _ => u,
        };
        return Some(Counted {
            usage,
            source: if facts.usage_from_stream {
                CountSource::StreamUsage
            } else {
                CountSource::Usage
            },
            encoding: None,
        });
    }
    let counted_ops = [
        ApiOperation::ChatCompletion,
        ApiOperation::TextCompletion,
        ApiOperation::Embeddings,
        ApiOperation::Responses,
    ];
    if !counted_ops.contains(&operation) {
        return None;
    }

    let traits = ModelTraits::for_model(model);
    let enc = traits.encoding;
    let mut truncated = ev.request_truncated || ev.response_truncated || facts.damaged;

    // Prompt: never for the Responses API (stored turns are billed but are not in the body).
    let prompt = if operation == ApiOperation::Responses {
        0
    } else {
        match request_value() {
            Some((req, repaired)) => {
                truncated |= repaired;
                match operation {
                    ApiOperation::ChatCompletion => chat_request_tokens(&req, traits),
                    ApiOperation::TextCompletion => {
                        req.get("prompt").map_or(0, |p| input_tokens(p, traits))
                    }
                    _ => req.get("input").map_or(0, |p| input_tokens(p, traits)),
                }
            }
            None => {
                truncated = true;
                0
            }
        }
    };

    let completion = if billing == Billing::PromptOnly || operation == ApiOperation::Embeddings {
        0
    } else {
        match ev.response.as_deref() {
            Some(body) => {
                // A stream's texts were read in the same pass as its facts.
                let (texts, damaged) = stream_texts.unwrap_or_else(|| completion_texts(body));
                truncated |= damaged;
                texts
                    .iter()
                    .map(|t| {
                        enc.count(&t.content)
                            + t.arguments.iter().map(|a| enc.count(a)).sum::<u64>()
                    })
                    .sum()
            }
            None => {
                truncated = true;
                0
            }
        }
    };
    Some(Counted {
        usage: Usage {
            prompt,
            completion,
            cached: 0,
            reasoning: 0,
        },
        source: if truncated {
            CountSource::TokenizerTruncated
        } else {
            CountSource::Tokenizer
        },
        encoding: Some(enc.name()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployment_map_setting_is_parsed_leniently_but_strictly_shaped() {
        let m = parse_deployment_models(" chat = gpt-4o-2024-11-20 ,, Emb=text-embedding-3-small ")
            .unwrap();
        assert_eq!(m.get("chat").map(String::as_str), Some("gpt-4o-2024-11-20"));
        assert_eq!(
            m.get("emb").map(String::as_str),
            Some("text-embedding-3-small")
        );
        assert!(parse_deployment_models("chat").is_err());
        assert!(parse_deployment_models("=x").is_err());
    }
}
