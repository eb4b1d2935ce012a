//! Event Hubs Capture, accepted in exactly one form: off by default (`captureEnabled`, a bool defaulting to
//! false), Avro to a private container with the documented name format, written with the namespace's
//! system-assigned identity holding Storage Blob Data Contributor on that container only; and the storage
//! account's network exception for it: public access `Disabled` without Capture, and with Capture only
//! `Enabled` + default action `Deny` + the trusted-service bypass, with no IP, VNet or resource rule.

use tree_sitter::Node;

use crate::bicep::{BicepFile, Resource};
use crate::deploy::{param_default, param_type, role_guid};

/// The bool parameter that turns Capture on.
pub const CAPTURE_PARAM: &str = "captureEnabled";

/// The archive name format the Event Hubs Capture overview documents.
pub const ARCHIVE_NAME_FORMAT: &str =
    "{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}";

/// Storage Blob Data Contributor: the role the Capture docs require on the destination.
pub const STORAGE_BLOB_DATA_CONTRIBUTOR: &str = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

/// Network rule lists that would admit a network besides the trusted-service exception.
const OPENINGS: &[&str] = &["ipRules", "virtualNetworkRules", "resourceAccessRules"];

fn param_is_off_by_default(file: &BicepFile) -> bool {
    param_type(file, CAPTURE_PARAM).as_deref() == Some("bool")
        && param_default(file, CAPTURE_PARAM).as_deref() == Some("false")
}

/// `node` is exactly `captureEnabled ? '<yes>' : '<no>'` and the parameter is off by default.
pub fn is_capture_ternary(file: &BicepFile, node: Node, yes: &str, no: &str) -> bool {
    if node.kind() != "ternary_expression" {
        return false;
    }
    let part = |field: &str| node.child_by_field_name(field);
    part("condition").map(|c| file.text(c)) == Some(CAPTURE_PARAM)
        && part("consequence").and_then(|n| file.literal(n)).as_deref() == Some(yes)
        && part("alternative").and_then(|n| file.literal(n)).as_deref() == Some(no)
        && param_is_off_by_default(file)
}

/// Every storage account: default action `Deny`; no IP, VNet or resource-instance rule; and either public
/// access `Disabled` with bypass `None`, or both switched by `captureEnabled` to `Enabled` /
/// `AzureServices`, which is the one form the trusted-service exception for Capture needs.
pub fn check_storage_network(file: &BicepFile) -> Vec<String> {
    let mut findings = Vec::new();
    for r in file.resources().iter().filter(|r| {
        !r.existing
            && r.full_type
                .eq_ignore_ascii_case("Microsoft.Storage/storageAccounts")
    }) {
        let Some(props) = r.body.and_then(|b| file.get(b, "properties")) else {
            continue;
        };
        findings.extend(storage_account_findings(file, r, props));
    }
    findings
}

fn storage_account_findings(file: &BicepFile, r: &Resource, props: Node) -> Vec<String> {
    network_problems(file, props)
        .into_iter()
        .map(|m| file.at(r.node, format!("{}: {m}", r.symbol)))
        .collect()
}

/// What is wrong with a storage account's `properties` network settings (empty: one accepted form).
fn network_problems(file: &BicepFile, props: Node) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(acls) = file.get(props, "networkAcls") else {
        return vec!["properties.networkAcls must be set (default action Deny)".into()];
    };
    if file
        .get(acls, "defaultAction")
        .and_then(|v| file.literal(v))
        .as_deref()
        != Some("Deny")
    {
        problems.push("networkAcls.defaultAction must be the literal Deny".into());
    }
    for key in OPENINGS {
        if file.get(acls, key).is_some() {
            problems.push(format!(
                "networkAcls.{key} admits a network; only the Capture trusted-service bypass is accepted"
            ));
        }
    }
    let public = file.get(props, "publicNetworkAccess");
    let bypass = file.get(acls, "bypass");
    let closed = public.and_then(|v| file.literal(v)).as_deref() == Some("Disabled")
        && bypass.and_then(|v| file.literal(v)).as_deref() == Some("None");
    let capture_form = public.is_some_and(|v| is_capture_ternary(file, v, "Enabled", "Disabled"))
        && bypass.is_some_and(|v| is_capture_ternary(file, v, "AzureServices", "None"));
    if !closed && !capture_form {
        problems.push(format!(
            "public access must be 'Disabled' with bypass 'None', or exactly `{CAPTURE_PARAM} ? 'Enabled' : 'Disabled'` with bypass `{CAPTURE_PARAM} ? 'AzureServices' : 'None'` ({CAPTURE_PARAM} a bool defaulting to false)"
        ));
    }
    problems
}

/// `value` (a storage account's `publicNetworkAccess`) is the Capture opt-in and the account's whole
/// network configuration is the one accepted form.
pub fn is_storage_capture_opt_in(file: &BicepFile, value: Node) -> bool {
    let props = value.parent().and_then(|p| p.parent());
    is_capture_ternary(file, value, "Enabled", "Disabled")
        && props.is_some_and(|p| network_problems(file, p).is_empty())
}

/// The Capture configuration of every event hub that declares one (see the module doc).
pub fn check_capture(file: &BicepFile) -> Vec<String> {
    let resources = file.resources();
    let mut findings = Vec::new();
    for hub in resources.iter().filter(|r| {
        r.full_type
            .eq_ignore_ascii_case("Microsoft.EventHub/namespaces/eventhubs")
    }) {
        let Some(capture) = hub
            .body
            .and_then(|b| file.get_path(b, "properties.captureDescription"))
        else {
            continue;
        };
        findings.extend(capture_findings(file, hub, capture, &resources));
    }
    findings
}

fn capture_findings(
    file: &BicepFile,
    hub: &Resource,
    capture: Node,
    resources: &[Resource],
) -> Vec<String> {
    let mut findings = Vec::new();
    let mut say = |m: String| findings.push(file.at(hub.node, format!("{}: {m}", hub.symbol)));
    let part = |field: &str| capture.child_by_field_name(field);
    let on = (capture.kind() == "ternary_expression"
        && part("condition").map(|c| file.text(c)) == Some(CAPTURE_PARAM)
        && part("alternative").map(|n| n.kind()) == Some("null")
        && param_is_off_by_default(file))
    .then(|| part("consequence"))
    .flatten();
    let Some(on) = on else {
        say(format!("captureDescription must be `{CAPTURE_PARAM} ? {{...}} : null` with {CAPTURE_PARAM} a bool defaulting to false"));
        return findings;
    };
    let lit = |path: &str| file.get_path(on, path).and_then(|v| file.literal(v));
    for (path, want) in [
        ("enabled", "true"),
        ("encoding", "Avro"),
        ("destination.name", "EventHubArchive.AzureBlockBlob"),
        ("destination.identity.type", "SystemAssigned"),
        (
            "destination.properties.archiveNameFormat",
            ARCHIVE_NAME_FORMAT,
        ),
    ] {
        if lit(path).as_deref() != Some(want) {
            say(format!("captureDescription.{path} must be {want:?}"));
        }
    }
    if !matches!(lit("skipEmptyArchives").as_deref(), Some("true" | "false")) {
        say(
            "captureDescription.skipEmptyArchives must be decided (a literal true or false)".into(),
        );
    }
    if !namespace_is_system_assigned(file, hub, resources) {
        say("the namespace must have a SystemAssigned identity for Capture to write with".into());
    }
    if !has_capture_writer(file, resources) {
        say(format!("the namespace identity needs Storage Blob Data Contributor on the Capture container only, `if ({CAPTURE_PARAM})`"));
    }
    findings
}

fn namespace_is_system_assigned(file: &BicepFile, hub: &Resource, resources: &[Resource]) -> bool {
    resources.iter().any(|r| {
        r.full_type
            .eq_ignore_ascii_case("Microsoft.EventHub/namespaces")
            && crate::bicep::belongs_to(file, hub, r)
            && r.body
                .and_then(|b| file.get_path(b, "identity.type"))
                .and_then(|t| file.literal(t))
                .as_deref()
                == Some("SystemAssigned")
    })
}

/// A role assignment `if (captureEnabled)` of Storage Blob Data Contributor to `<namespace>.identity.principalId`,
/// scoped to a blob container.
fn has_capture_writer(file: &BicepFile, resources: &[Resource]) -> bool {
    resources.iter().any(|ra| {
        let is_ra = ra
            .full_type
            .eq_ignore_ascii_case("Microsoft.Authorization/roleAssignments");
        let conditional = file
            .text(ra.node)
            .replace(' ', "")
            .contains(&format!("=if({CAPTURE_PARAM})"));
        let principal = ra
            .body
            .and_then(|b| file.get_path(b, "properties.principalId"))
            .map(|p| file.text(p).ends_with(".identity.principalId"))
            .unwrap_or(false);
        let scope_is_container = ra
            .body
            .and_then(|b| file.get(b, "scope"))
            .and_then(|s| resources.iter().find(|r| r.symbol == file.text(s)))
            .map(|t| {
                t.full_type.eq_ignore_ascii_case(
                    "Microsoft.Storage/storageAccounts/blobServices/containers",
                )
            })
            .unwrap_or(false);
        is_ra
            && conditional
            && principal
            && scope_is_container
            && role_guid(file, ra).as_deref() == Some(STORAGE_BLOB_DATA_CONTRIBUTOR)
    })
}
