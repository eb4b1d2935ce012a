//! Bicep: grammar-level parse of every file, then security and wiring properties on the syntax tree.
//! Each checker also gets a small bad snippet, so a checker that always passes is caught.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use infra_check::bicep::{self, BicepFile};
use infra_check::repo_root;

fn infra() -> Vec<BicepFile> {
    let files = bicep::load_infra().expect("infra/*.bicep readable");
    assert!(
        files.len() >= 8,
        "expected main.bicep and the modules, found {}",
        files.len()
    );
    files
}

fn file(rel: &str) -> BicepFile {
    BicepFile::load(&repo_root().join(rel)).expect("file loads")
}

fn all(findings: impl IntoIterator<Item = Vec<String>>) -> Vec<String> {
    findings.into_iter().flatten().collect()
}

fn snippet(src: &str) -> BicepFile {
    let f = BicepFile::snippet("snippet.bicep", src).expect("parser runs");
    assert!(
        f.syntax_errors().is_empty(),
        "snippet must be valid Bicep: {:?}",
        f.syntax_errors()
    );
    f
}

fn disk(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[test]
fn every_bicep_file_parses_without_error_or_missing_nodes() {
    let findings = all(infra().iter().map(|f| f.syntax_errors()));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn a_bicep_syntax_error_is_reported() {
    let f = BicepFile::snippet(
        "bad.bicep",
        "resource x 'A/b@1' = {\n  name: 'x'\n  properties: {\n",
    )
    .unwrap();
    assert!(!f.syntax_errors().is_empty());
}

#[test]
fn every_data_plane_resource_is_private_and_keyless() {
    let findings = all(infra().iter().map(bicep::check_data_plane));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn the_deployment_declares_every_data_plane_resource_type_the_checks_cover() {
    let files = infra();
    let declared: Vec<String> = files
        .iter()
        .flat_map(|f| {
            f.resources()
                .into_iter()
                .filter(|r| !r.existing)
                .map(|r| r.full_type.to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    for ty in [
        "Microsoft.CognitiveServices/accounts",
        "Microsoft.EventHub/namespaces",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Insights/components",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.Insights/privateLinkScopes",
        "Microsoft.Web/sites",
    ] {
        assert!(
            declared.contains(&ty.to_ascii_lowercase()),
            "{ty} is not declared, so its rules never ran"
        );
    }
}

#[test]
fn a_storage_account_with_shared_keys_or_public_access_is_rejected() {
    let f = snippet(
        "resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'st'\n  properties: {\n    publicNetworkAccess: 'Enabled'\n    allowSharedKeyAccess: true\n    allowBlobPublicAccess: false\n    minimumTlsVersion: 'TLS1_2'\n  }\n}\n",
    );
    let findings = bicep::check_data_plane(&f);
    assert!(
        findings.iter().any(|m| m.contains("publicNetworkAccess")),
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|m| m.contains("allowSharedKeyAccess")),
        "{findings:?}"
    );
}

#[test]
fn an_openai_account_without_disable_local_auth_is_rejected() {
    let f = snippet(
        "resource oai 'Microsoft.CognitiveServices/accounts@2024-10-01' = {\n  name: 'oai'\n  kind: 'OpenAI'\n  properties: {\n    publicNetworkAccess: 'Disabled'\n  }\n}\n",
    );
    let findings = bicep::check_data_plane(&f);
    assert!(
        findings.iter().any(|m| m.contains("disableLocalAuth")),
        "{findings:?}"
    );
}

#[test]
fn a_conditional_expression_does_not_count_as_disabled() {
    let f = snippet(
        "param open bool\nresource ns 'Microsoft.EventHub/namespaces@2024-01-01' = {\n  name: 'ns'\n  properties: {\n    publicNetworkAccess: open ? 'Enabled' : 'Disabled'\n    disableLocalAuth: true\n    minimumTlsVersion: '1.2'\n  }\n}\n",
    );
    assert!(!bicep::check_data_plane(&f).is_empty());
}

#[test]
fn a_function_app_with_basic_publishing_credentials_is_rejected() {
    let f = snippet(
        "resource site 'Microsoft.Web/sites@2024-04-01' = {\n  name: 'f'\n  properties: {\n    publicNetworkAccess: 'Disabled'\n    httpsOnly: true\n    siteConfig: {\n      ftpsState: 'Disabled'\n    }\n  }\n  resource ftp 'basicPublishingCredentialsPolicies' = {\n    name: 'ftp'\n    properties: { allow: false }\n  }\n}\n",
    );
    let findings = bicep::check_data_plane(&f);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("scm"));
}

#[test]
fn every_private_endpoint_has_a_dns_zone_group() {
    let findings = all(infra().iter().map(bicep::check_private_endpoint_dns));
    assert!(findings.is_empty(), "{findings:#?}");
    let count: usize = infra()
        .iter()
        .map(|f| {
            f.resources()
                .iter()
                .filter(|r| r.full_type == "Microsoft.Network/privateEndpoints")
                .count()
        })
        .sum();
    assert!(count >= 1, "no private endpoint resource found");
}

#[test]
fn a_private_endpoint_without_dns_zone_group_is_rejected() {
    let f = snippet(
        "resource pe 'Microsoft.Network/privateEndpoints@2024-05-01' = {\n  name: 'pe'\n  location: 'x'\n  properties: {}\n}\n",
    );
    assert_eq!(bicep::check_private_endpoint_dns(&f).len(), 1);
    let with_parent = snippet(
        "resource pe 'Microsoft.Network/privateEndpoints@2024-05-01' = {\n  name: 'pe'\n  properties: {}\n}\nresource g 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = {\n  parent: pe\n  name: 'default'\n}\n",
    );
    assert!(bicep::check_private_endpoint_dns(&with_parent).is_empty());
}

#[test]
fn every_private_link_resource_has_a_private_endpoint_per_sub_resource() {
    let findings = all(infra().iter().map(bicep::check_private_endpoint_coverage));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn a_storage_account_without_a_queue_endpoint_is_rejected() {
    let mut src = String::from(
        "resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'st'\n}\n",
    );
    for group in ["blob", "table"] {
        src.push_str(&format!(
            "module pe{group} 'private-endpoint.bicep' = {{\n  name: 'pe-{group}'\n  params: {{\n    privateLinkServiceId: st.id\n    groupId: '{group}'\n  }}\n}}\n"
        ));
    }
    let findings = bicep::check_private_endpoint_coverage(&snippet(&src));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("'queue'"));
}

#[test]
fn every_role_assignment_grants_to_an_identity_created_here_and_says_why() {
    let files = infra();
    let findings = all(files.iter().map(bicep::check_role_assignments));
    assert!(findings.is_empty(), "{findings:#?}");
    let count: usize = files
        .iter()
        .map(|f| {
            f.resources()
                .iter()
                .filter(|r| r.full_type == "Microsoft.Authorization/roleAssignments")
                .count()
        })
        .sum();
    assert_eq!(count, 12, "APIM: OpenAI User + Event Hubs Data Sender; Function: Receiver, Blob Owner, Queue, Table, Metrics Publisher; deployer: ledger reader + two Log Analytics Readers; Capture: the namespace writes its container; budget alerts: Log Analytics Reader on the component");
}

#[test]
fn the_least_privilege_roles_are_granted_to_the_right_identities() {
    let apim = std::fs::read_to_string(repo_root().join("infra/modules/apim.bicep")).unwrap();
    let func =
        std::fs::read_to_string(repo_root().join("infra/modules/function-app.bicep")).unwrap();
    // Cognitive Services OpenAI User, Azure Event Hubs Data Sender.
    for id in [
        "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
        "2b629674-e913-4c01-ae53-ef4638d8f975",
    ] {
        assert!(apim.contains(id), "APIM lacks role {id}");
    }
    // Event Hubs Data Receiver, Storage Blob Data Owner, Queue and Table Data Contributor, Monitoring Metrics Publisher.
    for id in [
        "a638d3c7-ab3a-418d-83e6-5f17a39d4fde",
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
        "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
        "3913510d-42f4-4e42-8a64-420c390055eb",
    ] {
        assert!(func.contains(id), "Function App lacks role {id}");
    }
    // Owner, Contributor and User Access Administrator are never handed out.
    for broad in [
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    ] {
        assert!(
            !apim.contains(broad) && !func.contains(broad),
            "broad role {broad} granted"
        );
    }
}

#[test]
fn a_role_assignment_to_a_parameter_principal_is_rejected() {
    let f = snippet(
        "param principalId string\nresource st 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {\n  name: 'st'\n}\n// why: test\nresource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {\n  name: 'x'\n  scope: st\n  properties: {\n    principalId: principalId\n    roleDefinitionId: 'r'\n  }\n}\n",
    );
    let findings = bicep::check_role_assignments(&f);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("parameter"));
}

#[test]
fn a_role_assignment_to_an_existing_identity_or_without_comment_is_rejected() {
    let f = snippet(
        "resource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {\n  name: 'id'\n}\nresource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {\n  name: 'x'\n  scope: id\n  properties: {\n    principalId: id.properties.principalId\n    roleDefinitionId: 'r'\n  }\n}\n",
    );
    let findings = bicep::check_role_assignments(&f);
    assert_eq!(findings.len(), 2, "{findings:?}");
    let good = snippet(
        "resource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {\n  name: 'id'\n  location: 'x'\n}\n// The app reads blobs.\nresource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {\n  name: 'x'\n  scope: id\n  properties: {\n    principalId: id.properties.principalId\n    roleDefinitionId: 'r'\n  }\n}\n",
    );
    assert!(
        bicep::check_role_assignments(&good).is_empty(),
        "{:?}",
        bicep::check_role_assignments(&good)
    );
}

#[test]
fn a_resource_group_wide_role_assignment_is_rejected() {
    let f = snippet(
        "resource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {\n  name: 'id'\n  location: 'x'\n}\n// Reads everything in the group: too broad.\nresource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {\n  name: 'x'\n  properties: {\n    principalId: id.properties.principalId\n    roleDefinitionId: 'r'\n  }\n}\n",
    );
    let findings = bicep::check_role_assignments(&f);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("not scoped to a single resource"));
}

#[test]
fn no_output_or_app_setting_holds_a_secret() {
    let findings = all(infra().iter().map(bicep::check_no_secrets));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn list_keys_anywhere_is_rejected() {
    let f = snippet(
        "resource st 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {\n  name: 'st'\n}\noutput k string = st.listKeys().keys[0].value\nvar c = listKeys(st.id, '2023-05-01')\n",
    );
    let findings = bicep::check_no_secrets(&f);
    assert!(
        findings.iter().filter(|m| m.contains("listKeys()")).count() >= 2,
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|m| m.contains("output k")),
        "{findings:?}"
    );
}

#[test]
fn secure_and_connection_string_outputs_are_rejected() {
    let f = snippet(
        "@secure()\nparam pwd string\nresource ai 'Microsoft.Insights/components@2020-02-02' existing = {\n  name: 'ai'\n}\n@secure()\noutput a string = pwd\noutput cs string = ai.properties.ConnectionString\noutput plain string = pwd\n",
    );
    let findings = bicep::check_no_secrets(&f);
    assert!(
        findings.iter().any(|m| m.contains("@secure()")),
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|m| m.contains("connectionstring")),
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|m| m.contains("secure parameter pwd")),
        "{findings:?}"
    );
}

#[test]
fn an_app_setting_with_a_key_based_connection_string_is_rejected() {
    let f = snippet(
        "var settings = {\n  AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc'\n  EVENTHUB_KEY: 'x'\n  MY_CONNECTION_STRING: 'Endpoint=sb://x/;SharedAccessKey=y'\n}\n",
    );
    let findings = bicep::check_no_secrets(&f);
    assert!(
        findings
            .iter()
            .any(|m| m.contains("AzureWebJobsStorage is a key-based")),
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|m| m.contains("EVENTHUB_KEY")),
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|m| m.contains("MY_CONNECTION_STRING")),
        "{findings:?}"
    );
}

#[test]
fn module_calls_pass_exactly_the_declared_parameters() {
    let findings = all(infra().iter().map(|f| bicep::check_module_params(f, &disk)));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn a_module_call_with_an_unknown_or_missing_parameter_is_rejected() {
    let caller = BicepFile::parse(
        Path::new("/virtual/main.bicep"),
        "main.bicep",
        "module m 'mod.bicep' = {\n  name: 'm'\n  params: {\n    known: 'a'\n    typo: 'b'\n  }\n}\n".to_string(),
    )
    .unwrap();
    let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();
    files.insert(
        PathBuf::from("/virtual/mod.bicep"),
        "param known string\nparam required string\nparam optional string = 'x'\nparam nullable string?\n".to_string(),
    );
    let read = |p: &Path| files.get(p).cloned();
    let findings = bicep::check_module_params(&caller, &read);
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(findings.iter().any(|m| m.contains("passes typo")));
    assert!(findings
        .iter()
        .any(|m| m.contains("required parameter required")));
}

#[test]
fn main_outputs_name_the_gateway_apim_deployments_and_function_app_and_never_a_key() {
    let main = file("infra/main.bicep");
    let outputs = bicep::output_names(&main);
    for name in [
        "APIM_GATEWAY_URL",
        "APIM_NAME",
        "AZURE_OPENAI_DEPLOYMENTS",
        "AZURE_OPENAI_CHAT_DEPLOYMENT",
        "AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT",
        "FUNCTION_APP_NAME",
        "AZURE_RESOURCE_GROUP",
    ] {
        assert!(outputs.iter().any(|o| o == name), "missing output {name}");
    }
    assert!(outputs
        .iter()
        .all(|o| !o.to_ascii_lowercase().contains("key")));
}

#[test]
fn main_runs_at_subscription_scope_and_honours_an_existing_resource_group() {
    let main = file("infra/main.bicep");
    let scope = main.declarations("target_scope_assignment");
    assert_eq!(scope.len(), 1);
    assert!(main.text(scope[0]).contains("'subscription'"));
    assert!(main.parameters().contains_key("resourceGroupName"));
    let params: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("infra/main.parameters.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        params["parameters"]["resourceGroupName"]["value"],
        "${AZURE_RESOURCE_GROUP=}"
    );
}

#[test]
fn main_parameters_json_matches_the_parameters_of_main_bicep() {
    let main = file("infra/main.bicep");
    let declared = main.parameters();
    let params: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("infra/main.parameters.json")).unwrap(),
    )
    .unwrap();
    let given = params["parameters"].as_object().expect("parameters object");
    for name in given.keys() {
        assert!(
            declared.contains_key(name),
            "main.parameters.json sets unknown parameter {name}"
        );
    }
    for (name, required) in &declared {
        if *required {
            assert!(
                given.contains_key(name),
                "required parameter {name} is not in main.parameters.json"
            );
        }
    }
}

#[test]
fn the_function_app_sets_every_setting_the_handler_and_function_json_read() {
    let func = file("infra/modules/function-app.bicep");
    let keys = bicep::property_keys(&func);
    for name in [
        "APIM_LOGS_EVENTHUB_NAME",
        "APIM_LOGS_CONSUMER_GROUP",
        "EventHubConnection__fullyQualifiedNamespace",
        "AzureWebJobsStorage__accountName",
        "CHARGEBACK_LEDGER_CONTAINER",
        "CHARGEBACK_DEADLETTER_CONTAINER",
        "CHARGEBACK_DEPLOYMENT_MODELS",
        "CHARGEBACK_RECORD_NON_BILLABLE",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "CHARGEBACK_PRICE_SHEET",
    ] {
        assert!(
            keys.contains(name),
            "function-app.bicep does not set {name}"
        );
    }
    // Every %SETTING% and connection prefix used by function.json is provided.
    let function_json =
        std::fs::read_to_string(repo_root().join("ChargebackEventHubTrigger/function.json"))
            .unwrap();
    let mut rest = function_json.as_str();
    while let Some(start) = rest.find('%') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('%') else { break };
        let name = &after[..end];
        assert!(
            keys.contains(name),
            "function.json uses %{name}% which the Function App does not set"
        );
        rest = &after[end + 1..];
    }
    let bindings: serde_json::Value = serde_json::from_str(&function_json).unwrap();
    for binding in bindings["bindings"].as_array().unwrap() {
        if let Some(conn) = binding["connection"].as_str() {
            assert!(
                keys.iter().any(|k| k.starts_with(&format!("{conn}__"))),
                "connection {conn} has no identity-based {conn}__* settings"
            );
        }
    }
    // Flex Consumption runs the custom handler through functionAppConfig.runtime; it rejects
    // FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION as app settings.
    let site = func
        .resources()
        .into_iter()
        .find(|r| r.full_type == "Microsoft.Web/sites" && !r.existing)
        .expect("a Function App");
    let config = func
        .get_path(site.body.unwrap(), "properties.functionAppConfig")
        .expect("functionAppConfig");
    assert_eq!(config.kind(), "object");
    let runtime = |path: &str| func.get_path(config, path).and_then(|n| func.literal(n));
    assert_eq!(runtime("runtime.name").as_deref(), Some("custom"));
    assert_eq!(runtime("runtime.version").as_deref(), Some("1.0"));
    assert_eq!(
        runtime("deployment.storage.authentication.type").as_deref(),
        Some("UserAssignedIdentity")
    );
    for banned in [
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
    ] {
        assert!(!keys.contains(banned), "a Flex app must not set {banned}");
    }
}

#[test]
fn every_file_bicep_loads_exists() {
    for f in infra() {
        for path in bicep::loaded_files(&f) {
            assert!(
                path.is_file(),
                "{} loads missing {}",
                f.label,
                path.display()
            );
        }
    }
}

#[test]
fn the_function_app_is_told_each_deployments_model_and_sku_from_the_deployments_it_creates() {
    let func = file("infra/modules/function-app.bicep");
    assert!(func.src.contains("CHARGEBACK_DEPLOYMENTS: deploymentSkus"));
    let main = file("infra/main.bicep");
    let module = main
        .all_nodes("module_declaration")
        .into_iter()
        .find(|m| main.text(*m).contains("'modules/function-app.bicep'"))
        .expect("the function-app module call");
    let text: String = main.text(module).split_whitespace().collect();
    // name=model:skuName for each entry of the same array the OpenAI module deploys.
    assert!(
        text.contains("deploymentSkus:join(map(openAiDeployments,d=>'${d.name}=${d.model.name}:${d.sku.name}'),',')"),
        "{text}"
    );
    assert!(main.src.contains("deployments: openAiDeployments"));
}
