//! The deployment path's designs (infra-check accepts these and nothing looser): public query access as a
//! documented opt-in, the deploying user's read-only roles, the Function App closed at rest, the private
//! endpoints' final Deny, an existing resource group left alone, the private gateway, and the defaults.

use infra_check::bicep::{self, BicepFile};
use infra_check::deploy;
use infra_check::repo_root;

fn file(rel: &str) -> BicepFile {
    BicepFile::load(&repo_root().join(rel)).expect("file loads")
}

fn snippet(src: &str) -> BicepFile {
    let f = BicepFile::snippet("snippet.bicep", src).expect("parser runs");
    assert!(f.syntax_errors().is_empty(), "{:?}", f.syntax_errors());
    f
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).expect("readable")
}

const WORKSPACE: &str = "resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {\n  name: 'log'\n  properties: {\n    publicNetworkAccessForIngestion: 'Disabled'\n    publicNetworkAccessForQuery: QUERY\n    features: { disableLocalAuth: true }\n  }\n}\n";

#[test]
fn public_query_access_is_accepted_only_as_the_opt_in_parameter_defaulting_to_false() {
    let good = snippet(&format!(
        "param publicQueryAccess bool = false\n{}",
        WORKSPACE.replace("QUERY", "publicQueryAccess ? 'Enabled' : 'Disabled'")
    ));
    assert!(
        bicep::check_data_plane(&good).is_empty(),
        "{:?}",
        bicep::check_data_plane(&good)
    );
    for bad in [
        "param publicQueryAccess bool = true\n@@".replace(
            "@@",
            &WORKSPACE.replace("QUERY", "publicQueryAccess ? 'Enabled' : 'Disabled'"),
        ),
        "param open bool = false\n@@".replace(
            "@@",
            &WORKSPACE.replace("QUERY", "open ? 'Enabled' : 'Disabled'"),
        ),
        "param publicQueryAccess bool = false\n@@"
            .replace("@@", &WORKSPACE.replace("QUERY", "'Enabled'")),
    ] {
        assert_eq!(bicep::check_data_plane(&snippet(&bad)).len(), 1, "{bad}");
    }
    // Ingestion has no opt-in.
    let ingestion = snippet(&format!(
        "param publicQueryAccess bool = false\n{}",
        WORKSPACE.replace("QUERY", "'Disabled'").replace(
            "publicNetworkAccessForIngestion: 'Disabled'",
            "publicNetworkAccessForIngestion: publicQueryAccess ? 'Enabled' : 'Disabled'"
        )
    ));
    assert_eq!(bicep::check_data_plane(&ingestion).len(), 1);
}

#[test]
fn the_deploying_user_gets_exactly_the_ledger_reader_and_log_readers() {
    let mut all = Vec::new();
    for rel in [
        "infra/modules/storage.bicep",
        "infra/modules/monitoring.bicep",
    ] {
        all.extend(deploy::deployer_assignments(&file(rel)));
    }
    all.sort();
    let mut want = vec![
        (
            deploy::STORAGE_BLOB_DATA_READER,
            "Microsoft.Storage/storageAccounts/blobServices/containers",
        ),
        (
            deploy::LOG_ANALYTICS_READER,
            "Microsoft.Insights/components",
        ),
        (
            deploy::LOG_ANALYTICS_READER,
            "Microsoft.OperationalInsights/workspaces",
        ),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect::<Vec<_>>();
    want.sort();
    assert_eq!(
        all, want,
        "exactly one container-scoped ledger reader and the two log readers"
    );
    let main = file("infra/main.bicep");
    assert!(main
        .src
        .contains("deployerPrincipalType == 'User' ? deployerPrincipalId : ''"));
    let params = read("infra/main.parameters.json");
    assert!(params.contains("\"${AZURE_PRINCIPAL_ID=}\""));
}

fn deployer_snippet(principal_type: &str, role: &str, scope: &str) -> String {
    format!(
        "param deployerPrincipalId string = ''\nresource st 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {{\n  name: 'st'\n  resource blob 'blobServices' existing = {{\n    name: 'default'\n    resource ledger 'containers' existing = {{\n      name: 'ledger'\n    }}\n  }}\n}}\n// The operator reads the ledger.\nresource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {{\n  name: 'x'\n  scope: {scope}\n  properties: {{\n    principalId: deployerPrincipalId\n    principalType: '{principal_type}'\n    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{role}')\n  }}\n}}\n"
    )
}

#[test]
fn a_deployer_assignment_that_writes_is_account_wide_or_not_a_user_is_rejected() {
    let good = snippet(&deployer_snippet(
        "User",
        deploy::STORAGE_BLOB_DATA_READER,
        "st::blob::ledger",
    ));
    assert!(
        bicep::check_role_assignments(&good).is_empty(),
        "{:?}",
        bicep::check_role_assignments(&good)
    );
    // Storage Blob Data Contributor: writes.
    let writes = snippet(&deployer_snippet(
        "User",
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        "st::blob::ledger",
    ));
    assert_eq!(bicep::check_role_assignments(&writes).len(), 1);
    let account_wide = snippet(&deployer_snippet(
        "User",
        deploy::STORAGE_BLOB_DATA_READER,
        "st",
    ));
    assert_eq!(bicep::check_role_assignments(&account_wide).len(), 1);
    let service_principal = snippet(&deployer_snippet(
        "ServicePrincipal",
        deploy::STORAGE_BLOB_DATA_READER,
        "st::blob::ledger",
    ));
    assert_eq!(bicep::check_role_assignments(&service_principal).len(), 1);
    let unconditional = snippet(
        &deployer_snippet("User", deploy::STORAGE_BLOB_DATA_READER, "st::blob::ledger")
            .replace(" = if (!empty(deployerPrincipalId)) {", " = {"),
    );
    assert_eq!(bicep::check_role_assignments(&unconditional).len(), 1);
    // Any other parameter is still refused outright.
    let other = snippet(
        &deployer_snippet("User", deploy::STORAGE_BLOB_DATA_READER, "st::blob::ledger")
            .replace("principalId: deployerPrincipalId", "principalId: someone")
            .replace(
                "param deployerPrincipalId string = ''",
                "param deployerPrincipalId string = ''\nparam someone string",
            ),
    );
    assert!(bicep::check_role_assignments(&other)
        .iter()
        .any(|m| m.contains("a parameter")));
}

#[test]
fn the_function_app_is_closed_at_rest_beyond_public_network_access() {
    let func = file("infra/modules/function-app.bicep");
    let findings = deploy::check_function_app_closed(&func);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn a_function_app_with_a_standing_opening_or_an_allow_default_is_rejected() {
    let site = |config: &str| {
        snippet(&format!(
            "resource site 'Microsoft.Web/sites@2024-04-01' = {{\n  name: 'f'\n  properties: {{\n    publicNetworkAccess: 'Disabled'\n    siteConfig: {{\n{config}\n    }}\n  }}\n}}\n"
        ))
    };
    let closed = "      ipSecurityRestrictionsDefaultAction: 'Deny'\n      scmIpSecurityRestrictionsDefaultAction: 'Deny'\n      scmIpSecurityRestrictionsUseMain: false";
    assert!(deploy::check_function_app_closed(&site(closed)).is_empty());
    let allow = closed.replace(
        "scmIpSecurityRestrictionsDefaultAction: 'Deny'",
        "scmIpSecurityRestrictionsDefaultAction: 'Allow'",
    );
    assert_eq!(deploy::check_function_app_closed(&site(&allow)).len(), 1);
    let standing = format!("{closed}\n      scmIpSecurityRestrictions: [\n        {{ ipAddress: '203.0.113.7/32', action: 'Allow', priority: 100, name: 'me' }}\n      ]");
    assert_eq!(deploy::check_function_app_closed(&site(&standing)).len(), 1);
}

#[test]
fn the_private_endpoint_subnets_end_with_a_deny_of_everything() {
    let network = file("infra/modules/network.bicep");
    let findings = deploy::check_private_endpoint_nsgs(&network);
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(
        network
            .src
            .matches("privateEndpointNetworkPolicies")
            .count()
            >= 2
    );
}

#[test]
fn a_private_endpoint_nsg_without_a_deny_or_open_to_the_vnet_is_rejected() {
    let nsg = |rules: &str| {
        snippet(&format!(
            "resource pe 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {{\n  name: 'nsg'\n  properties: {{\n    securityRules: [\n{rules}\n    ]\n  }}\n}}\nresource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {{\n  name: 'v'\n  properties: {{\n    subnets: [\n      {{\n        name: 'snet-private-endpoints'\n        properties: {{\n          addressPrefix: '10.0.2.0/24'\n          networkSecurityGroup: {{ id: pe.id }}\n          privateEndpointNetworkPolicies: 'Enabled'\n        }}\n      }}\n    ]\n  }}\n}}\n"
        ))
    };
    let allow = |source: &str| {
        format!("      {{\n        name: 'AllowApim'\n        properties: {{ priority: 100, direction: 'Inbound', access: 'Allow', sourceAddressPrefix: '{source}', destinationAddressPrefix: '10.0.2.0/24' }}\n      }}")
    };
    let deny = "      {\n        name: 'DenyAll'\n        properties: { priority: 4096, direction: 'Inbound', access: 'Deny', sourceAddressPrefix: '*', destinationAddressPrefix: '*' }\n      }";
    assert!(deploy::check_private_endpoint_nsgs(&nsg(&format!(
        "{}\n{deny}",
        allow("10.0.1.0/24")
    )))
    .is_empty());
    // Today's rule set: allows only, no deny (the default AllowVnetInBound lets the whole VNet in).
    assert_eq!(
        deploy::check_private_endpoint_nsgs(&nsg(&allow("10.0.1.0/24"))).len(),
        1
    );
    assert_eq!(
        deploy::check_private_endpoint_nsgs(&nsg(&format!("{}\n{deny}", allow("VirtualNetwork"))))
            .len(),
        1
    );
    let early_deny = deny.replace("4096", "50");
    assert_eq!(
        deploy::check_private_endpoint_nsgs(&nsg(&format!(
            "{}\n{early_deny}",
            allow("10.0.1.0/24")
        )))
        .len(),
        1
    );
}

#[test]
fn an_existing_resource_group_is_referenced_not_redeployed() {
    assert!(deploy::check_existing_resource_group(&file("infra/main.bicep")).is_empty());
    let today = snippet("targetScope = 'subscription'\nparam resourceGroupName string = ''\nresource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {\n  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-x'\n  location: 'x'\n  tags: { a: 'b' }\n}\n");
    assert_eq!(deploy::check_existing_resource_group(&today).len(), 1);
}

#[test]
fn the_private_gateway_gets_an_endpoint_then_a_second_pass_with_public_access_off() {
    let apim = file("infra/modules/apim.bicep");
    let src = apim.src.replace(' ', "");
    assert!(src.contains("modulegatewayEndpoint'private-endpoint.bicep'=if(privateGateway)"));
    assert!(src.contains("groupId:'Gateway'"));
    assert!(src.contains("modulepublicAccessOff'apim-public-access.bicep'=if(privateGateway)"));
    let second = src[src.find("modulepublicAccessOff").unwrap()..].to_string();
    assert!(
        second.contains("dependsOn:[\ngatewayEndpoint"),
        "the second pass must wait for the endpoint"
    );
    // The first pass never creates the service with public access disabled.
    assert!(src.contains("publicNetworkAccess:privateGateway&&gatewayLocked?'Disabled':'Enabled'"));
    let pass2 = file("infra/modules/apim-public-access.bicep");
    assert_eq!(
        bicep::resource_property_values(
            &pass2,
            "Microsoft.ApiManagement/service",
            "properties.publicNetworkAccess"
        ),
        vec!["Disabled".to_string()]
    );
    assert_eq!(
        bicep::resource_property_values(&pass2, "Microsoft.ApiManagement/service", "identity.type"),
        vec!["SystemAssigned".to_string()],
        "a full PUT without the identity would drop it"
    );
    let network = read("infra/modules/network.bicep");
    assert!(network.contains("name: 'privatelink.azure-api.net'"));
}

#[test]
fn the_new_options_default_to_the_closed_and_cheapest_setting() {
    let main = file("infra/main.bicep");
    for (param, default) in [
        ("apimPrivateGateway", "false"),
        ("apimGatewayLocked", "false"),
        ("deployFromVnet", "false"),
        ("publicQueryAccess", "false"),
        ("deployerPrincipalId", "''"),
        ("apimSku", "'StandardV2'"),
        ("priceSheetFile", "'azure-openai-usd.json'"),
    ] {
        assert_eq!(
            deploy::param_default(&main, param).as_deref(),
            Some(default),
            "{param}"
        );
    }
    let params: serde_json::Value =
        serde_json::from_str(&read("infra/main.parameters.json")).unwrap();
    for (param, value) in [
        ("apimPrivateGateway", "${APIM_PRIVATE_GATEWAY=false}"),
        ("deployFromVnet", "${DEPLOY_FROM_VNET=false}"),
        ("publicQueryAccess", "${MONITOR_PUBLIC_QUERY_ACCESS=false}"),
        (
            "priceSheetFile",
            "${CHARGEBACK_PRICE_SHEET_FILE=azure-openai-usd.json}",
        ),
    ] {
        assert_eq!(params["parameters"][param]["value"], value, "{param}");
    }
    // Elastic Premium and PremiumV2 are gone (see the README for why).
    assert!(!main.src.contains("ElasticPremium") && !main.src.contains("PremiumV2'"));
}

#[test]
fn every_parameter_of_main_is_in_main_parameters_json_with_an_azd_env_name() {
    let main = file("infra/main.bicep");
    let params: serde_json::Value =
        serde_json::from_str(&read("infra/main.parameters.json")).unwrap();
    for name in main.parameters().keys() {
        let value = params["parameters"][name]["value"].as_str().unwrap_or("");
        assert!(
            value.starts_with("${") && value.ends_with('}'),
            "{name} has no azd env mapping: {value:?}"
        );
    }
}

/// The README's deploy section, between its markers.
fn readme_deploy_section() -> String {
    let readme = read("README.md");
    let start = readme
        .find("<!-- deploy:start -->")
        .expect("deploy:start marker");
    let end = readme
        .find("<!-- deploy:end -->")
        .expect("deploy:end marker");
    readme[start..end].to_string()
}

#[test]
fn the_readme_states_what_azd_needs_before_and_does_during_up() {
    let section = readme_deploy_section();
    for fact in [
        // azd refuses language: custom without the alpha feature, before any hook.
        "azd config set alpha.language.custom on",
        "./infra/hooks/preflight.sh",
        // Flex Consumption's VNet integration needs Microsoft.App.
        "**`Microsoft.App` included**",
        // package (the Rust build) runs before or alongside provision, deploy after both.
        "the Rust build starts before or alongside the provisioning",
        // an existing group is referenced, its tags kept.
        "its tags and everything else about it stay as they",
        // v2 tiers take no cipher settings.
        "cipher settings are not supported on v2 tiers",
        "DEPLOY_FROM_VNET",
        "./infra/hooks/scm-access.sh close",
        "chargeback report",
        "kusto/cost-per-consumer-per-month.kql",
        "azd down --purge",
        "### What it costs per month at the defaults",
        "as of 2026-12-01",
        "**How long:**",
        "The policy C# is not executed here",
    ] {
        assert!(
            section.contains(fact),
            "the README deploy section does not say: {fact}"
        );
    }
}

#[test]
fn the_readme_options_table_and_main_parameters_json_name_the_same_azd_variables() {
    let section = readme_deploy_section();
    let params: serde_json::Value =
        serde_json::from_str(&read("infra/main.parameters.json")).unwrap();
    let main = file("infra/main.bicep");
    for (name, value) in params["parameters"].as_object().unwrap() {
        let value = value["value"].as_str().unwrap_or("");
        let var = value
            .trim_start_matches("${")
            .split(['=', '}'])
            .next()
            .unwrap_or("");
        if matches!(var, "AZURE_ENV_NAME" | "AZURE_LOCATION") {
            continue;
        }
        assert!(
            section.contains(&format!("`{var}`")) && section.contains(&format!("`{name}`")),
            "the README options table lacks {var} / {name}"
        );
        assert!(
            main.parameters().contains_key(name),
            "{name} is not a parameter of main.bicep"
        );
    }
}
