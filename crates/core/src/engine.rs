//! The pure core: one raw APIM event in, one billing outcome out. No I/O. The rules are written
//! down in `docs/counting.md`; the record they produce in `docs/record.md`.
//!
//! Order of decisions: parse the event (v2 or legacy v1) → drop non-inference calls (GET of a
//! stored response) → read the response (usage, model, error) → decide billability from the
//! status (2xx; a prompt-side `content_filter` 400 bills the prompt only) → classify the
//! operation → take the usage object, or count with the model's encoding (`count`) → price →
//! record.

use chargeback_pricing::{
    resolve_deployment, DeploymentMap, DeploymentType, DeploymentWarning, PriceSheet,
    Usage as Priced,
};
use serde_json::Value;

use crate::count::{count, Billing, Counted, Request};
use crate::event::{parse_event, parse_event_decoded, ApimEvent, EventError};
use crate::operation::{is_non_inference_method, operation_from_name, route_from_path, Route};
use crate::record::{ApiOperation, CountSource, UsageRecord};
use crate::response::{read_body, ResponseFacts, Usage};
use crate::time::{normalize_time, parse_time};
use crate::tokenizer::Encoding;

/// Settings the core needs; built once at start-up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Deployment name (lower-case) → model and type, from `CHARGEBACK_DEPLOYMENTS` and the
    /// legacy `CHARGEBACK_DEPLOYMENT_MODELS` (`chargeback_pricing::deployment_settings`).
    pub deployments: DeploymentMap,
    pub prices: PriceSheet,
    /// Write zero-token rows (billable: false) for non-billable calls instead of skipping them.
    pub record_non_billable: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            deployments: DeploymentMap::new(),
            prices: embedded_sheet(),
            record_non_billable: false,
        }
    }
}

/// The embedded sheet (validated by a test); an empty sheet, which prices nothing, if it ever
/// failed to parse.
fn embedded_sheet() -> PriceSheet {
    PriceSheet::embedded().unwrap_or_else(|_| PriceSheet {
        version: "none".into(),
        currency: chargeback_pricing::Currency::new("USD").unwrap_or_else(|_| unreachable!()),
        format: chargeback_pricing::SheetFormat::V2,
        source: None,
        taken_on: None,
        rates: Vec::new(),
        aliases: Default::default(),
        deployments: DeploymentMap::new(),
        provisioned: Default::default(),
    })
}

impl EngineConfig {
    /// Every deployment on which the settings and the sheet's `deployments` disagree (the
    /// setting wins). The caller logs them once at start-up: names and SKU only, never content.
    pub fn deployment_warnings(&self) -> Vec<DeploymentWarning> {
        self.deployments
            .keys()
            .filter(|name| self.prices.deployments.contains_key(*name))
            .flat_map(|name| {
                resolve_deployment(Some(name), &self.deployments, &self.prices.deployments).warnings
            })
            .collect()
    }
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

/// Processes one raw event. `Err` means the event cannot be read at all: it belongs in the
/// dead-letter output. Never panics, whatever the input.
pub fn process_event(raw: &str, trace: &Trace, cfg: &EngineConfig) -> Result<Outcome, EventError> {
    let ev = parse_event(raw)?;
    Ok(process_parsed(&ev, trace, cfg))
}

/// [`process_event`] with the event's bodies decoded whole when it is read (the general path of
/// the differential checks).
pub(crate) fn process_event_decoded(
    raw: &str,
    trace: &Trace,
    cfg: &EngineConfig,
) -> Result<Outcome, EventError> {
    let ev = parse_event_decoded(raw)?;
    Ok(process_parsed(&ev, trace, cfg))
}

/// Processes an already-parsed event.
fn process_parsed(ev: &ApimEvent<'_>, trace: &Trace, cfg: &EngineConfig) -> Outcome {
    if ev.method.as_deref().is_some_and(is_non_inference_method) {
        return Outcome::Skipped(SkipReason::NotInference);
    }
    let (facts, stream_texts) = ev.response.as_ref().map(read_body).unwrap_or_default();
    let status = ev.status_code.unwrap_or(match &facts.error_code {
        Some(code) => code.parse().unwrap_or(400),
        None => 200,
    });
    let billing = billing_of(status, &facts);
    let route = ev.path.as_deref().map(route_from_path);
    let operation = operation_of(ev, route.as_ref(), &facts);
    // The request is parsed only when something needs it, and then once.
    let request = Request::new(ev.request.as_ref());
    let names = Names::resolve(ev, route, &facts, &request, cfg);
    let stream = facts.is_stream
        || (ev.response.is_none()
            && request
                .get()
                .is_some_and(|(v, _)| v.get("stream") == Some(&Value::Bool(true))));

    let counted = match billing {
        Billing::None => None,
        _ => count(
            ev,
            &facts,
            (billing, operation),
            names.model.as_deref(),
            &request,
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
    let call = Call {
        operation,
        names,
        stream,
        status,
        billable,
    };
    Outcome::Record(Box::new(build_record(ev, trace, cfg, call, counted)))
}

/// How much of a call is billed, from its status and response.
fn billing_of(status: u16, facts: &ResponseFacts) -> Billing {
    match status {
        200..=299 => Billing::Full,
        400 if facts.error_code.as_deref() == Some("content_filter") => Billing::PromptOnly,
        _ => Billing::None,
    }
}

/// The operation: from the path, else the operation id, else the v1 hint, else the response's
/// `object`.
fn operation_of(ev: &ApimEvent<'_>, route: Option<&Route>, facts: &ResponseFacts) -> ApiOperation {
    route
        .and_then(|r| r.operation)
        .or_else(|| ev.operation_id.as_deref().and_then(operation_from_name))
        .or_else(|| {
            ev.api_operation_hint
                .as_deref()
                .and_then(operation_from_name)
        })
        .or(facts.operation)
        .unwrap_or(ApiOperation::Other)
}

/// The deployment and model a call is recorded under.
struct Names {
    deployment: Option<String>,
    deployment_type: DeploymentType,
    model: Option<String>,
}

impl Names {
    fn resolve(
        ev: &ApimEvent<'_>,
        route: Option<Route>,
        facts: &ResponseFacts,
        request: &Request<'_>,
        cfg: &EngineConfig,
    ) -> Names {
        let requested_model = || {
            request
                .get()
                .and_then(|(v, _)| v.get("model").and_then(Value::as_str).map(str::to_owned))
        };
        let deployment = ev
            .deployment_id
            .clone()
            .or_else(|| route.and_then(|r| r.deployment));
        let resolved = resolve_deployment(
            deployment.as_deref(),
            &cfg.deployments,
            &cfg.prices.deployments,
        );
        let mapped_model = resolved.model;
        // Many deployments are named after their model: a deployment name that is a known model
        // is the last resort when neither the response, the map nor the request names one.
        let model = facts
            .model
            .clone()
            .or(mapped_model)
            .or_else(requested_model)
            .or_else(|| {
                deployment
                    .clone()
                    .filter(|d| cfg.prices.knows_model(d) || Encoding::for_model(d).is_some())
            });
        Names {
            deployment: deployment.or_else(requested_model),
            deployment_type: resolved.deployment_type,
            model,
        }
    }
}

/// What was decided about a call, for its record.
struct Call {
    operation: ApiOperation,
    names: Names,
    stream: bool,
    status: u16,
    billable: bool,
}

fn build_record(
    ev: &ApimEvent<'_>,
    trace: &Trace,
    cfg: &EngineConfig,
    call: Call,
    counted: Counted,
) -> UsageRecord {
    let u = counted.usage;
    let model = call.names.model;
    let event_time = ev
        .event_time
        .as_deref()
        .and_then(normalize_time)
        .or_else(|| trace.enqueued_time.as_deref().and_then(normalize_time))
        .or_else(|| ev.event_time.clone())
        .unwrap_or_default();
    let (cost, unpriced) = if call.billable {
        let priced = Priced {
            model: model.as_deref(),
            version: None,
            deployment_type: call.names.deployment_type,
            event_time: parse_time(&event_time).unwrap_or_default(),
            prompt: u.prompt,
            cached: u.cached,
            completion: u.completion,
        };
        match cfg.prices.price(&priced) {
            Ok(c) => (Some(c), None),
            Err(why) => (None, Some(why.code().to_string())),
        }
    } else {
        (None, None)
    };
    UsageRecord {
        request_id: ev.request_id.clone(),
        event_time,
        consumer: ev.consumer.clone(),
        api_operation: call.operation,
        deployment: call.names.deployment,
        deployment_type: call.names.deployment_type,
        model,
        api_version: ev.api_version.clone(),
        stream: call.stream,
        status_code: call.status,
        billable: call.billable,
        prompt_tokens: u.prompt,
        completion_tokens: u.completion,
        total_tokens: u.prompt.saturating_add(u.completion),
        cached_tokens: u.cached,
        reasoning_tokens: u.reasoning,
        count_source: counted.source,
        encoding: counted.encoding.map(str::to_owned),
        cost,
        unpriced,
        service_name: ev.service_name.clone(),
        region: ev.region.clone(),
        partition_id: trace.partition_id.clone(),
        sequence_number: trace.sequence_number,
        enqueued_time: trace.enqueued_time.as_deref().and_then(normalize_time),
        invocation_id: trace.invocation_id.clone(),
        telemetry_undelivered: false,
    }
}
