//! APIM policy checks on the XML tree (roxmltree).

use std::collections::BTreeSet;

/// The v2 usage event keys of docs/event-schema.md, in order.
pub const EVENT_KEYS: &[&str] = &[
    "schemaVersion",
    "eventTime",
    "requestId",
    "serviceName",
    "region",
    "apiId",
    "operationId",
    "subscriptionId",
    "subscriptionName",
    "productId",
    "userId",
    "callerAppId",
    "callerTenantId",
    "callerObjectId",
    "clientIp",
    "method",
    "path",
    "apiVersion",
    "deploymentId",
    "statusCode",
    "durationMs",
    "streamUsageInjected",
    "request",
    "response",
    "requestTruncated",
    "responseTruncated",
];

/// What a policy document references and logs.
#[derive(Debug, Default)]
pub struct PolicyRefs {
    pub logger_ids: BTreeSet<String>,
    pub backend_ids: BTreeSet<String>,
    pub fragment_ids: BTreeSet<String>,
    pub named_values: BTreeSet<String>,
    /// Keys of the JSON object built in each log-to-eventhub expression, in order of appearance.
    pub logged_keys: Vec<Vec<String>>,
    /// The raw text of each log-to-eventhub expression.
    pub log_expressions: Vec<String>,
    /// Element names used (for presence checks).
    pub elements: BTreeSet<String>,
}

/// Parses a policy (or fragment) and collects its references. Errors are XML syntax errors.
pub fn analyze(xml: &str) -> Result<PolicyRefs, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("XML: {e}"))?;
    let mut refs = PolicyRefs::default();
    for node in doc.descendants() {
        if node.is_element() {
            let name = node.tag_name().name().to_string();
            for attr in node.attributes() {
                collect_named_values(attr.value(), &mut refs.named_values);
            }
            match name.as_str() {
                "log-to-eventhub" => {
                    if let Some(id) = node.attribute("logger-id") {
                        refs.logger_ids.insert(id.to_string());
                    }
                    let text: String = node
                        .children()
                        .filter(|c| c.is_text())
                        .filter_map(|c| c.text())
                        .collect();
                    refs.logged_keys.push(json_keys_in_expression(&text));
                    refs.log_expressions.push(text);
                }
                "set-backend-service" => {
                    if let Some(id) = node.attribute("backend-id") {
                        refs.backend_ids.insert(id.to_string());
                    }
                }
                "include-fragment" => {
                    if let Some(id) = node.attribute("fragment-id") {
                        refs.fragment_ids.insert(id.to_string());
                    }
                }
                _ => {}
            }
            refs.elements.insert(name);
        } else if node.is_text() {
            if let Some(text) = node.text() {
                collect_named_values(text, &mut refs.named_values);
            }
        }
    }
    Ok(refs)
}

/// `{{name}}` references in a string.
fn collect_named_values(text: &str, out: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            break;
        };
        out.insert(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
}

/// Keys of the JSON built by a C# policy expression: `new JProperty("key", ...)` and `x["key"] = ...`.
pub fn json_keys_in_expression(expr: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut push = |k: &str| {
        if !keys.iter().any(|e: &String| e == k) {
            keys.push(k.to_string());
        }
    };
    for (i, _) in expr.match_indices("new JProperty(\"") {
        let rest = &expr[i + "new JProperty(\"".len()..];
        if let Some(end) = rest.find('"') {
            push(&rest[..end]);
        }
    }
    for (i, _) in expr.match_indices("[\"") {
        let rest = &expr[i + 2..];
        if let Some(end) = rest.find("\"]") {
            let after = rest[end + 2..].trim_start();
            // Only writes (`evt["x"] = ...`), not `context.Variables["x"]` reads.
            if after.starts_with('=') && !after.starts_with("==") {
                push(&rest[..end]);
            }
        }
    }
    keys
}

/// Words that must never appear in what the policy logs.
const FORBIDDEN_IN_LOG: &[&str] = &[
    "Ocp-Apim-Subscription-Key",
    "api-key",
    "\"Authorization\"",
    "Subscription.Key",
    "PrimaryKey",
    "SecondaryKey",
    "Request.Headers",
];

/// The logged JSON keys are exactly those of docs/event-schema.md, and nothing key-like is read in the log expression.
pub fn check_logged_event(refs: &PolicyRefs) -> Vec<String> {
    let mut findings = Vec::new();
    if refs.logged_keys.is_empty() {
        findings.push("no log-to-eventhub element".to_string());
    }
    for (keys, expr) in refs.logged_keys.iter().zip(&refs.log_expressions) {
        let want: Vec<String> = EVENT_KEYS.iter().map(|k| k.to_string()).collect();
        if keys != &want {
            let got: BTreeSet<&String> = keys.iter().collect();
            let expected: BTreeSet<&String> = want.iter().collect();
            let extra: Vec<&&String> = got.difference(&expected).collect();
            let missing: Vec<&&String> = expected.difference(&got).collect();
            findings.push(format!(
                "logged keys differ from docs/event-schema.md: extra {extra:?}, missing {missing:?}, order {keys:?}"
            ));
        }
        for key in keys {
            let lower = key.to_ascii_lowercase();
            if lower.contains("key") || lower.contains("authorization") || lower.contains("token") {
                findings.push(format!("the event logs a key-like field {key:?}"));
            }
        }
        for bad in FORBIDDEN_IN_LOG {
            if expr.contains(bad) {
                findings.push(format!("the log expression reads {bad}"));
            }
        }
    }
    findings
}
