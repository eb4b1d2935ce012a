//! Pure mapping of a `UsageRecord` to an Application Insights `EventData` envelope (`docs/telemetry.md`),
//! with the documented field limits enforced by truncating on character boundaries.

use rust_decimal::prelude::ToPrimitive;
use serde::ser::{Serialize, SerializeMap, Serializer};

use chargeback_core::UsageRecord;

/// The event name every usage record is sent under (the original sample's name).
pub const EVENT_NAME: &str = "Azure OpenAI Tokens";
/// Documented limit on a custom property (customDimensions) key, in characters.
pub const MAX_PROPERTY_KEY_CHARS: usize = 150;
/// Documented limit on a custom property value, in characters.
pub const MAX_PROPERTY_VALUE_CHARS: usize = 8192;
/// Documented limit on one serialized telemetry item, in bytes.
pub const MAX_ITEM_BYTES: usize = 64 * 1024;
/// Documented limits on the tags we set.
const MAX_ROLE_CHARS: usize = 256;
const MAX_OPERATION_ID_CHARS: usize = 128;
const MAX_SDK_VERSION_CHARS: usize = 64;

/// The parts of an envelope that come from configuration, not from the record.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvelopeContext {
    pub instrumentation_key: String,
    /// `ai.cloud.role`: `WEBSITE_SITE_NAME`, else `chargeback`.
    pub role: String,
    /// `ai.cloud.roleInstance`: `WEBSITE_INSTANCE_ID`, else the host name.
    pub role_instance: String,
    /// `ai.internal.sdkVersion`, e.g. `rust-chargeback:0.1.0`.
    pub sdk_version: String,
}

impl EnvelopeContext {
    pub fn new(instrumentation_key: impl Into<String>) -> Self {
        EnvelopeContext {
            instrumentation_key: instrumentation_key.into(),
            role: "chargeback".into(),
            role_instance: "localhost".into(),
            sdk_version: default_sdk_version(),
        }
    }

    /// `Microsoft.ApplicationInsights.{ikey without dashes}.Event`, as the classic SDKs name it.
    pub fn envelope_name(&self) -> String {
        format!(
            "Microsoft.ApplicationInsights.{}.Event",
            self.instrumentation_key.replace('-', "")
        )
    }
}

impl std::fmt::Debug for EnvelopeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvelopeContext")
            .field(
                "instrumentation_key",
                &crate::connection::redact_key(&self.instrumentation_key),
            )
            .field("role", &self.role)
            .field("role_instance", &self.role_instance)
            .field("sdk_version", &self.sdk_version)
            .finish()
    }
}

/// `rust-chargeback:{crate version}`.
pub(crate) fn default_sdk_version() -> String {
    format!("rust-chargeback:{}", env!("CARGO_PKG_VERSION"))
}

/// A JSON object that keeps insertion order (serde_json's own map sorts keys), so the original
/// sample's dimensions come first on the wire.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V> OrderedMap<V> {
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
    fn push(&mut self, key: &str, value: V) {
        self.0.push((
            truncate_chars(key, MAX_PROPERTY_KEY_CHARS).to_string(),
            value,
        ));
    }
}

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One telemetry item, as the classic SDKs serialise it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Envelope {
    pub name: String,
    pub time: String,
    #[serde(rename = "iKey")]
    pub ikey: String,
    #[serde(rename = "sampleRate")]
    pub sample_rate: f64,
    pub tags: OrderedMap<String>,
    pub data: Data,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Data {
    #[serde(rename = "baseType")]
    pub base_type: &'static str,
    #[serde(rename = "baseData")]
    pub base_data: EventData,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EventData {
    pub ver: u8,
    pub name: &'static str,
    pub properties: OrderedMap<String>,
    pub measurements: OrderedMap<f64>,
}

/// The dimension keys of the original sample, in its order; they always come first.
pub const ORIGINAL_SAMPLE_KEYS: [&str; 8] = [
    "AppKey",
    "Timestamp",
    "Stream",
    "ApiOperation",
    "PromptTokens",
    "CompletionTokens",
    "TotalTokens",
    "TokenInfoId",
];

/// Builds the envelope for one record. `invocation_id` (the Functions invocation) becomes
/// `ai.operation.id`; without one, the record's own `invocationId` is used when present.
/// Never carries prompt or completion text: the record has none.
pub fn build_envelope(
    record: &UsageRecord,
    ctx: &EnvelopeContext,
    invocation_id: Option<&str>,
) -> Envelope {
    Envelope {
        name: ctx.envelope_name(),
        time: envelope_time(&record.event_time),
        ikey: ctx.instrumentation_key.clone(),
        sample_rate: 100.0,
        tags: tags(record, ctx, invocation_id),
        data: Data {
            base_type: "EventData",
            base_data: EventData {
                ver: 2,
                name: EVENT_NAME,
                properties: properties(record, invocation_id),
                measurements: measurements(record),
            },
        },
    }
}

/// The tags: cloud role and instance, the operation id, the SDK version.
fn tags(
    record: &UsageRecord,
    ctx: &EnvelopeContext,
    invocation_id: Option<&str>,
) -> OrderedMap<String> {
    let mut tags = OrderedMap::default();
    tags.push("ai.cloud.role", cut(&ctx.role, MAX_ROLE_CHARS));
    tags.push(
        "ai.cloud.roleInstance",
        cut(&ctx.role_instance, MAX_ROLE_CHARS),
    );
    if let Some(op) = invocation_id
        .or(record.invocation_id.as_deref())
        .filter(|s| !s.is_empty())
    {
        tags.push("ai.operation.id", cut(op, MAX_OPERATION_ID_CHARS));
    }
    tags.push(
        "ai.internal.sdkVersion",
        cut(&ctx.sdk_version, MAX_SDK_VERSION_CHARS),
    );

    tags
}

/// The custom dimensions: the original sample's keys first, then the rest of the record.
fn properties(record: &UsageRecord, invocation_id: Option<&str>) -> OrderedMap<String> {
    let mut p = sample_properties(record);
    record_properties(&mut p, record, invocation_id);
    p
}

/// The original sample's dimensions, in its order, so its Kusto queries keep working.
fn sample_properties(record: &UsageRecord) -> OrderedMap<String> {
    let mut p = OrderedMap::default();
    p.push(
        "AppKey",
        cut(record.consumer.billing_key(), MAX_PROPERTY_VALUE_CHARS),
    );
    p.push(
        "Timestamp",
        cut(&record.event_time, MAX_PROPERTY_VALUE_CHARS),
    );
    p.push(
        "Stream",
        if record.stream { "True" } else { "False" }.into(),
    );
    p.push("ApiOperation", record.api_operation.as_str().into());
    p.push("PromptTokens", record.prompt_tokens.to_string());
    p.push("CompletionTokens", record.completion_tokens.to_string());
    p.push("TotalTokens", record.total_tokens.to_string());
    p.push(
        "TokenInfoId",
        cut(&record.request_id, MAX_PROPERTY_VALUE_CHARS),
    );
    p
}

/// The rest of the record, each dimension only when it has a value.
fn record_properties(
    p: &mut OrderedMap<String>,
    record: &UsageRecord,
    invocation_id: Option<&str>,
) {
    let c = &record.consumer;
    let mut opt = |key: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            p.push(key, cut(v, MAX_PROPERTY_VALUE_CHARS));
        }
    };
    opt("Model", record.model.as_deref());
    opt("Deployment", record.deployment.as_deref());
    opt("DeploymentType", Some(record.deployment_type.as_str()));
    opt("ApiVersion", record.api_version.as_deref());
    opt("StatusCode", Some(&record.status_code.to_string()));
    opt("CachedTokens", Some(&record.cached_tokens.to_string()));
    opt(
        "ReasoningTokens",
        Some(&record.reasoning_tokens.to_string()),
    );
    opt("CountSource", Some(record.count_source.as_str()));
    opt("Encoding", record.encoding.as_deref());
    if let Some(cost) = &record.cost {
        opt("Cost", Some(&cost.total.to_string()));
        opt("Currency", Some(&cost.currency));
        opt("PriceSheet", Some(&cost.price_sheet));
    }
    opt("SubscriptionName", c.subscription_name.as_deref());
    opt("ProductId", c.product_id.as_deref());
    opt("UserId", c.user_id.as_deref());
    opt("CallerAppId", c.caller_app_id.as_deref());
    opt("CallerTenantId", c.caller_tenant_id.as_deref());
    opt("PartitionId", record.partition_id.as_deref());
    opt(
        "SequenceNumber",
        record.sequence_number.map(|n| n.to_string()).as_deref(),
    );
    opt(
        "InvocationId",
        record.invocation_id.as_deref().or(invocation_id),
    );
    opt(
        "Billable",
        Some(if record.billable { "True" } else { "False" }),
    );
    opt("ServiceName", record.service_name.as_deref());
    opt("Region", record.region.as_deref());
    opt("EnqueuedTime", record.enqueued_time.as_deref());
}

/// The measurements: token counts and the cost.
fn measurements(record: &UsageRecord) -> OrderedMap<f64> {
    let mut m = OrderedMap::default();
    // Token counts are exact up to 2^53; beyond that f64 rounds, which no real call reaches.
    m.push("PromptTokens", record.prompt_tokens as f64);
    m.push("CompletionTokens", record.completion_tokens as f64);
    m.push("TotalTokens", record.total_tokens as f64);
    m.push("CachedTokens", record.cached_tokens as f64);
    m.push("ReasoningTokens", record.reasoning_tokens as f64);
    // Measurements are doubles on the wire; the exact amount is the ledger's (and the `Cost`
    // property's text). KQL sums of this measurement are approximate by nature.
    if let Some(total) = record.cost.as_ref().and_then(|c| c.total.to_f64()) {
        m.push("Cost", total);
    }

    m
}

/// The envelope serialised to JSON, kept under [`MAX_ITEM_BYTES`] by shortening the longest
/// property values (on character boundaries) until it fits. The token counts, `AppKey` and
/// `TokenInfoId` are shortened last.
pub fn envelope_json(envelope: &Envelope) -> Vec<u8> {
    let mut env = envelope.clone();
    loop {
        // Serialising plain strings, numbers and maps cannot fail.
        let bytes = serde_json::to_vec(&env).unwrap_or_default();
        if bytes.len() <= MAX_ITEM_BYTES {
            return bytes;
        }
        let props = &mut env.data.base_data.properties.0;
        let protected = |k: &str| ORIGINAL_SAMPLE_KEYS.contains(&k);
        let longest = props
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| !protected(k))
            .max_by_key(|(_, (_, v))| v.len())
            .filter(|(_, (_, v))| v.len() > 16)
            .or_else(|| {
                props
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, (_, v))| v.len())
                    .filter(|(_, (_, v))| v.len() > 16)
            })
            .map(|(i, _)| i);
        let Some(i) = longest else {
            // Nothing left to shorten (cannot happen with the limits above); send as is.
            return bytes;
        };
        let value = &mut props[i].1;
        let keep = value.chars().count() / 2;
        *value = truncate_chars(value, keep).to_string();
    }
}

/// The item's `time`: the record's `eventTime` as ISO 8601 UTC with microseconds (`…Z`); an
/// unreadable one is replaced by the current time (the original text stays in the `Timestamp`
/// dimension). The only place the envelope reads the clock.
pub fn envelope_time(event_time: &str) -> String {
    chargeback_core::item_time(event_time, chrono::Utc::now)
}

/// The longest prefix of `s` with at most `max_chars` characters (never splits a character).
pub fn truncate_chars(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((byte, _)) => &s[..byte],
        None => s,
    }
}

fn cut(s: &str, max_chars: usize) -> String {
    truncate_chars(s, max_chars).to_string()
}
