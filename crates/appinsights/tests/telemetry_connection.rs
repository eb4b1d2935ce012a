//! Connection-string and authentication-string parsing, and reading the settings (telemetry sink).

use std::collections::HashMap;
use std::time::Duration;

use chargeback_appinsights::{AppInsightsConfig, Authentication, ConnectionString, TelemetryError};

const IKEY: &str = "0fa1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b";

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

#[test]
fn connection_string_keys_are_case_insensitive() {
    let cs = ConnectionString::parse(&format!(
        "instrumentationkey={IKEY};INGESTIONENDPOINT=https://westeurope-5.in.applicationinsights.azure.com/;liveEndpoint=https://x/"
    ))
    .unwrap();
    assert_eq!(cs.instrumentation_key(), IKEY);
    assert_eq!(
        cs.track_url().as_str(),
        "https://westeurope-5.in.applicationinsights.azure.com/v2.1/track"
    );
}

#[test]
fn endpoint_suffix_and_location_build_the_ingestion_endpoint() {
    let cs = ConnectionString::parse(&format!(
        "InstrumentationKey={IKEY};EndpointSuffix=applicationinsights.azure.cn;Location=chinaeast2"
    ))
    .unwrap();
    assert_eq!(
        cs.track_url().as_str(),
        "https://chinaeast2.dc.applicationinsights.azure.cn/v2.1/track"
    );
    let cs = ConnectionString::parse(&format!(
        "InstrumentationKey={IKEY};EndpointSuffix=applicationinsights.us"
    ))
    .unwrap();
    assert_eq!(
        cs.track_url().as_str(),
        "https://dc.applicationinsights.us/v2.1/track"
    );
}

#[test]
fn an_explicit_ingestion_endpoint_wins_over_the_suffix() {
    let cs = ConnectionString::parse(&format!(
        "InstrumentationKey={IKEY};EndpointSuffix=applicationinsights.us;IngestionEndpoint=https://custom.example/"
    ))
    .unwrap();
    assert_eq!(cs.track_url().as_str(), "https://custom.example/v2.1/track");
}

#[test]
fn no_endpoint_means_the_documented_global_default() {
    let cs = ConnectionString::parse(&format!("InstrumentationKey={IKEY};")).unwrap();
    assert_eq!(
        cs.track_url().as_str(),
        "https://dc.services.visualstudio.com/v2.1/track"
    );
}

#[test]
fn malformed_connection_strings_are_clear_errors_that_never_echo_the_key() {
    let cases = [
        format!("IngestionEndpoint=https://x.example/;Secret{IKEY}"),
        format!("InstrumentationKey={IKEY};IngestionEndpoint=not a url"),
        format!("InstrumentationKey={IKEY};IngestionEndpoint=ftp://x.example/"),
        format!("InstrumentationKey={IKEY};instrumentationKey={IKEY}"),
        format!("InstrumentationKey={IKEY};Authorization=AAD"),
        "IngestionEndpoint=https://x.example/".to_string(),
        format!("InstrumentationKey={IKEY};{}", "x".repeat(5000)),
    ];
    for cs in cases {
        let err = ConnectionString::parse(&cs).expect_err(&cs);
        assert!(
            matches!(err, TelemetryError::ConnectionString(_)),
            "{err:?}"
        );
        let text = format!("{err} {err:?}");
        assert!(!text.contains(IKEY), "error echoes the key: {text}");
        assert!(
            !text.contains("0fa1b2c3-d4e5"),
            "error echoes the key: {text}"
        );
        assert!(
            text.contains("APPLICATIONINSIGHTS_CONNECTION_STRING"),
            "{text}"
        );
    }
}

#[test]
fn the_debug_form_of_a_connection_string_hides_the_key() {
    let cs = ConnectionString::parse(&format!("InstrumentationKey={IKEY}")).unwrap();
    let debug = format!("{cs:?}");
    assert!(!debug.contains(IKEY), "{debug}");
    assert!(debug.contains("0fa1b2c3…"), "{debug}");
}

#[test]
fn the_authentication_string_selects_managed_identity_as_azure_sdks_read_it() {
    assert_eq!(
        Authentication::parse(None).unwrap(),
        Authentication::InstrumentationKey
    );
    assert_eq!(
        Authentication::parse(Some("  ")).unwrap(),
        Authentication::InstrumentationKey
    );
    assert_eq!(
        Authentication::parse(Some("Authorization=AAD")).unwrap(),
        Authentication::ManagedIdentity { client_id: None }
    );
    assert_eq!(
        Authentication::parse(Some(
            "authorization=aad;clientid=11111111-2222-3333-4444-555555555555"
        ))
        .unwrap(),
        Authentication::ManagedIdentity {
            client_id: Some("11111111-2222-3333-4444-555555555555".into())
        }
    );
    for bad in [
        "Authorization=ikey",
        "ClientId=11111111-2222-3333-4444-555555555555",
        "Authorization=AAD;ClientId=not a guid",
        "garbage",
    ] {
        let err = Authentication::parse(Some(bad)).expect_err(bad);
        assert!(
            matches!(err, TelemetryError::AuthenticationString(_)),
            "{err:?}"
        );
    }
}

#[test]
fn no_connection_string_means_telemetry_is_off() {
    assert!(AppInsightsConfig::from_lookup(&lookup(&[]))
        .unwrap()
        .is_none());
    assert!(AppInsightsConfig::from_lookup(&lookup(&[(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        " "
    )]))
    .unwrap()
    .is_none());
}

#[test]
fn settings_come_from_the_environment_with_app_service_role_names() {
    let cs = format!("InstrumentationKey={IKEY};IngestionEndpoint=https://in.example/");
    let config = AppInsightsConfig::from_lookup(&lookup(&[
        ("APPLICATIONINSIGHTS_CONNECTION_STRING", &cs),
        (
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
            "Authorization=AAD;ClientId=abcd-12",
        ),
        ("IDENTITY_ENDPOINT", "http://127.0.0.1:41234/msi/token"),
        ("IDENTITY_HEADER", "identity-header-secret"),
        ("WEBSITE_SITE_NAME", "func-chargeback"),
        ("WEBSITE_INSTANCE_ID", "instance-7"),
        ("CHARGEBACK_TELEMETRY_DEADLINE_SECS", "12.5"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(config.context.role, "func-chargeback");
    assert_eq!(config.context.role_instance, "instance-7");
    assert_eq!(config.context.instrumentation_key, IKEY);
    assert_eq!(config.deadline_budget, Duration::from_millis(12_500));
    let identity = config.identity.clone().unwrap();
    assert_eq!(identity.client_id.as_deref(), Some("abcd-12"));
    assert!(!format!("{config:?}").contains("identity-header-secret"));
}

#[test]
fn entra_authentication_without_an_identity_endpoint_is_an_error() {
    let cs = format!("InstrumentationKey={IKEY}");
    let err = AppInsightsConfig::from_lookup(&lookup(&[
        ("APPLICATIONINSIGHTS_CONNECTION_STRING", &cs),
        (
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
            "Authorization=AAD",
        ),
    ]))
    .unwrap_err();
    assert_eq!(
        err,
        TelemetryError::MissingIdentityEnvironment("IDENTITY_ENDPOINT")
    );
}

#[test]
fn a_bad_deadline_setting_is_an_error() {
    let cs = format!("InstrumentationKey={IKEY}");
    for v in ["soon", "0", "-3"] {
        let err = AppInsightsConfig::from_lookup(&lookup(&[
            ("APPLICATIONINSIGHTS_CONNECTION_STRING", &cs),
            ("CHARGEBACK_TELEMETRY_DEADLINE_SECS", v),
        ]))
        .unwrap_err();
        assert!(
            matches!(err, TelemetryError::Setting { .. }),
            "{v}: {err:?}"
        );
    }
}
