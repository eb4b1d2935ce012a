//! APIM log events: the v2 schema our policy sends (`docs/event-schema.md`) and the legacy v1 event of the
//! original sample, parsed into one normalised [`ApimEvent`].
//!
//! Field names are camelCase; PascalCase spellings are accepted too, because hand-written APIM
//! policies often use them. A raw subscription key from a v1 event never leaves this module: it is
//! replaced by its fingerprint `key-sha256:<first 12 hex of sha256>`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::body::Body;
use crate::bounds::{self, Impossible};
use crate::lenient::lenient_u64;
use crate::record::Consumer;

/// Which event schema an event used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    V2,
    LegacyV1,
}

/// Why an event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("event is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("event is JSON but not an object (it starts with {0:?})")]
    NotAnObject(char),
    #[error("event has no requestId and is not a legacy v1 event (no appSubscriptionKey/request/response)")]
    MissingRequestId,
    /// A status or usage count no API could have produced (`docs/event-schema.md`, "Bounds").
    #[error("event has a value no real call can have: {0}")]
    Impossible(#[from] Impossible),
}

/// One APIM-logged call, normalised. Bodies borrow from the raw event, still escaped (`Body`).
#[derive(Debug, Clone)]
pub struct ApimEvent<'a> {
    pub schema: Schema,
    /// The idempotency key. For v1 events (which have none) a stable hash of the raw event.
    pub request_id: String,
    pub event_time: Option<String>,
    pub consumer: Consumer,
    pub service_name: Option<String>,
    pub region: Option<String>,
    pub operation_id: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub api_version: Option<String>,
    pub deployment_id: Option<String>,
    pub status_code: Option<u16>,
    pub stream_usage_injected: bool,
    pub request: Option<Body<'a>>,
    pub response: Option<Body<'a>>,
    pub request_truncated: bool,
    pub response_truncated: bool,
    /// The v1 `apiOperation` field, a hint only.
    pub api_operation_hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventFields<'a> {
    #[serde(default, alias = "SchemaVersion", deserialize_with = "de_opt_u64")]
    schema_version: Option<u64>,
    #[serde(default, alias = "EventTime", deserialize_with = "de_opt_string")]
    event_time: Option<String>,
    #[serde(default, alias = "RequestId", deserialize_with = "de_opt_string")]
    request_id: Option<String>,
    #[serde(default, alias = "ServiceName", deserialize_with = "de_opt_string")]
    service_name: Option<String>,
    #[serde(default, alias = "Region", deserialize_with = "de_opt_string")]
    region: Option<String>,
    #[serde(default, alias = "OperationId", deserialize_with = "de_opt_string")]
    operation_id: Option<String>,
    #[serde(default, alias = "SubscriptionId", deserialize_with = "de_opt_string")]
    subscription_id: Option<String>,
    #[serde(
        default,
        alias = "SubscriptionName",
        deserialize_with = "de_opt_string"
    )]
    subscription_name: Option<String>,
    #[serde(default, alias = "ProductId", deserialize_with = "de_opt_string")]
    product_id: Option<String>,
    #[serde(default, alias = "UserId", deserialize_with = "de_opt_string")]
    user_id: Option<String>,
    #[serde(default, alias = "CallerAppId", deserialize_with = "de_opt_string")]
    caller_app_id: Option<String>,
    #[serde(default, alias = "CallerTenantId", deserialize_with = "de_opt_string")]
    caller_tenant_id: Option<String>,
    #[serde(default, alias = "Method", deserialize_with = "de_opt_string")]
    method: Option<String>,
    #[serde(default, alias = "Path", deserialize_with = "de_opt_string")]
    path: Option<String>,
    #[serde(default, alias = "ApiVersion", deserialize_with = "de_opt_string")]
    api_version: Option<String>,
    #[serde(default, alias = "DeploymentId", deserialize_with = "de_opt_string")]
    deployment_id: Option<String>,
    /// Checked by `bounds::status_code` once read.
    #[serde(default, alias = "StatusCode", alias = "ResponseCode")]
    status_code: Option<serde_json::Value>,
    #[serde(
        default,
        alias = "StreamUsageInjected",
        deserialize_with = "de_opt_bool"
    )]
    stream_usage_injected: Option<bool>,
    /// Kept as the event's own text, checked but not decoded (`body`).
    #[serde(default, borrow, alias = "Request")]
    request: Option<&'a RawValue>,
    #[serde(default, borrow, alias = "Response")]
    response: Option<&'a RawValue>,
    #[serde(default, alias = "RequestTruncated", deserialize_with = "de_opt_bool")]
    request_truncated: Option<bool>,
    #[serde(default, alias = "ResponseTruncated", deserialize_with = "de_opt_bool")]
    response_truncated: Option<bool>,
    #[serde(default, alias = "ApiOperation", deserialize_with = "de_opt_string")]
    api_operation: Option<String>,
    #[serde(
        default,
        alias = "AppSubscriptionKey",
        deserialize_with = "de_opt_string"
    )]
    app_subscription_key: Option<String>,
}

/// `key-sha256:<first 12 hex of sha256(key)>`: identifies a key without revealing it — the
/// redactor's fingerprint, so a key billed here and one redacted in a dead letter match.
pub use chargeback_redact::key_fingerprint;

/// A stable id for a v1 event (which has none): a hash of its content fields, not of its bytes,
/// so the same call gets the same id whichever host payload shape (re-serialised or not)
/// delivered it.
fn v1_request_id(parts: &[Option<&str>]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        let p = p.unwrap_or("");
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("v1-sha256:{hex}")
}

/// Parses one raw APIM event (the Event Hubs message body).
pub fn parse_event(raw: &str) -> Result<ApimEvent<'_>, EventError> {
    parse(raw, Bodies::Escaped)
}

/// [`parse_event`] with the bodies decoded whole when the event is read, and checked as decoded
/// text: the general path that the differential checks compare the escaped one with.
pub(crate) fn parse_event_decoded(raw: &str) -> Result<ApimEvent<'_>, EventError> {
    parse(raw, Bodies::Decoded)
}

/// How an event's bodies are kept once read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bodies {
    Escaped,
    Decoded,
}

fn parse(raw: &str, bodies: Bodies) -> Result<ApimEvent<'_>, EventError> {
    let first = raw
        .trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
        .chars()
        .next()
        .unwrap_or(' ');
    if first != '{' {
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(raw) {
            return Err(EventError::NotJson(e));
        }
        return Err(EventError::NotAnObject(first));
    }
    let ev: EventFields<'_> = serde_json::from_str(raw).map_err(EventError::NotJson)?;
    let mut request = body(raw, ev.request)?;
    let mut response = body(raw, ev.response)?;
    if bodies == Bodies::Decoded {
        for b in [&mut request, &mut response].into_iter().flatten() {
            *b = Body::from_text(b.text().into_owned());
        }
    }
    let status_code = match &ev.status_code {
        Some(v) => bounds::status_code(v, "statusCode")?,
        None => None,
    };
    let non_empty = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
    let request_id = non_empty(ev.request_id);
    let is_v1 = request_id.is_none()
        && ev.schema_version.unwrap_or(1) < 2
        && (ev.app_subscription_key.is_some() || request.is_some() || response.is_some());
    let (schema, request_id, subscription_id) = match (request_id, is_v1) {
        (Some(id), _) => (
            if ev.schema_version.unwrap_or(2) >= 2 && ev.app_subscription_key.is_none() {
                Schema::V2
            } else {
                Schema::LegacyV1
            },
            id,
            non_empty(ev.subscription_id),
        ),
        (None, true) => (
            Schema::LegacyV1,
            v1_request_id(&[
                ev.event_time.as_deref(),
                ev.app_subscription_key.as_deref(),
                ev.api_operation.as_deref(),
                request.as_ref().map(Body::text).as_deref(),
                response.as_ref().map(Body::text).as_deref(),
            ]),
            None,
        ),
        (None, false) => return Err(EventError::MissingRequestId),
    };
    let mut response = response.filter(|b| !b.is_empty());
    if let Some(body) = &mut response {
        bounds::check_body(body)?;
    }
    // A v1 key is replaced by its fingerprint; an explicit subscription id wins when present.
    let subscription_id = subscription_id.or_else(|| {
        non_empty(ev.app_subscription_key)
            .as_deref()
            .map(key_fingerprint)
    });
    Ok(ApimEvent {
        schema,
        request_id,
        event_time: non_empty(ev.event_time),
        consumer: Consumer {
            subscription_id,
            subscription_name: non_empty(ev.subscription_name),
            product_id: non_empty(ev.product_id),
            user_id: non_empty(ev.user_id),
            caller_app_id: non_empty(ev.caller_app_id),
            caller_tenant_id: non_empty(ev.caller_tenant_id),
        },
        service_name: non_empty(ev.service_name),
        region: non_empty(ev.region),
        operation_id: non_empty(ev.operation_id),
        method: non_empty(ev.method),
        path: non_empty(ev.path),
        api_version: non_empty(ev.api_version),
        deployment_id: non_empty(ev.deployment_id),
        status_code,
        stream_usage_injected: ev.stream_usage_injected.unwrap_or(false),
        request: request.filter(|b| !b.is_empty()),
        response,
        request_truncated: ev.request_truncated.unwrap_or(false),
        response_truncated: ev.response_truncated.unwrap_or(false),
        api_operation_hint: non_empty(ev.api_operation),
    })
}

/// A body as the event carries it. A JSON string is kept escaped unless it holds a `\u` escape;
/// then it is decoded now, by `serde_json`, which refuses a lone surrogate as it always did. A
/// body logged as an object or array is kept as its JSON text; any other value is no body.
fn body<'a>(event: &str, value: Option<&'a RawValue>) -> Result<Option<Body<'a>>, EventError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let text = value.get();
    let decoded = match text.as_bytes().first() {
        Some(b'"') => {
            let contents = text.get(1..text.len() - 1).unwrap_or_default();
            if let Some(body) = Body::escaped(contents) {
                return Ok(Some(body));
            }
            serde_json::from_str::<String>(text)
        }
        Some(b'{' | b'[') => serde_json::from_str::<serde_json::Value>(text).map(|v| v.to_string()),
        _ => return Ok(None),
    };
    decoded
        .map(|t| Some(Body::from_text(t)))
        .map_err(|e| EventError::NotJson(decoding_error(event).unwrap_or(e)))
}

/// Where reading the event with its bodies decoded fails: the error, with its place in the
/// event, that a body's decoding gave.
fn decoding_error(event: &str) -> Option<serde_json::Error> {
    #[derive(Deserialize)]
    struct Bodies<'a> {
        #[serde(default, borrow, alias = "Request", deserialize_with = "de_opt_body")]
        #[allow(dead_code)]
        request: Option<Cow<'a, str>>,
        #[serde(default, borrow, alias = "Response", deserialize_with = "de_opt_body")]
        #[allow(dead_code)]
        response: Option<Cow<'a, str>>,
    }
    serde_json::from_str::<Bodies<'_>>(event).err()
}

// ---- lenient scalar deserialisers: APIM policy expressions are not always typed as we'd like ----

fn de_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

fn de_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(lenient_u64(&serde_json::Value::deserialize(d)?))
}

fn de_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => Some(b),
        serde_json::Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" | "" => Some(false),
            _ => None,
        },
        serde_json::Value::Number(n) => Some(n.as_f64().unwrap_or(0.0) != 0.0),
        _ => None,
    })
}

/// A body is normally a string; a policy that logged the body as a JSON object is accepted too.
fn de_opt_body<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    struct BodyVisitor;
    impl<'de> Visitor<'de> for BodyVisitor {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a body string or JSON value")
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
            Ok(Some(Cow::Owned(v.to_string())))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
            Ok(Some(Cow::Owned(v.to_string())))
        }
    }
    d.deserialize_any(BodyVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v2_event_keeps_every_attribution_field() {
        let raw = r#"{"schemaVersion":2,"eventTime":"2026-11-02T09:15:00Z","requestId":"r-1",
          "subscriptionId":"team-a","subscriptionName":"Team A","productId":"aoai-standard",
          "userId":"1","callerAppId":"app-guid","callerTenantId":"tenant-guid","statusCode":200,
          "path":"/openai/deployments/chat/chat/completions","apiVersion":"2024-10-21",
          "request":"{\"messages\":[]}","response":"{}","streamUsageInjected":true}"#;
        let ev = parse_event(raw).unwrap();
        assert_eq!(ev.schema, Schema::V2);
        assert_eq!(ev.request_id, "r-1");
        assert_eq!(ev.consumer.subscription_id.as_deref(), Some("team-a"));
        assert_eq!(ev.consumer.caller_app_id.as_deref(), Some("app-guid"));
        assert_eq!(ev.status_code, Some(200));
        assert!(ev.stream_usage_injected);
        assert_eq!(
            ev.request.as_ref().map(Body::text).as_deref(),
            Some("{\"messages\":[]}")
        );
    }

    #[test]
    fn pascal_case_fields_and_string_typed_numbers_are_accepted() {
        let raw = r#"{"RequestId":"r-2","SubscriptionId":"sub-team-a","ResponseCode":"201","StreamUsageInjected":"True"}"#;
        let ev = parse_event(raw).unwrap();
        assert_eq!(ev.request_id, "r-2");
        assert_eq!(ev.status_code, Some(201));
        assert!(ev.stream_usage_injected);
    }

    #[test]
    fn a_legacy_v1_key_becomes_a_fingerprint_and_never_survives() {
        let key = "0123456789abcdef0123456789abcdef";
        let raw = format!(
            r#"{{"EventTime":"11/2/2026 9:15:00 AM","AppSubscriptionKey":"{key}","Request":"{{}}","Response":"{{}}"}}"#
        );
        let ev = parse_event(&raw).unwrap();
        assert_eq!(ev.schema, Schema::LegacyV1);
        let fp = ev.consumer.subscription_id.clone().unwrap();
        assert!(fp.starts_with("key-sha256:") && fp.len() == "key-sha256:".len() + 12);
        assert!(!format!("{ev:?}").contains(key));
        assert!(ev.request_id.starts_with("v1-sha256:"));
        assert_eq!(parse_event(&raw).unwrap().request_id, ev.request_id);
    }

    #[test]
    fn a_body_logged_as_an_object_is_kept_as_json_text() {
        let ev =
            parse_event(r#"{"requestId":"r","response":{"usage":{"total_tokens":3}}}"#).unwrap();
        assert_eq!(
            ev.response.as_ref().map(Body::text).as_deref(),
            Some(r#"{"usage":{"total_tokens":3}}"#)
        );
    }

    #[test]
    fn a_lone_surrogate_in_a_body_is_refused_at_its_place_in_the_event() {
        for raw in [
            r#"{"requestId":"r","response":"data: \ud800 x"}"#,
            r#"{"requestId":"r","request":"{}","Response":"caf\u00e9 \udc00"}"#,
        ] {
            let Err(EventError::NotJson(e)) = parse_event(raw) else {
                panic!("accepted {raw}");
            };
            let general = serde_json::from_str::<serde_json::Value>(raw).unwrap_err();
            assert_eq!(e.to_string(), general.to_string());
        }
    }

    #[test]
    fn a_body_is_kept_escaped_unless_it_holds_a_unicode_escape() {
        let ev =
            parse_event(r#"{"requestId":"r","response":"a\"b\\u","request":"\u00e9"}"#).unwrap();
        let response = ev.response.unwrap();
        assert_eq!(response.as_escaped(), Some(r#"a\"b\\u"#));
        assert_eq!(response.text(), r#"a"b\u"#);
        let request = ev.request.unwrap();
        assert_eq!((request.as_escaped(), &*request.text()), (None, "é"));
    }

    #[test]
    fn an_event_without_request_id_or_v1_fields_is_rejected() {
        assert!(matches!(
            parse_event(r#"{"foo":1}"#),
            Err(EventError::MissingRequestId)
        ));
        assert!(matches!(
            parse_event("not json"),
            Err(EventError::NotJson(_))
        ));
        assert!(matches!(
            parse_event("[1,2]"),
            Err(EventError::NotAnObject('['))
        ));
    }
}
