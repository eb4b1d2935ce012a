//! Every resource body in `infra/` against the Bicep compiler's type definitions
//! (`shared/bicep-types/`, beside the repository): types and API versions exist, property names exist at
//! their nesting level, read-only properties are not set, literals fit their declared types.

use infra_check::bicep::{self, BicepFile};
use infra_check::types::{self, TypeIndex};

/// The type index, or `None` (with a message) when the type files are absent outside CI.
fn index() -> Option<TypeIndex> {
    match types::types_dir() {
        Some(dir) => Some(TypeIndex::load(&dir).expect("the type files load")),
        None => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but shared/bicep-types/ (beside the repository) is absent"
            );
            eprintln!("skipped: shared/bicep-types/ not found beside the repository (set BICEP_TYPES_DIR)");
            None
        }
    }
}

fn snippet(src: &str) -> BicepFile {
    let f = BicepFile::snippet("snippet.bicep", src).expect("parser runs");
    assert!(f.syntax_errors().is_empty(), "{:?}", f.syntax_errors());
    f
}

#[test]
fn every_resource_body_in_infra_matches_its_bicep_type_definition() {
    let Some(index) = index() else { return };
    let files = bicep::load_infra().expect("infra loads");
    let findings: Vec<String> = files
        .iter()
        .flat_map(|f| types::check_file(&index, f))
        .collect();
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn an_unknown_api_version_is_rejected() {
    let Some(index) = index() else { return };
    let f = snippet(
        "resource st 'Microsoft.Storage/storageAccounts@2019-01-01' = {\n  name: 'stdemo'\n}\n",
    );
    let findings = types::check_file(&index, &f);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("is not defined"), "{findings:?}");
}

#[test]
fn a_misspelled_property_is_rejected() {
    let Some(index) = index() else { return };
    let f = snippet("resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'stdemo'\n  location: 'x'\n  kind: 'StorageV2'\n  sku: { name: 'Standard_LRS' }\n  properties: {\n    allowSharedKeyAcess: false\n  }\n}\n");
    let findings = types::check_file(&index, &f);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].contains("properties.allowSharedKeyAcess"),
        "{findings:?}"
    );
}

#[test]
fn a_property_at_the_wrong_nesting_level_is_rejected() {
    let Some(index) = index() else { return };
    // publicNetworkAccess belongs under properties, not at the top of the body.
    let f = snippet("resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'stdemo'\n  location: 'x'\n  kind: 'StorageV2'\n  sku: { name: 'Standard_LRS' }\n  publicNetworkAccess: 'Disabled'\n  properties: {\n    networkAcls: {\n      defaultAction: 'Deny'\n      bypass: 'None'\n      minimumTlsVersion: 'TLS1_2'\n    }\n  }\n}\n");
    let findings = types::check_file(&index, &f);
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(
        findings
            .iter()
            .any(|m| m.contains(": publicNetworkAccess:")),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|m| m.contains("properties.networkAcls.minimumTlsVersion")),
        "{findings:?}"
    );
}

#[test]
fn a_read_only_property_set_is_rejected() {
    let Some(index) = index() else { return };
    let f = snippet("resource oai 'Microsoft.CognitiveServices/accounts@2024-10-01' = {\n  name: 'oaidemo'\n  location: 'x'\n  kind: 'OpenAI'\n  properties: {\n    endpoint: 'https://x.openai.azure.com/'\n  }\n}\n");
    let findings = types::check_file(&index, &f);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].contains("properties.endpoint: read-only"),
        "{findings:?}"
    );
}

#[test]
fn a_bad_literal_is_rejected() {
    let Some(index) = index() else { return };
    let f = snippet("resource ns 'Microsoft.EventHub/namespaces@2024-01-01' = {\n  name: 'nsdemo'\n  location: 'x'\n  sku: { name: 'Standrd' }\n  properties: {\n    disableLocalAuth: 'yes'\n    publicNetworkAccess: 'Disabled'\n    maximumThroughputUnits: 'many'\n  }\n}\n");
    let findings = types::check_file(&index, &f);
    assert_eq!(findings.len(), 3, "{findings:?}");
    assert!(
        findings
            .iter()
            .any(|m| m.contains("sku.name: 'Standrd' is not one of")),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|m| m.contains("disableLocalAuth") && m.contains("a boolean")),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|m| m.contains("maximumThroughputUnits") && m.contains("an integer")),
        "{findings:?}"
    );
}

#[test]
fn an_allowed_parameter_value_the_api_version_does_not_list_is_rejected() {
    let Some(index) = index() else { return };
    // PremiumV2 is listed from 2025-03-01-preview on, not in 2024-05-01.
    let src = |version: &str| {
        format!("@allowed(['StandardV2', 'PremiumV2'])\nparam skuName string\nresource apim 'Microsoft.ApiManagement/service@{version}' = {{\n  name: 'apimdemo'\n  location: 'x'\n  sku: {{\n    name: skuName\n    capacity: 1\n  }}\n  properties: {{\n    publisherEmail: 'a@b.c'\n    publisherName: 'n'\n  }}\n}}\n")
    };
    let old = types::check_file(&index, &snippet(&src("2024-05-01")));
    assert_eq!(old.len(), 1, "{old:?}");
    assert!(old[0].contains("'PremiumV2' is not one of"), "{old:?}");
    assert!(types::check_file(&index, &snippet(&src("2025-03-01-preview"))).is_empty());
}

#[test]
fn expressions_are_skipped_and_both_branches_of_a_condition_are_checked() {
    let Some(index) = index() else { return };
    let f = snippet("param open bool\nparam name string\nresource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: name\n  location: resourceGroup().location\n  kind: 'StorageV2'\n  sku: { name: 'Standard_LRS' }\n  properties: {\n    publicNetworkAccess: open ? 'Enabled' : 'Closed'\n    minimumTlsVersion: '${name}'\n  }\n}\n");
    let findings = types::check_file(&index, &f);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("'Closed'"), "{findings:?}");
}

#[test]
fn nested_children_inherit_the_parent_api_version_and_are_checked() {
    let Some(index) = index() else { return };
    let f = snippet("resource st 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {\n  name: 'stdemo'\n  resource blob 'blobServices' = {\n    name: 'default'\n    resource c 'containers' = {\n      name: 'ledger'\n      properties: { publicAcess: 'None' }\n    }\n  }\n}\n");
    let findings = types::check_file(&index, &f);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].contains("blobServices/containers@2023-05-01"),
        "{findings:?}"
    );
}

#[test]
fn typos_inside_array_items_and_for_bodies_are_found() {
    let Some(index) = index() else { return };
    let f = snippet("param zones array\nresource nsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {\n  name: 'nsg'\n  location: 'x'\n  properties: {\n    securityRules: [\n      {\n        name: 'a'\n        properties: {\n          priority: 100\n          direction: 'Inbound'\n          acess: 'Allow'\n          protocol: 'Tcp'\n        }\n      }\n    ]\n  }\n}\nresource pe 'Microsoft.Network/privateEndpoints@2024-05-01' existing = {\n  name: 'pe'\n  resource group 'privateDnsZoneGroups' = {\n    name: 'default'\n    properties: {\n      privateDnsZoneConfigs: [\n        for (zone, i) in zones: {\n          name: 'zone-${i}'\n          properties: { privateDnsZoneIdd: zone }\n        }\n      ]\n    }\n  }\n}\n");
    let findings = types::check_file(&index, &f);
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(
        findings
            .iter()
            .any(|m| m.contains("securityRules[].properties.acess")),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|m| m.contains("privateDnsZoneConfigs[].properties.privateDnsZoneIdd")),
        "{findings:?}"
    );
}
