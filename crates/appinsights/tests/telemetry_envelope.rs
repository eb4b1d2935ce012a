//! The Application Insights envelope built from a usage record (telemetry sink, `docs/telemetry.md`).

use chargeback_appinsights::{
    build_envelope, envelope_json, envelope_time as normalize_time, truncate_chars,
    EnvelopeContext, MAX_ITEM_BYTES, MAX_PROPERTY_KEY_CHARS, MAX_PROPERTY_VALUE_CHARS,
    ORIGINAL_SAMPLE_KEYS,
};
use chargeback_core::{ApiOperation, Consumer, Cost, CountSource, DeploymentType, UsageRecord};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{json, Value};

const IKEY: &str = "0fa1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b";

fn record() -> UsageRecord {
    UsageRecord {
        request_id: "req-0001".into(),
        event_time: "2025-03-04T05:06:07.1234567Z".into(),
        consumer: Consumer {
            subscription_id: Some("sub-finance".into()),
            subscription_name: Some("Finance team".into()),
            product_id: Some("starter".into()),
            user_id: Some("1".into()),
            caller_app_id: Some("app-guid".into()),
            caller_tenant_id: Some("tenant-guid".into()),
        },
        api_operation: ApiOperation::ChatCompletion,
        deployment: Some("gpt-4o-prod".into()),
        deployment_type: DeploymentType::DEFAULT,
        model: Some("gpt-4o".into()),
        api_version: Some("2024-10-21".into()),
        stream: true,
        status_code: 200,
        billable: true,
        prompt_tokens: 120,
        completion_tokens: 30,
        total_tokens: 150,
        cached_tokens: 64,
        reasoning_tokens: 5,
        count_source: CountSource::StreamUsage,
        encoding: None,
        cost: Some(Cost {
            currency: "USD".into(),
            input: Decimal::new(2, 4),
            cached_input: Decimal::new(8, 5),
            output: Decimal::new(3, 4),
            total: Decimal::new(58, 5),
            price_sheet: "2025-01".into(),
        }),
        unpriced: None,
        service_name: Some("apim-contoso".into()),
        region: Some("West Europe".into()),
        partition_id: Some("3".into()),
        sequence_number: Some(42),
        enqueued_time: Some("2025-03-04T05:06:08Z".into()),
        invocation_id: Some("inv-from-record".into()),
        telemetry_undelivered: false,
    }
}

fn ctx() -> EnvelopeContext {
    EnvelopeContext {
        instrumentation_key: IKEY.into(),
        role: "func-chargeback".into(),
        role_instance: "instance-1".into(),
        sdk_version: "rust-chargeback:0.1.0".into(),
    }
}

fn envelope_value(r: &UsageRecord, invocation: Option<&str>) -> Value {
    serde_json::from_slice(&envelope_json(&build_envelope(r, &ctx(), invocation))).unwrap()
}

#[test]
fn envelopes_carry_every_field_the_official_sdks_send() {
    let v = envelope_value(&record(), Some("inv-42"));
    assert_eq!(
        v["name"],
        "Microsoft.ApplicationInsights.0fa1b2c3d4e54f608a7b9c0d1e2f3a4b.Event"
    );
    assert_eq!(v["time"], "2025-03-04T05:06:07.123456Z");
    assert_eq!(v["iKey"], IKEY);
    assert_eq!(v["sampleRate"], json!(100.0));
    assert_eq!(
        v["tags"],
        json!({
            "ai.cloud.role": "func-chargeback",
            "ai.cloud.roleInstance": "instance-1",
            "ai.operation.id": "inv-42",
            "ai.internal.sdkVersion": "rust-chargeback:0.1.0",
        })
    );
    assert_eq!(v["data"]["baseType"], "EventData");
    let base = &v["data"]["baseData"];
    assert_eq!(base["ver"], 2);
    assert_eq!(base["name"], "Azure OpenAI Tokens");
    let p = &base["properties"];
    let expected = json!({
        "AppKey": "sub-finance", "Timestamp": "2025-03-04T05:06:07.1234567Z", "Stream": "True",
        "ApiOperation": "ChatCompletion", "PromptTokens": "120", "CompletionTokens": "30",
        "TotalTokens": "150", "TokenInfoId": "req-0001", "Model": "gpt-4o",
        "Deployment": "gpt-4o-prod", "DeploymentType": "GlobalStandard", "ApiVersion": "2024-10-21", "StatusCode": "200",
        "CachedTokens": "64", "ReasoningTokens": "5", "CountSource": "streamUsage",
        "Cost": "0.00058", "Currency": "USD", "PriceSheet": "2025-01",
        "SubscriptionName": "Finance team", "ProductId": "starter", "UserId": "1",
        "CallerAppId": "app-guid", "CallerTenantId": "tenant-guid", "PartitionId": "3",
        "SequenceNumber": "42", "InvocationId": "inv-from-record", "Billable": "True",
        "ServiceName": "apim-contoso", "Region": "West Europe",
        "EnqueuedTime": "2025-03-04T05:06:08Z",
    });
    assert_eq!(p, &expected);
    assert_eq!(
        base["measurements"],
        json!({"PromptTokens": 120.0, "CompletionTokens": 30.0, "TotalTokens": 150.0,
               "CachedTokens": 64.0, "ReasoningTokens": 5.0, "Cost": 0.00058})
    );
}

#[test]
fn the_original_sample_keys_come_first_on_the_wire() {
    let env = build_envelope(&record(), &ctx(), None);
    let keys: Vec<&str> = env.data.base_data.properties.keys().collect();
    assert_eq!(&keys[..8], &ORIGINAL_SAMPLE_KEYS[..]);
    let text = String::from_utf8(envelope_json(&env)).unwrap();
    let pos = |k: &str| text.find(&format!("\"{k}\"")).unwrap();
    assert!(pos("TokenInfoId") < pos("Model"));
    assert!(pos("AppKey") < pos("Timestamp"));
}

#[test]
fn app_key_falls_back_to_the_billing_key_and_absent_fields_are_omitted() {
    let mut r = record();
    r.consumer = Consumer {
        caller_app_id: Some("entra-app".into()),
        ..Consumer::default()
    };
    r.cost = None;
    r.model = None;
    r.stream = false;
    r.invocation_id = None;
    let v = envelope_value(&r, None);
    let p = &v["data"]["baseData"]["properties"];
    assert_eq!(p["AppKey"], "entra-app");
    assert_eq!(p["Stream"], "False");
    for absent in [
        "Cost",
        "Currency",
        "PriceSheet",
        "Model",
        "SubscriptionName",
        "InvocationId",
    ] {
        assert!(p.get(absent).is_none(), "{absent} should be absent");
    }
    assert!(v["data"]["baseData"]["measurements"].get("Cost").is_none());
    assert!(v["tags"].get("ai.operation.id").is_none());

    r.consumer = Consumer::default();
    let v = envelope_value(&r, Some("inv-9"));
    assert_eq!(
        v["data"]["baseData"]["properties"]["AppKey"],
        "unattributed"
    );
    assert_eq!(v["data"]["baseData"]["properties"]["InvocationId"], "inv-9");
    assert_eq!(v["tags"]["ai.operation.id"], "inv-9");
}

#[test]
fn a_v1_fingerprint_is_the_app_key() {
    let mut r = record();
    r.consumer.subscription_id = Some("key-sha256:0123456789ab".into());
    let v = envelope_value(&r, None);
    assert_eq!(
        v["data"]["baseData"]["properties"]["AppKey"],
        "key-sha256:0123456789ab"
    );
}

#[test]
fn long_property_values_are_cut_on_char_boundaries() {
    let mut r = record();
    // Multi-byte characters straddle every byte-based cut point.
    r.deployment = Some("é€😀".repeat(5000));
    let v = envelope_value(&r, None);
    let d = v["data"]["baseData"]["properties"]["Deployment"]
        .as_str()
        .unwrap();
    assert_eq!(d.chars().count(), MAX_PROPERTY_VALUE_CHARS);
    assert!("é€😀".repeat(5000).starts_with(d));
}

#[test]
fn an_oversized_item_is_shrunk_below_64_kb_keeping_the_billing_keys() {
    let mut r = record();
    let big = "ü".repeat(20_000);
    r.deployment = Some(big.clone());
    r.model = Some(big.clone());
    r.api_version = Some(big.clone());
    r.encoding = Some(big.clone());
    r.consumer.subscription_name = Some(big.clone());
    r.consumer.product_id = Some(big.clone());
    r.consumer.user_id = Some(big);
    let bytes = envelope_json(&build_envelope(&r, &ctx(), None));
    assert!(bytes.len() <= MAX_ITEM_BYTES, "{} bytes", bytes.len());
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    let p = &v["data"]["baseData"]["properties"];
    assert_eq!(p["AppKey"], "sub-finance");
    assert_eq!(p["TokenInfoId"], "req-0001");
    assert_eq!(p["TotalTokens"], "150");
}

#[test]
fn long_tags_are_cut_to_their_documented_limits() {
    let mut c = ctx();
    c.role = "r".repeat(1000);
    let env = build_envelope(&record(), &c, Some(&"o".repeat(1000)));
    assert_eq!(env.tags.get("ai.cloud.role").unwrap().len(), 256);
    assert_eq!(env.tags.get("ai.operation.id").unwrap().len(), 128);
}

#[test]
fn event_times_are_normalised_to_utc_iso_8601() {
    assert_eq!(
        normalize_time("2025-03-04T06:06:07+01:00"),
        "2025-03-04T05:06:07.000000Z"
    );
    assert_eq!(
        normalize_time("2025-03-04T05:06:07.5"),
        "2025-03-04T05:06:07.500000Z"
    );
    // Unparseable: now, still a valid time.
    let now = normalize_time("yesterday-ish");
    assert!(chrono::DateTime::parse_from_rfc3339(&now).is_ok(), "{now}");
}

#[test]
fn the_envelope_never_contains_fields_the_record_does_not_have() {
    let text = String::from_utf8(envelope_json(&build_envelope(&record(), &ctx(), None))).unwrap();
    for word in ["prompt\"", "messages", "content", "choices"] {
        assert!(!text.to_lowercase().contains(word), "{word} in {text}");
    }
}

proptest! {
    #[test]
    fn truncation_never_splits_a_character(s in "\\PC{0,300}", n in 0usize..400) {
        let t = truncate_chars(&s, n);
        prop_assert!(s.starts_with(t));
        prop_assert_eq!(t.chars().count(), s.chars().count().min(n));
    }

    #[test]
    fn every_property_respects_the_key_and_value_limits(
        name in "\\PC{0,9000}", user in "\\PC{0,200}",
    ) {
        let mut r = record();
        r.consumer.subscription_name = Some(name);
        r.consumer.user_id = Some(user);
        let bytes = envelope_json(&build_envelope(&r, &ctx(), None));
        prop_assert!(bytes.len() <= MAX_ITEM_BYTES);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        for (k, val) in v["data"]["baseData"]["properties"].as_object().unwrap() {
            prop_assert!(k.chars().count() <= MAX_PROPERTY_KEY_CHARS);
            prop_assert!(val.as_str().unwrap().chars().count() <= MAX_PROPERTY_VALUE_CHARS);
        }
    }
}
