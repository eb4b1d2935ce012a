//! The deployment path's designs, accepted exactly and nothing looser: the opt-in public query access of
//! the logs, the deploying user's read-only roles, the Function App closed at rest (the deploy hooks open
//! its SCM site for one address only), the private-endpoint subnet's final Deny, an existing resource group
//! left untouched, and the private APIM gateway's endpoint and second pass.

use tree_sitter::Node;

use crate::bicep::{last_named_child, BicepFile, Resource};

/// The parameter that carries azd's principal id.
pub const DEPLOYER_PARAM: &str = "deployerPrincipalId";

/// Log Analytics Reader and Storage Blob Data Reader: the only roles the deploying user gets.
pub const LOG_ANALYTICS_READER: &str = "73c42c96-874c-492b-b04d-ab87d138a893";
pub const STORAGE_BLOB_DATA_READER: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";

/// (resource type, property path, bool parameter) of the documented opt-ins to a weaker setting.
const OPT_INS: &[(&str, &str, &str)] = &[
    (
        "microsoft.operationalinsights/workspaces",
        "properties.publicNetworkAccessForQuery",
        "publicQueryAccess",
    ),
    (
        "microsoft.insights/components",
        "properties.publicNetworkAccessForQuery",
        "publicQueryAccess",
    ),
];

/// The default value of a parameter as written (`false`, `''`), if it has one.
pub fn param_default(file: &BicepFile, name: &str) -> Option<String> {
    let decl = file
        .declarations("parameter_declaration")
        .into_iter()
        .find(|d| file.declared_name(*d).as_deref() == Some(name))?;
    let mut cursor = decl.walk();
    let children: Vec<Node> = decl.children(&mut cursor).collect();
    let eq = children.iter().position(|n| n.kind() == "=")?;
    children.get(eq + 1).map(|v| file.text(*v).to_string())
}

/// The declared type of a parameter (`bool`, `string`, ...).
pub fn param_type(file: &BicepFile, name: &str) -> Option<String> {
    let decl = file
        .declarations("parameter_declaration")
        .into_iter()
        .find(|d| file.declared_name(*d).as_deref() == Some(name))?;
    let mut cursor = decl.walk();
    let ty = decl
        .children(&mut cursor)
        .find(|n| n.kind() == "type")
        .map(|t| file.text(t).to_string());
    ty
}

/// `value` is exactly `<param> ? 'Enabled' : 'Disabled'` for the opt-in of this type and path, and the
/// parameter is a bool that defaults to false.
pub fn is_documented_opt_in(
    file: &BicepFile,
    resource_type: &str,
    path: &str,
    value: Node,
) -> bool {
    if resource_type.eq_ignore_ascii_case("Microsoft.Storage/storageAccounts")
        && path == "properties.publicNetworkAccess"
    {
        return crate::capture::is_storage_capture_opt_in(file, value);
    }
    let Some((_, _, param)) = OPT_INS
        .iter()
        .find(|(t, p, _)| t.eq_ignore_ascii_case(resource_type) && *p == path)
    else {
        return false;
    };
    if value.kind() != "ternary_expression" {
        return false;
    }
    let part = |field: &str| value.child_by_field_name(field);
    let condition = part("condition").map(|c| file.text(c).to_string());
    let yes = part("consequence").and_then(|n| file.literal(n));
    let no = part("alternative").and_then(|n| file.literal(n));
    condition.as_deref() == Some(param)
        && yes.as_deref() == Some("Enabled")
        && no.as_deref() == Some("Disabled")
        && param_type(file, param).as_deref() == Some("bool")
        && param_default(file, param).as_deref() == Some("false")
}

/// The role definition GUID of a role assignment: the literal (or a variable holding it) passed last to
/// `subscriptionResourceId(...)`.
pub fn role_guid(file: &BicepFile, ra: &Resource) -> Option<String> {
    let value = ra
        .body
        .and_then(|b| file.get_path(b, "properties.roleDefinitionId"))?;
    if value.kind() != "call_expression" {
        return file.literal(value);
    }
    let args = value.named_child(1)?;
    last_named_child(args).and_then(|a| file.literal(a))
}

/// The resource a `scope:` names: `symbol` or a nested accessor `a::b::c`.
fn scope_target<'r, 'a>(
    file: &BicepFile,
    ra: &Resource,
    resources: &'r [Resource<'a>],
) -> Option<&'r Resource<'a>> {
    let scope = ra.body.and_then(|b| file.get(b, "scope"))?;
    let text = file.text(scope);
    let last = text.rsplit("::").next()?;
    resources.iter().find(|r| r.symbol == last)
}

/// The deploying user's assignment: conditional on a non-empty `deployerPrincipalId` (default `''`),
/// `principalType: 'User'`, and either Storage Blob Data Reader on a blob container or Log Analytics
/// Reader on the workspace or the Application Insights component. Anything else is a finding.
pub fn check_deployer_assignment(
    file: &BicepFile,
    ra: &Resource,
    resources: &[Resource],
) -> Vec<String> {
    let mut findings = Vec::new();
    let name = &ra.symbol;
    let condition = format!("!empty({DEPLOYER_PARAM})");
    if !file
        .text(ra.node)
        .replace(' ', "")
        .contains(&format!("if({condition})"))
    {
        findings.push(file.at(
            ra.node,
            format!("{name}: a deployer assignment must be `if ({condition})`"),
        ));
    }
    if param_default(file, DEPLOYER_PARAM).as_deref() != Some("''") {
        findings.push(file.at(
            ra.node,
            format!("{name}: {DEPLOYER_PARAM} must default to ''"),
        ));
    }
    let principal_type = ra
        .body
        .and_then(|b| file.get_path(b, "properties.principalType"))
        .and_then(|t| file.literal(t));
    if principal_type.as_deref() != Some("User") {
        findings.push(file.at(
            ra.node,
            format!("{name}: the deployer is granted only as principalType 'User'"),
        ));
    }
    let target = scope_target(file, ra, resources);
    let target_type = target
        .map(|t| t.full_type.to_ascii_lowercase())
        .unwrap_or_default();
    let ok = match role_guid(file, ra).as_deref() {
        Some(STORAGE_BLOB_DATA_READER) => {
            target_type == "microsoft.storage/storageaccounts/blobservices/containers"
        }
        Some(LOG_ANALYTICS_READER) => matches!(
            target_type.as_str(),
            "microsoft.operationalinsights/workspaces" | "microsoft.insights/components"
        ),
        _ => false,
    };
    if !ok {
        findings.push(file.at(
            ra.node,
            format!(
                "{name}: the deployer may only get Storage Blob Data Reader on a container or Log Analytics Reader on the workspace / component (scope: {target_type})"
            ),
        ));
    }
    findings
}

/// Every deployer assignment in a file: (role GUID, scope type).
pub fn deployer_assignments(file: &BicepFile) -> Vec<(String, String)> {
    let resources = file.resources();
    resources
        .iter()
        .filter(|r| {
            r.full_type
                .eq_ignore_ascii_case("Microsoft.Authorization/roleAssignments")
        })
        .filter(|r| {
            r.body
                .and_then(|b| file.get_path(b, "properties.principalId"))
                .map(|p| file.text(p) == DEPLOYER_PARAM)
                .unwrap_or(false)
        })
        .map(|r| {
            (
                role_guid(file, r).unwrap_or_default(),
                scope_target(file, r, &resources)
                    .map(|t| t.full_type.clone())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// The Function App is closed at rest beyond `publicNetworkAccess: 'Disabled'`: both access-restriction
/// lists default to Deny, the SCM site keeps its own list, and no rule is declared in Bicep (the only
/// opening is the deploy hook's, for one address, for the deploy).
pub fn check_function_app_closed(file: &BicepFile) -> Vec<String> {
    let mut findings = Vec::new();
    for site in file
        .resources()
        .iter()
        .filter(|r| !r.existing && r.full_type.eq_ignore_ascii_case("Microsoft.Web/sites"))
    {
        let Some(body) = site.body else { continue };
        for (path, want) in [
            (
                "properties.siteConfig.ipSecurityRestrictionsDefaultAction",
                "Deny",
            ),
            (
                "properties.siteConfig.scmIpSecurityRestrictionsDefaultAction",
                "Deny",
            ),
            (
                "properties.siteConfig.scmIpSecurityRestrictionsUseMain",
                "false",
            ),
        ] {
            let got = file.get_path(body, path).and_then(|v| file.literal(v));
            if got.as_deref() != Some(want) {
                findings.push(file.at(
                    site.node,
                    format!("{}: {path} must be the literal {want}", site.symbol),
                ));
            }
        }
        for path in [
            "properties.siteConfig.ipSecurityRestrictions",
            "properties.siteConfig.scmIpSecurityRestrictions",
        ] {
            if file.get_path(body, path).is_some() {
                findings.push(file.at(
                    site.node,
                    format!("{}: {path} declares a standing opening; only the deploy hook may open, for the deploy", site.symbol),
                ));
            }
        }
    }
    findings
}

/// A security rule's literal fields.
struct Rule {
    name: String,
    access: String,
    direction: String,
    priority: i64,
    source: String,
    destination: String,
}

fn rules_of(file: &BicepFile, nsg: &Resource) -> Vec<Rule> {
    let Some(rules) = nsg
        .body
        .and_then(|b| file.get_path(b, "properties.securityRules"))
    else {
        return Vec::new();
    };
    let mut cursor = rules.walk();
    let items: Vec<Node> = rules
        .named_children(&mut cursor)
        .filter(|n| n.kind() == "object")
        .collect();
    items
        .into_iter()
        .map(|rule| {
            let lit = |path: &str| {
                file.get_path(rule, path)
                    .map(|v| file.literal(v).unwrap_or_else(|| file.text(v).to_string()))
                    .unwrap_or_default()
            };
            let source = match lit("properties.sourceAddressPrefix") {
                s if s.is_empty() => lit("properties.sourceAddressPrefixes"),
                s => s,
            };
            Rule {
                name: lit("name"),
                access: lit("properties.access"),
                direction: lit("properties.direction"),
                priority: lit("properties.priority").parse().unwrap_or(0),
                source,
                destination: lit("properties.destinationAddressPrefix"),
            }
        })
        .collect()
}

/// Every NSG of a subnet that hosts private endpoints ends its inbound rules with a Deny of everything,
/// after every Allow (the default AllowVnetInBound would otherwise admit the whole VNet), and the
/// `snet-private-endpoints` NSG allows no source as wide as `VirtualNetwork` or `*`.
pub fn check_private_endpoint_nsgs(file: &BicepFile) -> Vec<String> {
    let resources = file.resources();
    let mut findings = Vec::new();
    for subnet in file.all_nodes("object") {
        let Some(props) = file.get(subnet, "properties") else {
            continue;
        };
        if file.get(props, "privateEndpointNetworkPolicies").is_none() {
            continue;
        }
        let subnet_name = file
            .get(subnet, "name")
            .and_then(|n| file.literal(n))
            .unwrap_or_default();
        let Some(nsg_ref) = file.get_path(props, "networkSecurityGroup.id") else {
            findings.push(file.at(
                subnet,
                format!("subnet {subnet_name} hosts private endpoints without an NSG"),
            ));
            continue;
        };
        let symbol = file.text(nsg_ref).trim_end_matches(".id").to_string();
        let Some(nsg) = resources.iter().find(|r| r.symbol == symbol) else {
            continue;
        };
        let inbound: Vec<Rule> = rules_of(file, nsg)
            .into_iter()
            .filter(|r| r.direction == "Inbound")
            .collect();
        let last_allow = inbound
            .iter()
            .filter(|r| r.access == "Allow")
            .map(|r| r.priority)
            .max()
            .unwrap_or(0);
        let deny_all = inbound.iter().any(|r| {
            r.access == "Deny" && r.source == "*" && r.destination == "*" && r.priority > last_allow
        });
        if !deny_all {
            findings.push(file.at(
                nsg.node,
                format!(
                    "{} (subnet {subnet_name}) has no inbound Deny of * after its Allow rules",
                    nsg.symbol
                ),
            ));
        }
        if subnet_name == "snet-private-endpoints" {
            for rule in inbound.iter().filter(|r| r.access == "Allow") {
                if rule.source == "*" || rule.source.eq_ignore_ascii_case("VirtualNetwork") {
                    findings.push(file.at(
                        nsg.node,
                        format!("{}: {} admits {}", nsg.symbol, rule.name, rule.source),
                    ));
                }
            }
        }
    }
    findings
}

/// The resource group is created only when no existing one is named, and modules are scoped by name, so
/// an existing group (and its tags) is never redeployed.
pub fn check_existing_resource_group(main: &BicepFile) -> Vec<String> {
    let mut findings = Vec::new();
    for rg in main.resources().iter().filter(|r| {
        r.full_type
            .eq_ignore_ascii_case("Microsoft.Resources/resourceGroups")
            && !r.existing
    }) {
        if !main
            .text(rg.node)
            .replace(' ', "")
            .contains("if(empty(resourceGroupName))")
        {
            findings.push(main.at(rg.node, "the resource group must be `if (empty(resourceGroupName))`: an existing group's tags would be replaced"));
        }
    }
    findings
}
