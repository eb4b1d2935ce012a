//! Shared by the Capture tests: records compared without their trace fields.

use std::process::Output;

use serde_json::Value;

/// The records on stdout, each without its trace fields (where the event came from).
pub fn records_minus_trace(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).expect("a record");
            let o = v.as_object_mut().expect("an object");
            for k in [
                "partitionId",
                "sequenceNumber",
                "enqueuedTime",
                "invocationId",
            ] {
                o.remove(k);
            }
            v
        })
        .collect()
}
