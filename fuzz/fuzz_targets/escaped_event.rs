//! Bodies read still escaped against bodies decoded when the event is read: on any event, the
//! record, skip or refusal is the same. The input is either a whole raw event (first byte even)
//! or a response body (first byte odd) that is put into an event, escaped as `serde_json` does,
//! with `/` escaped too, or with everything outside ASCII as `\u` escapes.
#![no_main]

use chargeback_core::differential::event_paths_agree;
use libfuzzer_sys::fuzz_target;

fn escaped(text: &str, style: u8) -> String {
    let plain = serde_json::to_string(text).unwrap_or_default();
    match style % 3 {
        0 => plain,
        1 => plain.replace('/', "\\/"),
        _ => plain
            .chars()
            .map(|c| {
                if c.is_ascii() {
                    c.to_string()
                } else {
                    let mut units = [0u16; 2];
                    c.encode_utf16(&mut units)
                        .iter()
                        .map(|u| format!("\\u{u:04x}"))
                        .collect()
                }
            })
            .collect(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let event = if mode % 2 == 0 {
        text.to_owned()
    } else {
        let status = if mode & 0x80 == 0 { 200 } else { 400 };
        format!(
            r#"{{"requestId":"f","statusCode":{status},"path":"/openai/deployments/gpt-4o/chat/completions","response":{}}}"#,
            escaped(text, mode >> 1)
        )
    };
    if let Err(e) = event_paths_agree(&event) {
        panic!("escaped and decoded bodies disagree: {e}");
    }
});
