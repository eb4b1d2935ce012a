//! Fallback prompt counting reproduces OpenAI's published numbers: the cookbook's six-message
//! example, the name and 0301 rules, tool definitions and image tiles.

use chargeback_core::{
    chat_messages_tokens, chat_request_tokens, image_tokens, tool_definitions_tokens, ModelTraits,
};
use serde_json::{json, Value};

fn cookbook_messages() -> Vec<Value> {
    // "How to count tokens with tiktoken", OpenAI cookbook: the API reported 129 prompt tokens for
    // gpt-3.5-turbo / gpt-4 and 124 for gpt-4o on exactly these messages.
    json!([
        {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
        {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
        {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
        {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
        {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
        {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."}
    ])
    .as_array()
    .cloned()
    .unwrap_or_default()
}

#[test]
fn the_cookbook_example_costs_129_tokens_on_gpt_4_and_gpt_35_turbo() {
    for model in [
        "gpt-4",
        "gpt-4-0613",
        "gpt-35-turbo",
        "gpt-35-turbo-0125",
        "gpt-3.5-turbo",
    ] {
        let t = ModelTraits::for_model(Some(model));
        assert_eq!(
            chat_messages_tokens(&cookbook_messages(), t),
            129,
            "{model}"
        );
    }
}

#[test]
fn the_cookbook_example_costs_124_tokens_on_gpt_4o() {
    for model in ["gpt-4o", "gpt-4o-2024-11-20", "gpt-4o-mini"] {
        let t = ModelTraits::for_model(Some(model));
        assert_eq!(
            chat_messages_tokens(&cookbook_messages(), t),
            124,
            "{model}"
        );
    }
}

#[test]
fn the_0301_model_counts_four_per_message_and_one_less_per_name() {
    // 6 messages: +1 each; 4 names: −2 each relative to the modern rule → 129 + 6 − 8 = 127.
    let t = ModelTraits::for_model(Some("gpt-35-turbo-0301"));
    assert_eq!(chat_messages_tokens(&cookbook_messages(), t), 127);
}

#[test]
fn an_empty_conversation_still_costs_the_reply_priming() {
    let t = ModelTraits::for_model(Some("gpt-4o"));
    assert_eq!(chat_messages_tokens(&[], t), 3);
}

#[test]
fn array_content_counts_its_text_parts() {
    let t = ModelTraits::for_model(Some("gpt-4o"));
    let as_string = json!([{"role": "user", "content": "Hello there, how are you?"}]);
    let as_parts = json!([{"role": "user", "content": [
        {"type": "text", "text": "Hello there,"}, {"type": "text", "text": " how are you?"}]}]);
    let a = chat_messages_tokens(as_string.as_array().unwrap(), t);
    let b = chat_messages_tokens(as_parts.as_array().unwrap(), t);
    // Parts are counted separately, so the split can only add tokens, never lose text.
    assert!(b >= a && b <= a + 2, "{a} vs {b}");
}

#[test]
fn image_parts_add_the_tile_formula() {
    let t = ModelTraits::for_model(Some("gpt-4o"));
    let text_only =
        json!([{"role": "user", "content": [{"type": "text", "text": "What is this?"}]}]);
    let with_image = json!([{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://contoso.example/receipt.jpg", "detail": "low"}}]}]);
    let a = chat_messages_tokens(text_only.as_array().unwrap(), t);
    let b = chat_messages_tokens(with_image.as_array().unwrap(), t);
    assert_eq!(b - a, 85);
    assert_eq!(image_tokens("https://x/y.png", "high", t), 765);
}

fn reference_count(model: &str, text: &str) -> i64 {
    let bpe = if model.starts_with("gpt-4o") {
        tiktoken_rs::o200k_base()
    } else {
        tiktoken_rs::cl100k_base()
    }
    .expect("encoding");
    bpe.encode_ordinary(text).len() as i64
}

#[test]
fn tool_definitions_follow_the_cookbook_approximation() {
    let request = json!({"tools": [{"type": "function", "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location.",
        "parameters": {"type": "object", "properties": {
            "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
            "unit": {"type": "string", "description": "The unit of temperature.", "enum": ["celsius", "fahrenheit"]}},
            "required": ["location"]}}}]});
    for (model, func_init) in [("gpt-4o", 7i64), ("gpt-4", 10)] {
        let t = ModelTraits::for_model(Some(model));
        let expected = func_init
            + reference_count(
                model,
                "get_current_weather:Get the current weather in a given location",
            )
            + 3
            + 3
            + reference_count(
                model,
                "location:string:The city and state, e.g. San Francisco, CA",
            )
            + 3
            - 3
            + 3
            + reference_count(model, "celsius")
            + 3
            + reference_count(model, "fahrenheit")
            + reference_count(model, "unit:string:The unit of temperature")
            + 12;
        assert_eq!(
            tool_definitions_tokens(&request, t) as i64,
            expected,
            "{model}"
        );
        assert_eq!(
            chat_request_tokens(&request, t) as i64,
            expected + 3,
            "no messages: only reply priming on top"
        );
    }
}

#[test]
fn legacy_functions_are_counted_like_tools_and_no_tools_cost_nothing() {
    let t = ModelTraits::for_model(Some("gpt-4o"));
    let f = json!({"name": "lookup", "description": "Look up an order.", "parameters": {"type": "object", "properties": {}}});
    let as_functions = json!({"functions": [f.clone()]});
    let as_tools = json!({"tools": [{"type": "function", "function": f}]});
    assert_eq!(
        tool_definitions_tokens(&as_functions, t),
        tool_definitions_tokens(&as_tools, t)
    );
    assert_eq!(tool_definitions_tokens(&json!({"messages": []}), t), 0);
}
