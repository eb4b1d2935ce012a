//! The OpenAPI spec APIM imports, the workbook and azure.yaml.

use std::collections::BTreeSet;

use infra_check::repo_root;
use serde_json::Value;

fn json(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join(rel)).unwrap()).unwrap()
}

fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    root.pointer(reference.strip_prefix('#')?)
}

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_string());
                    }
                }
                refs(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_openapi_spec_covers_the_inference_operations_on_a_current_ga_version() {
    let spec = json("infra/specs/azure-openai-inference.json");
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.0"));
    assert_eq!(spec["info"]["version"], "2024-10-21");
    assert_eq!(
        spec["components"]["parameters"]["apiVersion"]["schema"]["default"],
        "2024-10-21"
    );
    let paths = spec["paths"].as_object().unwrap();
    for p in [
        "/deployments/{deployment-id}/chat/completions",
        "/deployments/{deployment-id}/completions",
        "/deployments/{deployment-id}/embeddings",
        "/responses",
        "/v1/responses",
    ] {
        assert!(paths.contains_key(p), "missing path {p}");
    }
    let mut ids = BTreeSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
            assert!(
                op["responses"]
                    .as_object()
                    .is_some_and(|r| r.contains_key("200")),
                "{id}: no 200"
            );
        }
    }
    let mut all = Vec::new();
    refs(&spec, &mut all);
    assert!(!all.is_empty());
    for r in all {
        assert!(resolve(&spec, &r).is_some(), "unresolved $ref {r}");
    }
    assert_eq!(
        spec["components"]["securitySchemes"]["apiKey"]["name"],
        "api-key"
    );
}

/// Every route the API policy and the handler handle is an operation of the imported spec (APIM answers
/// 404 for anything else): the dated deployment routes, the v1 routes (deployment = the body's model), and
/// retrieving / deleting a stored response (not inference: the handler never bills GET or DELETE).
#[test]
fn the_openapi_spec_has_the_v1_routes_and_get_and_delete_on_stored_responses() {
    let spec = json("infra/specs/azure-openai-inference.json");
    let paths = spec["paths"].as_object().unwrap();
    for (path, methods) in [
        (
            "/deployments/{deployment-id}/chat/completions",
            &["post"][..],
        ),
        ("/deployments/{deployment-id}/completions", &["post"]),
        ("/deployments/{deployment-id}/embeddings", &["post"]),
        ("/responses", &["post"]),
        ("/responses/{response-id}", &["get", "delete"]),
        ("/v1/chat/completions", &["post"]),
        ("/v1/completions", &["post"]),
        ("/v1/embeddings", &["post"]),
        ("/v1/responses", &["post"]),
        ("/v1/responses/{response-id}", &["get", "delete"]),
    ] {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("the spec lacks {path}, so APIM answers 404 for it"));
        for method in methods {
            assert!(
                item.get(*method).is_some(),
                "the spec lacks {} {path}",
                method.to_uppercase()
            );
        }
        // v1 routes take no api-version; the dated ones require it.
        let params = serde_json::to_string(&item).unwrap();
        assert_eq!(
            params.contains("#/components/parameters/apiVersion"),
            !path.starts_with("/v1/"),
            "{path}: api-version"
        );
    }
    // The policy's v1 test and the handler's route reader agree with these paths.
    let policy =
        std::fs::read_to_string(repo_root().join("infra/policies/openai-api.policy.xml")).unwrap();
    assert!(policy.contains("/openai/v1/"));
}

#[test]
fn the_workbook_charts_tokens_and_cost_per_consumer_and_model() {
    let wb = json("infra/workbooks/chargeback.workbook.json");
    assert_eq!(wb["version"], "Notebook/1.0");
    let queries: Vec<String> = wb["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == 3)
        .map(|i| i["content"]["query"].as_str().unwrap().to_string())
        .collect();
    assert!(queries.len() >= 3);
    assert!(queries
        .iter()
        .all(|q| q.contains("\"Azure OpenAI Tokens\"")));
    assert!(queries
        .iter()
        .any(|q| q.contains("by Consumer, bin(timestamp")));
    assert!(queries
        .iter()
        .any(|q| q.contains("by Model, bin(timestamp")));
    assert!(queries.iter().any(|q| q.contains("sum(Cost)")));
}

#[test]
fn azure_yaml_packages_the_custom_handler_with_hooks_in_both_shells() {
    let yaml = std::fs::read_to_string(repo_root().join("azure.yaml")).unwrap();
    let lines: Vec<&str> = yaml.lines().map(str::trim).collect();
    for needle in [
        "host: function",
        "language: custom",
        "dist: dist/package",
        "prepackage:",
        "run: ./infra/hooks/package.sh",
        "run: ./infra/hooks/package.ps1",
        "shell: pwsh",
        "shell: sh",
    ] {
        assert!(lines.contains(&needle), "azure.yaml lacks `{needle}`");
    }
    let hook = std::fs::read_to_string(repo_root().join("infra/hooks/package.sh")).unwrap();
    assert!(
        hook.contains("dist/package"),
        "the hook stages where azure.yaml's dist points"
    );
    assert!(hook.contains("x86_64-unknown-linux-musl"));
    assert!(hook.contains("install -m 0755"));
}
