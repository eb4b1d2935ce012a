//! Fallback prompt counting from a request body, for responses that carry no usage (`docs/counting.md`):
//! OpenAI's chat formula, the cookbook's tool-definition approximation and Azure's image tiles.
//!
//! Chat formula (OpenAI cookbook "How to count tokens with tiktoken"): every message costs 3
//! tokens plus the tokens of each of its string values, `name` costs 1 more, and 3 tokens prime
//! the reply. `gpt-35-turbo-0301` used 4 per message and −1 per name. Tool definitions add the
//! cookbook's per-function, per-property and per-enum overheads. Images cost 85 tokens at
//! `detail: low`; otherwise the image is fitted in 2048×2048, its short side scaled to 768 and
//! every 512-px tile costs 170 on top of the 85 base (gpt-4o-mini: 2833 base, 5667 per tile).

use base64::Engine as _;
use serde_json::Value;

use crate::tokenizer::Encoding;

/// How the counting should treat the model that answered.
#[derive(Debug, Clone, Copy)]
pub struct ModelTraits {
    pub encoding: Encoding,
    /// `gpt-35-turbo-0301` / `gpt-3.5-turbo-0301`: 4 tokens per message, −1 per name.
    pub legacy_0301: bool,
    /// `gpt-4o-mini` bills image tiles at its own (higher) rates.
    pub mini_image_rates: bool,
}

impl ModelTraits {
    pub fn for_model(model: Option<&str>) -> ModelTraits {
        let m = model.unwrap_or("").to_ascii_lowercase();
        ModelTraits {
            encoding: Encoding::for_model(&m).unwrap_or(Encoding::DEFAULT),
            legacy_0301: m.contains("0301") && (m.contains("35-turbo") || m.contains("3.5-turbo")),
            mini_image_rates: m.starts_with("gpt-4o-mini"),
        }
    }
}

/// Tokens of the chat messages in a chat-completions request, reply priming included.
pub fn chat_messages_tokens(messages: &[Value], t: ModelTraits) -> u64 {
    let (per_message, per_name): (i64, i64) = if t.legacy_0301 { (4, -1) } else { (3, 1) };
    let mut total: i64 = 0;
    for m in messages {
        total += per_message;
        let Some(obj) = m.as_object() else {
            continue;
        };
        for (key, value) in obj {
            total += value_tokens(key, value, t) as i64;
            if key == "name" {
                total += per_name;
            }
        }
    }
    total += 3;
    total.max(0) as u64
}

fn value_tokens(key: &str, value: &Value, t: ModelTraits) -> u64 {
    match value {
        Value::String(s) => t.encoding.count(s),
        Value::Array(parts) if key == "content" => parts.iter().map(|p| part_tokens(p, t)).sum(),
        Value::Array(calls) if key == "tool_calls" => calls
            .iter()
            .map(|c| {
                let f = c.get("function");
                str_tokens(f.and_then(|f| f.get("name")), t)
                    + str_tokens(f.and_then(|f| f.get("arguments")), t)
            })
            .sum(),
        Value::Object(f) if key == "function_call" => {
            str_tokens(f.get("name"), t) + str_tokens(f.get("arguments"), t)
        }
        _ => 0,
    }
}

fn str_tokens(v: Option<&Value>, t: ModelTraits) -> u64 {
    v.and_then(Value::as_str).map_or(0, |s| t.encoding.count(s))
}

fn part_tokens(part: &Value, t: ModelTraits) -> u64 {
    match part.get("type").and_then(Value::as_str) {
        Some("image_url") => {
            let url = part
                .pointer("/image_url/url")
                .and_then(Value::as_str)
                .unwrap_or("");
            let detail = part
                .pointer("/image_url/detail")
                .and_then(Value::as_str)
                .unwrap_or("auto");
            image_tokens(url, detail, t)
        }
        _ => part
            .get("text")
            .or_else(|| part.get("refusal"))
            .and_then(Value::as_str)
            .map_or(0, |s| t.encoding.count(s)),
    }
}

/// Dimensions assumed for an image given by URL (not inline), whose size the log cannot show.
pub(crate) const ASSUMED_IMAGE_SIZE: (u64, u64) = (1024, 1024);

/// Tokens of one image part by the documented tile formula.
pub fn image_tokens(url: &str, detail: &str, t: ModelTraits) -> u64 {
    let (base, per_tile) = if t.mini_image_rates {
        (2833, 5667)
    } else {
        (85, 170)
    };
    if detail.eq_ignore_ascii_case("low") {
        return base;
    }
    let (w, h) = data_url_dimensions(url).unwrap_or(ASSUMED_IMAGE_SIZE);
    base + per_tile * image_tiles(w, h)
}

/// The number of 512-px tiles an image of `w`×`h` occupies after Azure's two scaling steps.
pub(crate) fn image_tiles(w: u64, h: u64) -> u64 {
    if w == 0 || h == 0 {
        return 0;
    }
    let (mut w, mut h) = (w as f64, h as f64);
    if w > 2048.0 || h > 2048.0 {
        let s = 2048.0 / w.max(h);
        w *= s;
        h *= s;
    }
    if w.min(h) > 768.0 {
        let s = 768.0 / w.min(h);
        w *= s;
        h *= s;
    }
    ((w / 512.0).ceil() as u64) * ((h / 512.0).ceil() as u64)
}

fn data_url_dimensions(url: &str) -> Option<(u64, u64)> {
    let rest = url.strip_prefix("data:")?;
    let (_, b64) = rest.split_once(";base64,")?;
    // The header is at the front: decode a bounded prefix only (a multiple of 4 characters).
    let prefix = &b64[..b64.len().min(64 * 1024) / 4 * 4];
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(prefix)
        .ok()?;
    let size = imagesize::blob_size(&bytes).ok()?;
    Some((size.width as u64, size.height as u64))
}

fn tool_overheads(t: ModelTraits) -> (i64, i64, i64, i64, i64, i64) {
    // (function init, properties init, per property, enum init, per enum item, end)
    match t.encoding {
        Encoding::O200kBase => (7, 3, 3, -3, 3, 12),
        Encoding::Cl100kBase => (10, 3, 3, -3, 3, 12),
    }
}

/// Tokens of the tool/function definitions in a request (`tools` or legacy `functions`).
pub fn tool_definitions_tokens(request: &Value, t: ModelTraits) -> u64 {
    let mut functions: Vec<&Value> = Vec::new();
    if let Some(tools) = request.get("tools").and_then(Value::as_array) {
        functions.extend(tools.iter().filter_map(|tool| tool.get("function")));
    }
    if let Some(fs) = request.get("functions").and_then(Value::as_array) {
        functions.extend(fs.iter());
    }
    if functions.is_empty() {
        return 0;
    }
    let (func_init, prop_init, prop_key, enum_init, enum_item, func_end) = tool_overheads(t);
    let text = |v: Option<&Value>| -> String {
        match v {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    };
    let mut total: i64 = 0;
    for f in functions {
        total += func_init;
        let name = text(f.get("name"));
        let desc = text(f.get("description"));
        let desc = desc.strip_suffix('.').unwrap_or(&desc);
        total += t.encoding.count(&format!("{name}:{desc}")) as i64;
        let props = f
            .pointer("/parameters/properties")
            .and_then(Value::as_object);
        if let Some(props) = props.filter(|p| !p.is_empty()) {
            total += prop_init;
            for (key, p) in props {
                total += prop_key;
                if let Some(items) = p.get("enum").and_then(Value::as_array) {
                    total += enum_init;
                    for item in items {
                        total += enum_item;
                        total += t.encoding.count(&text(Some(item))) as i64;
                    }
                }
                let ptype = text(p.get("type"));
                let pdesc = text(p.get("description"));
                let pdesc = pdesc.strip_suffix('.').unwrap_or(&pdesc);
                total += t.encoding.count(&format!("{key}:{ptype}:{pdesc}")) as i64;
            }
        }
    }
    total += func_end;
    total.max(0) as u64
}

/// Tokens of a `prompt` (completions) or `input` (embeddings) value: a string, an array of
/// strings, or pre-tokenised arrays of token ids.
pub(crate) fn input_tokens(v: &Value, t: ModelTraits) -> u64 {
    match v {
        Value::String(s) => t.encoding.count(s),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Number(_) => 1,
                other => input_tokens(other, t),
            })
            .sum(),
        _ => 0,
    }
}

/// Prompt tokens of a chat-completions request: messages plus tool definitions.
pub fn chat_request_tokens(request: &Value, t: ModelTraits) -> u64 {
    let messages = request
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    chat_messages_tokens(messages, t) + tool_definitions_tokens(request, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_detail_images_cost_the_base_only() {
        let t = ModelTraits::for_model(Some("gpt-4o"));
        assert_eq!(image_tokens("https://example.com/a.png", "low", t), 85);
    }

    #[test]
    fn the_documented_tile_examples_hold() {
        // Azure OpenAI docs: 1024x1024 high → 4 tiles → 765; 2048x4096 → 768x1536 → 6 tiles → 1105.
        assert_eq!(image_tiles(1024, 1024), 4);
        assert_eq!(image_tiles(2048, 4096), 6);
        let t = ModelTraits::for_model(Some("gpt-4o"));
        assert_eq!(image_tokens("https://example.com/a.png", "high", t), 765);
    }

    #[test]
    fn an_inline_png_is_measured_from_its_header() {
        // A 1x1 PNG: one tile → 85 + 170.
        let png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
        let t = ModelTraits::for_model(Some("gpt-4o"));
        assert_eq!(image_tokens(png, "auto", t), 255);
    }

    #[test]
    fn the_0301_model_uses_the_old_per_message_rule() {
        assert!(ModelTraits::for_model(Some("gpt-35-turbo-0301")).legacy_0301);
        assert!(!ModelTraits::for_model(Some("gpt-35-turbo-0613")).legacy_0301);
    }

    #[test]
    fn pre_tokenised_inputs_count_one_token_per_id() {
        let t = ModelTraits::for_model(Some("text-embedding-3-small"));
        assert_eq!(input_tokens(&serde_json::json!([[1, 2, 3], [4]]), t), 4);
    }
}
