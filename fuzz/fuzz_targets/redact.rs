//! The redactor: arbitrary text with a secret planted at an arbitrary place never gives that
//! secret back; valid JSON stays valid JSON; nothing panics.
#![no_main]

use chargeback_redact::redact;
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "ZqFuzzS3cr3tV4lue";

/// Ways a secret appears; each starts with a character that no escape before it can swallow.
const PLANTS: &[&str] = &[
    " Bearer ZqFuzzS3cr3tV4lue",
    "\t\"api-key\": \"ZqFuzzS3cr3tV4lue\"",
    "\"x-functions-key\":\"ZqFuzzS3cr3tV4lue\"",
    ";AccountKey=ZqFuzzS3cr3tV4lue;",
    "&sig=ZqFuzzS3cr3tV4lue&",
    " eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.ZqFuzzS3cr3tV4lue ",
    "\"password\":[\"ZqFuzzS3cr3tV4lue\",{\"a\":1}]",
    "\nOcp-Apim-Subscription-Key: ZqFuzzS3cr3tV4lue\n",
    "?code=ZqFuzzS3cr3tV4lue&",
];

fuzz_target!(|data: &[u8]| {
    let Some((&[kind, at_hi, at_lo], rest)) = data.split_first_chunk::<3>() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    // Unplanted, any text comes back redacted, and valid JSON stays valid.
    valid_stays_valid(text, &redact(text));
    if text.contains(SECRET) {
        return;
    }
    let plant = PLANTS[usize::from(kind) % PLANTS.len()];
    let mut at = usize::from(u16::from_be_bytes([at_hi, at_lo])) % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let planted = format!("{}{plant}{}", &text[..at], &text[at..]);
    let out = redact(&planted);
    assert!(
        !out.contains(SECRET),
        "planted {plant:?} at {at} survived:\n{planted}\n{out}"
    );
    valid_stays_valid(&planted, &out);
});

fn valid_stays_valid(input: &str, out: &str) {
    let valid = |t: &str| serde_json::from_str::<serde_json::Value>(t).is_ok();
    assert!(
        !valid(input) || valid(out),
        "valid JSON in, not out:\n{input}\n{out}"
    );
}
