//! One Capture file: an Avro object container file (codec `null` or `deflate`) whose records
//! follow the documented Capture schema — record `EventData` with `SequenceNumber` (long),
//! `Offset` (string), `EnqueuedTimeUtc` (string), `SystemProperties` and `Properties` (maps),
//! `Body` (bytes, or null). A record whose body is missing or not UTF-8, or whose time is not
//! the .NET text, is a [`BadRecord`]; a file that is not Avro, has another schema, or has a
//! corrupt block is a [`CaptureError`] and gives no events at all.

use apache_avro::schema::Schema;
use apache_avro::types::Value;
use apache_avro::Reader;

use crate::{parse_enqueued_time, partition_from_path};

/// An event of a Capture file with its trace fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedEvent {
    /// Position of the record in the file (0-based).
    pub index: usize,
    /// The APIM event (the record's `Body`, UTF-8 JSON text).
    pub body: String,
    pub sequence_number: i64,
    pub offset: String,
    /// `EnqueuedTimeUtc` as RFC 3339 UTC (`2023-02-06T18:29:45Z`).
    pub enqueued_time: String,
    /// From the path (see [`partition_from_path`]); `None` when the path is not in the
    /// documented format.
    pub partition_id: Option<String>,
}

/// A record that could not be taken, by position (never by content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    pub index: usize,
    pub reason: String,
}

/// The events of one file, and the records that could not be taken. A header-only file (a
/// window with no events) gives neither.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureFile {
    pub events: Vec<CapturedEvent>,
    pub bad: Vec<BadRecord>,
}

/// Why a whole file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: not an Avro object container file ({detail})")]
    NotAvro { path: String, detail: String },
    #[error("{path}: not the Event Hubs Capture schema ({detail})")]
    Schema { path: String, detail: String },
    #[error("{path}: cannot decode record {index} (corrupt or truncated block); no event of this file was taken")]
    Corrupt { path: String, index: usize },
}

/// Reads a Capture file. `path` is its local path or blob name, for the partition id and
/// messages.
pub fn read_capture(bytes: &[u8], path: &str) -> Result<CaptureFile, CaptureError> {
    let reader = Reader::new(bytes).map_err(|e| CaptureError::NotAvro {
        path: path.to_string(),
        detail: first_line(&e.to_string()),
    })?;
    check_schema(reader.writer_schema()).map_err(|detail| CaptureError::Schema {
        path: path.to_string(),
        detail,
    })?;
    let partition_id = partition_from_path(path);
    let mut file = CaptureFile::default();
    for (index, value) in reader.enumerate() {
        let value = value.map_err(|_| CaptureError::Corrupt {
            path: path.to_string(),
            index,
        })?;
        match event_of(value, index, &partition_id) {
            Ok(event) => file.events.push(event),
            Err(reason) => file.bad.push(BadRecord { index, reason }),
        }
    }
    Ok(file)
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

/// The fields this reader needs, by name and type.
const FIELDS: &[(&str, &str)] = &[
    ("SequenceNumber", "long"),
    ("Offset", "string"),
    ("EnqueuedTimeUtc", "string"),
    ("Body", "bytes or null"),
];

fn check_schema(schema: &Schema) -> Result<(), String> {
    let Schema::Record(record) = schema else {
        return Err("the top-level schema is not a record".into());
    };
    if record.name.name != "EventData" {
        return Err(format!(
            "the record is {:?}, not EventData",
            record.name.name
        ));
    }
    for (name, kind) in FIELDS {
        let field = record
            .fields
            .iter()
            .find(|f| f.name == *name)
            .ok_or_else(|| format!("no field {name}"))?;
        let ok = match *name {
            "SequenceNumber" => matches!(field.schema, Schema::Long),
            "Body" => match &field.schema {
                Schema::Bytes => true,
                Schema::Union(u) => u
                    .variants()
                    .iter()
                    .all(|v| matches!(v, Schema::Bytes | Schema::Null)),
                _ => false,
            },
            _ => matches!(field.schema, Schema::String),
        };
        if !ok {
            return Err(format!("field {name} is not {kind}"));
        }
    }
    Ok(())
}

fn event_of(
    value: Value,
    index: usize,
    partition_id: &Option<String>,
) -> Result<CapturedEvent, String> {
    let Value::Record(fields) = value else {
        return Err("not a record".into());
    };
    let (mut seq, mut offset, mut time, mut body) = (None, None, None, None);
    for (name, v) in fields {
        match (name.as_str(), unwrap_union(v)) {
            ("SequenceNumber", Value::Long(n)) => seq = Some(n),
            ("Offset", Value::String(s)) => offset = Some(s),
            ("EnqueuedTimeUtc", Value::String(s)) => time = Some(s),
            ("Body", Value::Bytes(b)) => body = Some(b),
            _ => {}
        }
    }
    let sequence_number = seq.ok_or("no SequenceNumber")?;
    let offset = offset.ok_or("no Offset")?;
    let time = time.ok_or("no EnqueuedTimeUtc")?;
    let enqueued_time = parse_enqueued_time(&time).map_err(|e| e.to_string())?;
    let body = body.ok_or("the Body is null")?;
    let body = String::from_utf8(body).map_err(|e| {
        format!(
            "the Body is not UTF-8 (invalid byte at {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok(CapturedEvent {
        index,
        body,
        sequence_number,
        offset,
        enqueued_time,
        partition_id: partition_id.clone(),
    })
}

fn unwrap_union(v: Value) -> Value {
    match v {
        Value::Union(_, inner) => *inner,
        other => other,
    }
}
