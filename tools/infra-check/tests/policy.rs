//! APIM policies: well-formed XML, every reference resolves to something the Bicep creates, and the logged
//! event is exactly the v2 event of docs/event-schema.md with no key in it.

use std::collections::BTreeSet;

use infra_check::bicep::{self, BicepFile};
use infra_check::policy::{self, EVENT_KEYS};
use infra_check::{files_with_ext, repo_root};

fn policy_files() -> Vec<std::path::PathBuf> {
    let files = files_with_ext(&repo_root().join("infra/policies"), "xml");
    assert!(
        files.len() >= 2,
        "expected the API policy and the logging fragment"
    );
    files
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).expect("readable")
}

fn apim() -> BicepFile {
    BicepFile::load(&repo_root().join("infra/modules/apim.bicep")).expect("apim.bicep")
}

fn merged_refs() -> policy::PolicyRefs {
    let mut all = policy::PolicyRefs::default();
    for path in policy_files() {
        let refs = policy::analyze(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        all.logger_ids.extend(refs.logger_ids);
        all.backend_ids.extend(refs.backend_ids);
        all.fragment_ids.extend(refs.fragment_ids);
        all.named_values.extend(refs.named_values);
        all.logged_keys.extend(refs.logged_keys);
        all.log_expressions.extend(refs.log_expressions);
        all.elements.extend(refs.elements);
    }
    all
}

#[test]
fn every_policy_file_is_well_formed_xml() {
    for path in policy_files() {
        let src = std::fs::read_to_string(&path).unwrap();
        let doc =
            roxmltree::Document::parse(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let root = doc.root_element().tag_name().name().to_string();
        assert!(
            root == "policies" || root == "fragment",
            "{}: root <{root}>",
            path.display()
        );
    }
}

#[test]
fn malformed_policy_xml_is_reported() {
    assert!(policy::analyze("<policies><inbound><base /></policies>").is_err());
    // An unescaped generic inside an attribute is not XML.
    assert!(policy::analyze(r#"<policies><inbound><set-variable name="x" value="@(context.Variables.GetValueOrDefault<bool>("a"))" /></inbound></policies>"#).is_err());
}

#[test]
fn every_policy_file_is_loaded_by_the_bicep() {
    let loaded: BTreeSet<_> = bicep::loaded_files(&apim())
        .into_iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    for path in policy_files() {
        assert!(
            loaded.contains(&path.canonicalize().unwrap()),
            "{} is not loaded by apim.bicep",
            path.display()
        );
    }
}

#[test]
fn logger_backend_fragment_and_named_values_referenced_by_the_policies_exist_in_the_bicep() {
    let refs = merged_refs();
    let apim = apim();
    let loggers = bicep::resource_names(&apim, "Microsoft.ApiManagement/service/loggers");
    let backends = bicep::resource_names(&apim, "Microsoft.ApiManagement/service/backends");
    let fragments = bicep::resource_names(&apim, "Microsoft.ApiManagement/service/policyFragments");
    let named_values = bicep::resource_names(&apim, "Microsoft.ApiManagement/service/namedValues");
    let display_names = bicep::resource_property_values(
        &apim,
        "Microsoft.ApiManagement/service/namedValues",
        "properties.displayName",
    );
    assert!(
        !refs.logger_ids.is_empty()
            && !refs.backend_ids.is_empty()
            && !refs.fragment_ids.is_empty()
    );
    for id in &refs.logger_ids {
        assert!(
            loggers.contains(id),
            "logger {id} is not declared (declared: {loggers:?})"
        );
    }
    for id in &refs.backend_ids {
        assert!(
            backends.contains(id),
            "backend {id} is not declared (declared: {backends:?})"
        );
    }
    for id in &refs.fragment_ids {
        assert!(
            fragments.contains(id),
            "fragment {id} is not declared (declared: {fragments:?})"
        );
    }
    assert!(!refs.named_values.is_empty());
    for nv in &refs.named_values {
        assert!(
            named_values.contains(nv),
            "named value {nv} is not declared (declared: {named_values:?})"
        );
        assert!(
            display_names.contains(nv),
            "named value {nv} must have displayName {nv}"
        );
    }
}

#[test]
fn an_undeclared_logger_is_detected() {
    let refs = policy::analyze(
        r#"<fragment><log-to-eventhub logger-id="nope">@("x")</log-to-eventhub></fragment>"#,
    )
    .unwrap();
    let loggers = bicep::resource_names(&apim(), "Microsoft.ApiManagement/service/loggers");
    assert!(refs.logger_ids.iter().any(|id| !loggers.contains(id)));
}

#[test]
fn the_logged_event_has_exactly_the_design_keys_and_no_key_material() {
    let refs = merged_refs();
    assert_eq!(
        refs.logged_keys.len(),
        1,
        "one log-to-eventhub (in the fragment)"
    );
    assert_eq!(
        refs.logged_keys[0],
        EVENT_KEYS.iter().map(|k| k.to_string()).collect::<Vec<_>>()
    );
    let findings = policy::check_logged_event(&refs);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn logging_the_subscription_key_is_rejected() {
    let xml = r#"<fragment><log-to-eventhub logger-id="l">@{
        var evt = new JObject(new JProperty("schemaVersion", 2), new JProperty("appSubscriptionKey", context.Subscription.Key));
        return evt.ToString();
    }</log-to-eventhub></fragment>"#;
    let findings = policy::check_logged_event(&policy::analyze(xml).unwrap());
    assert!(
        findings.iter().any(|m| m.contains("appSubscriptionKey")),
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|m| m.contains("Subscription.Key")),
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|m| m.contains("missing")),
        "{findings:?}"
    );
}

#[test]
fn logging_a_request_header_is_rejected() {
    let mut props: Vec<String> = EVENT_KEYS
        .iter()
        .map(|k| format!("new JProperty(\"{k}\", 1)"))
        .collect();
    props[0] = "new JProperty(\"schemaVersion\", context.Request.Headers.GetValueOrDefault(\"api-key\", \"\"))".into();
    let xml = format!("<fragment><log-to-eventhub logger-id=\"l\">@{{ return new JObject({}).ToString(); }}</log-to-eventhub></fragment>", props.join(", "));
    let findings = policy::check_logged_event(&policy::analyze(&xml).unwrap());
    assert!(
        findings.iter().any(|m| m.contains("api-key")),
        "{findings:?}"
    );
}

#[test]
fn the_fragment_keeps_the_message_under_200_kb_and_cuts_the_response_from_the_middle() {
    let fragment = read("infra/policies/chargeback-log-event.fragment.xml");
    let refs = policy::analyze(&fragment).unwrap();
    let expr = &refs.log_expressions[0];
    assert!(
        expr.contains("int cap = 190000;"),
        "cap below 200 KB with margin"
    );
    assert!(
        expr.contains("Encoding.UTF8.GetByteCount"),
        "size measured in UTF-8 bytes"
    );
    assert!(
        expr.contains("request.Substring(0, requestKeep)"),
        "request cut from the end"
    );
    assert!(
        expr.contains(
            "response.Substring(0, head) + \"\\n\\n\" + response.Substring(response.Length - tail)"
        ),
        "response keeps head and tail joined by a blank line"
    );
    for flag in [
        "evt[\"requestTruncated\"] =",
        "evt[\"responseTruncated\"] =",
    ] {
        assert!(expr.contains(flag), "{flag}");
    }
}

#[test]
fn the_api_policy_authenticates_with_managed_identity_and_injects_stream_usage() {
    let xml = read("infra/policies/openai-api.policy.xml");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let inbound = doc
        .descendants()
        .find(|n| n.has_tag_name("inbound"))
        .expect("inbound");
    let mi = inbound
        .descendants()
        .find(|n| n.has_tag_name("authentication-managed-identity"))
        .expect("managed identity auth");
    assert_eq!(
        mi.attribute("resource"),
        Some("https://cognitiveservices.azure.com")
    );
    assert!(inbound
        .descendants()
        .any(|n| n.has_tag_name("set-backend-service")));
    let injected = inbound
        .descendants()
        .find(|n| {
            n.has_tag_name("set-variable") && n.attribute("name") == Some("streamUsageInjected")
        })
        .expect("streamUsageInjected variable");
    let rule = injected.attribute("value").unwrap();
    for needle in [
        "\"stream_options\"",
        "2024-09-01",
        "2024-10-21",
        "-preview",
        "/chat/completions",
    ] {
        assert!(rule.contains(needle), "injection rule lacks {needle}");
    }
    let body = inbound
        .descendants()
        .find(|n| n.has_tag_name("set-body"))
        .expect("set-body");
    assert!(body.text().unwrap_or("").contains("include_usage"));
    // The subscription key header is dropped before forwarding.
    assert!(inbound.descendants().any(|n| n.has_tag_name("set-header")
        && n.attribute("name") == Some("api-key")
        && n.attribute("exists-action") == Some("delete")));
    // Both outbound and on-error log.
    for section in ["outbound", "on-error"] {
        let node = doc.descendants().find(|n| n.has_tag_name(section)).unwrap();
        assert!(
            node.descendants()
                .any(|n| n.has_tag_name("include-fragment")
                    && n.attribute("fragment-id") == Some("chargeback-log-event")),
            "{section} does not log"
        );
    }
}

#[test]
fn the_token_limit_is_optional_and_off_by_default() {
    let xml = read("infra/policies/openai-api.policy.xml");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let limit = doc
        .descendants()
        .find(|n| n.has_tag_name("azure-openai-token-limit"))
        .expect("token limit");
    let when = limit.parent_element().expect("parent");
    assert!(
        when.has_tag_name("when"),
        "the limit is guarded by a <when>"
    );
    assert!(when
        .attribute("condition")
        .unwrap()
        .contains("{{aoai-token-limit-enabled}}"));
    assert_eq!(
        limit.attribute("counter-key"),
        Some("@(context.Subscription.Id)")
    );
    let main = BicepFile::load(&repo_root().join("infra/main.bicep")).unwrap();
    let src = &main.src;
    assert!(
        src.contains("param tokensPerMinuteLimit string = '0'"),
        "off by default"
    );
    let apim = apim();
    assert!(apim
        .src
        .contains("value: tokensPerMinuteLimit > 0 ? 'true' : 'false'"));
}

/// The set-body expression of the stream-usage injection.
fn injection_expression() -> String {
    let xml = read("infra/policies/openai-api.policy.xml");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let body = doc
        .descendants()
        .find(|n| n.has_tag_name("set-body"))
        .expect("set-body");
    body.text().unwrap_or("").to_string()
}

/// The C# string literal the expression inserts, unescaped (`"\"a\":1,"` -> `"a":1,`).
fn inserted_text(expression: &str) -> String {
    let start = expression.find("+ \"").expect("a string literal after +") + 3;
    let rest = &expression[start..];
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '"' => break,
            c => out.push(c),
        }
    }
    out
}

/// A model of the expression: `body.Substring(0, open + 1) + inserted + body.Substring(open + 1)` with
/// `open = body.IndexOf('{')`. The C# itself is not executed here (no APIM or .NET runtime); the test
/// checks that the expression has this shape and that the shape keeps the client's bytes.
fn inject(body: &str, inserted: &str) -> String {
    let open = body.find('{').expect("a JSON object");
    format!("{}{inserted}{}", &body[..=open], &body[open + 1..])
}

#[test]
fn the_usage_injection_inserts_text_and_never_re_serialises_the_client_body() {
    let expression = injection_expression();
    for banned in [
        "JObject",
        "JToken",
        "ToString(",
        "JsonConvert",
        "Formatting",
    ] {
        assert!(
            !expression.contains(banned),
            "the injection re-serialises the body ({banned}): {expression}"
        );
    }
    let compact: String = expression.split_whitespace().collect();
    assert!(
        compact.contains("intopen=body.IndexOf('{');"),
        "{expression}"
    );
    assert!(
        compact.contains("returnbody.Substring(0,open+1)+\"")
            && compact.contains("+body.Substring(open+1);}"),
        "{expression}"
    );
    assert_eq!(
        inserted_text(&expression),
        "\"stream_options\":{\"include_usage\":true},"
    );
}

#[test]
fn the_modelled_injection_keeps_date_like_strings_and_every_other_byte_of_the_body() {
    let inserted = inserted_text(&injection_expression());
    let bodies = [
        r#"{"stream":true,"messages":[{"role":"user","content":"2024-10-21T08:00:00Z"}]}"#,
        "  \n{\n  \"messages\": [{\"role\": \"user\", \"content\": \"due 2025-01-31\"}],\n  \"stream\": true,\n  \"metadata\": {\"at\": \"2024-02-29T23:59:59.9999999+01:00\"}\n}",
        r#"{"model":"gpt-4o","stream":true,"temperature":1.0e0,"n":1,"user":"\u00e9t\u00e9","messages":[{"role":"user","content":"{not json}"}]}"#,
    ];
    for body in bodies {
        let out = inject(body, &inserted);
        // The client's bytes are all there, in order, unchanged.
        assert_eq!(out.replacen(&inserted, "", 1), body);
        let before: serde_json::Value = serde_json::from_str(body).unwrap();
        let mut after: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
        assert_eq!(after["stream_options"]["include_usage"], true);
        after.as_object_mut().unwrap().remove("stream_options");
        assert_eq!(after, before, "the client's values changed");
    }
}
