//! The Azure Functions custom-handler request as pure functions: decode an invocation body into
//! raw events and metadata (the protocol is described in `docs/host-protocol.md`).
//!
//! Accepted shapes of `Data.events` (all produced by the host): `dataType: string` — a JSON string
//! holding an array of raw event strings; `dataType: binary` — a JSON string holding an array of
//! base64 strings; no `dataType` — a JSON string (or array) of already-parsed objects; and a plain
//! JSON array as the whole body. Metadata is optional, looked up case-insensitively, and several
//! of its values are JSON inside a string. The `dataType: string` body, the one the host sends us,
//! takes a one-pass fast path (see [`decode_invocation`]).

use base64::Engine as _;
use serde::de::{MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::engine::Trace;
use crate::lenient;
use crate::nested_json;

/// Why a request is not a host invocation at all (answered with 400).
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error("request body is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("request body is JSON but has no \"Data\" object (expected {{\"Data\": {{\"events\": …}}, \"Metadata\": {{…}}}} or a JSON array of events)")]
    NoData,
    #[error("\"Data\" has no \"events\" binding and more than one value ({0}); cannot tell which is the trigger")]
    AmbiguousData(String),
}

/// The host's retry state for this invocation (`Metadata.RetryContext`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryContext {
    pub retry_count: i64,
    pub max_retry_count: i64,
}

impl RetryContext {
    /// True on the last attempt the host will make: answering non-2xx now would lose the batch.
    pub fn is_last(&self) -> bool {
        self.max_retry_count >= 0 && self.retry_count >= self.max_retry_count
    }
}

/// One event of the batch as delivered: its text, or why it could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawEvent {
    Text(String),
    Undecodable { reason: String, raw: String },
}

/// A decoded invocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Invocation {
    pub events: Vec<RawEvent>,
    pub partition_id: Option<String>,
    pub sequence_numbers: Vec<Option<i64>>,
    pub enqueued_times: Vec<Option<String>>,
    pub retry: Option<RetryContext>,
}

impl Invocation {
    /// The trace fields of event `i`.
    pub fn trace(&self, i: usize, invocation_id: Option<&str>) -> Trace {
        Trace {
            partition_id: self.partition_id.clone(),
            sequence_number: self.sequence_numbers.get(i).copied().flatten(),
            enqueued_time: self.enqueued_times.get(i).cloned().flatten(),
            invocation_id: invocation_id.map(str::to_owned),
        }
    }

    /// `first-last` sequence numbers, for log lines.
    pub fn sequence_range(&self) -> Option<(i64, i64)> {
        let seqs: Vec<i64> = self.sequence_numbers.iter().flatten().copied().collect();
        Some((*seqs.iter().min()?, *seqs.iter().max()?))
    }
}

fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A metadata value, decoding JSON-in-a-string.
fn unstring(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One string event of the trigger's array: JSON text as is (moved, never copied), else base64.
fn decode_string_item(s: String) -> RawEvent {
    let t = s.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        return RawEvent::Text(s);
    }
    match base64::engine::general_purpose::STANDARD.decode(t.trim_end()) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => RawEvent::Text(text),
            Err(e) => RawEvent::Undecodable {
                reason: format!("base64 event body is not UTF-8: {e}"),
                raw: s,
            },
        },
        Err(_) => RawEvent::Undecodable {
            reason: "event body is neither JSON nor base64".into(),
            raw: s,
        },
    }
}

/// One event of the trigger's array, taken by value: an event string is moved, never copied.
fn decode_item(item: Value) -> RawEvent {
    match item {
        Value::String(s) => decode_string_item(s),
        Value::Null => RawEvent::Undecodable {
            reason: "event body is null".into(),
            raw: "null".into(),
        },
        other => RawEvent::Text(other.to_string()),
    }
}

fn decode_events(v: Value) -> Vec<RawEvent> {
    match v {
        Value::Array(items) => items.into_iter().map(decode_item).collect(),
        Value::String(s) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Array(items)) => items.into_iter().map(decode_item).collect(),
            Ok(obj @ Value::Object(_)) => vec![RawEvent::Text(obj.to_string())],
            Err(e) if too_deep(&e) => {
                raw_items(&s).unwrap_or_else(|| vec![decode_item(Value::String(s))])
            }
            _ => vec![decode_item(Value::String(s))],
        },
        other => vec![decode_item(other)],
    }
}

/// True when serde_json stopped at its nesting limit (128): some event is too deep, and the
/// batch is then read event by event so that only that event is dead-lettered.
fn too_deep(e: &serde_json::Error) -> bool {
    e.to_string().contains("recursion limit exceeded")
}

/// The items of a JSON array, each decoded on its own: an item too deep to parse keeps its raw
/// text (the engine dead-letters it) and costs no other item. `None` when `text` is no array.
/// (Skipping a value as raw text has no nesting limit in serde_json.)
fn raw_items(text: &str) -> Option<Vec<RawEvent>> {
    let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
    Some(
        items
            .into_iter()
            .map(|raw| match serde_json::from_str::<Value>(raw.get()) {
                Ok(v) => decode_item(v),
                Err(_) => RawEvent::Text(raw.get().to_string()),
            })
            .collect(),
    )
}

/// The general path for a body some event of which is nested past serde_json's limit: the
/// document is read with every event left raw, then each event on its own.
fn decode_deep_body(body: &[u8]) -> Option<Invocation> {
    let text = std::str::from_utf8(body).ok()?;
    let mut inv = Invocation::default();
    if text.trim_start().starts_with('[') {
        inv.events = raw_items(text)?;
        return Some(inv);
    }
    let top: Members = serde_json::from_str(text).ok()?;
    let data: Members = serde_json::from_str(top.only("Data")?.get()).ok()?;
    let events = data.only("events")?.get();
    inv.events = match serde_json::from_str::<String>(events) {
        Ok(s) => raw_items(&s)?,
        Err(_) => raw_items(events)?,
    };
    if let Some(meta) = top.only("Metadata") {
        if let Ok(Value::Object(meta)) = serde_json::from_str::<Value>(meta.get()) {
            read_metadata(&meta, &mut inv);
        }
    }
    Some(inv)
}

/// Removes a key, matched exactly or else case-insensitively (as [`get_ci`] finds it).
fn take_ci(obj: &mut Map<String, Value>, key: &str) -> Option<Value> {
    if let Some(v) = obj.remove(key) {
        return Some(v);
    }
    let found = obj.keys().find(|k| k.eq_ignore_ascii_case(key))?.clone();
    obj.remove(&found)
}

fn read_metadata(meta: &Map<String, Value>, inv: &mut Invocation) {
    let partition = get_ci(meta, "PartitionContext")
        .or_else(|| get_ci(meta, "TriggerPartitionContext"))
        .map(unstring);
    inv.partition_id = partition
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|p| get_ci(p, "PartitionId"))
        .and_then(as_string);
    let system = get_ci(meta, "SystemPropertiesArray").map(unstring);
    let system = system.as_ref().and_then(Value::as_array);
    inv.sequence_numbers = match get_ci(meta, "SequenceNumberArray").map(unstring) {
        Some(Value::Array(a)) => a.iter().map(lenient::i64_of).collect(),
        _ => system
            .map(|s| {
                s.iter()
                    .map(|p| {
                        p.as_object().and_then(|o| {
                            get_ci(o, "SequenceNumber")
                                .or_else(|| get_ci(o, "x-opt-sequence-number"))
                                .and_then(lenient::i64_of)
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    inv.enqueued_times = match get_ci(meta, "EnqueuedTimeUtcArray").map(unstring) {
        Some(Value::Array(a)) => a.iter().map(as_string).collect(),
        _ => Vec::new(),
    };
    inv.retry = get_ci(meta, "RetryContext")
        .map(unstring)
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|r| {
            Some(RetryContext {
                retry_count: get_ci(r, "RetryCount").and_then(lenient::i64_of)?,
                max_retry_count: get_ci(r, "MaxRetryCount").and_then(lenient::i64_of)?,
            })
        });
}

/// The members of one JSON object in document order, duplicate keys kept, values unread.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Visit<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Members<'a>, M::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

impl<'a> Members<'a> {
    /// The value of `key` when it is the only key equal to it ignoring case, so that
    /// [`take_ci`] over the parsed object would find this same value.
    fn only(&self, key: &str) -> Option<&'a RawValue> {
        let mut matches = self.0.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key));
        let (k, v) = matches.next()?;
        (k == key && matches.next().is_none()).then_some(*v)
    }
}

/// The fast path for the body the host sends under `dataType: string` (`{"Data":{"events":"…"},
/// "Metadata":{…}}`): the events string is decoded in one pass by [`nested_json`] and only the
/// small rest of the document goes through `serde_json`. `None` for any other body, or anything
/// in it the general path might read differently; the caller then runs the general path, so the
/// result is the same whichever path ran.
fn decode_string_batch(body: &[u8]) -> Option<Invocation> {
    let start = nested_json::events_string_start(body)?;
    let (items, end) = nested_json::string_of_string_array(body, start)?;
    const HEAD: &[u8] = b"{\"Data\":{\"events\":null";
    let tail = body.get(end..)?;
    let mut rest = Vec::with_capacity(HEAD.len() + tail.len());
    rest.extend_from_slice(HEAD);
    rest.extend_from_slice(tail);
    // A second `Data` or `events` key would change what the general path reads.
    let top: Members = serde_json::from_slice(&rest).ok()?;
    let data: Members = serde_json::from_str(top.only("Data")?.get()).ok()?;
    data.only("events")?;
    let top: Map<String, Value> = serde_json::from_slice(&rest).ok()?;
    let mut inv = Invocation {
        events: items.into_iter().map(decode_string_item).collect(),
        ..Invocation::default()
    };
    if let Some(Value::Object(meta)) = get_ci(&top, "Metadata") {
        read_metadata(meta, &mut inv);
    }
    Some(inv)
}

/// Decodes a custom-handler invocation body: the host's usual `dataType: string` body in one pass
/// ([`nested_json`]), any other body by [`decode_invocation_general`], with the same result.
pub fn decode_invocation(body: &[u8]) -> Result<Invocation, InvocationError> {
    if let Some(inv) = decode_string_batch(body) {
        return Ok(inv);
    }
    decode_invocation_general(body)
}

/// Decodes any invocation body the host may send (the shapes in the module comment).
pub fn decode_invocation_general(body: &[u8]) -> Result<Invocation, InvocationError> {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) if too_deep(&e) => return decode_deep_body(body).ok_or(InvocationError::NotJson(e)),
        Err(e) => return Err(InvocationError::NotJson(e)),
    };
    let mut inv = Invocation::default();
    match v {
        Value::Array(_) => inv.events = decode_events(v),
        Value::Object(mut top) => {
            let data = take_ci(&mut top, "Data").ok_or(InvocationError::NoData)?;
            let mut data = match data {
                Value::Object(d) => d,
                _ => return Err(InvocationError::NoData),
            };
            let trigger = match take_ci(&mut data, "events") {
                Some(t) => t,
                None if data.len() == 1 => data
                    .into_iter()
                    .next()
                    .map(|(_, v)| v)
                    .ok_or(InvocationError::NoData)?,
                None if data.is_empty() => return Err(InvocationError::NoData),
                None => {
                    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
                    return Err(InvocationError::AmbiguousData(keys.join(", ")));
                }
            };
            inv.events = decode_events(trigger);
            if let Some(Value::Object(meta)) = get_ci(&top, "Metadata") {
                read_metadata(meta, &mut inv);
            }
        }
        _ => return Err(InvocationError::NoData),
    }
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_items_are_decoded_and_garbage_items_are_marked() {
        let inv = decode_invocation(br#"["eyJhIjoxfQ==", "%%%", {"b":2}, "{\"c\":3}"]"#).unwrap();
        assert_eq!(inv.events[0], RawEvent::Text("{\"a\":1}".into()));
        assert!(matches!(inv.events[1], RawEvent::Undecodable { .. }));
        assert_eq!(inv.events[2], RawEvent::Text("{\"b\":2}".into()));
        assert_eq!(inv.events[3], RawEvent::Text("{\"c\":3}".into()));
    }

    #[test]
    fn a_body_without_data_is_not_an_invocation() {
        assert!(matches!(
            decode_invocation(b"{\"Metadata\":{}}"),
            Err(InvocationError::NoData)
        ));
        assert!(matches!(
            decode_invocation(b"hello"),
            Err(InvocationError::NotJson(_))
        ));
        assert!(matches!(
            decode_invocation(br#"{"Data":{"a":"[]","b":"[]"}}"#),
            Err(InvocationError::AmbiguousData(_))
        ));
    }

    #[test]
    fn the_last_retry_is_recognised() {
        assert!(RetryContext {
            retry_count: 5,
            max_retry_count: 5
        }
        .is_last());
        assert!(!RetryContext {
            retry_count: 1,
            max_retry_count: 5
        }
        .is_last());
    }
}
