//! Event Hubs Capture and budget alerts (issues 15 and 14): both off by default; Capture only with the exact
//! storage exception form; the alert query is the kusto file; the action group e-mails the parameter; no
//! secret in the KQL. Each check also meets a broken variant, so a check that always passes is caught.

use infra_check::bicep::{self, BicepFile};
use infra_check::{alerts, capture, deploy, repo_root};

fn file(rel: &str) -> BicepFile {
    BicepFile::load(&repo_root().join(rel)).expect("file loads")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).expect("readable")
}

/// A snippet parsed as if it lived at `rel` (so relative loadTextContent paths resolve as there).
fn snippet_at(rel: &str, src: &str) -> BicepFile {
    let f = BicepFile::parse(&repo_root().join(rel), rel, src.to_string()).expect("parser runs");
    assert!(f.syntax_errors().is_empty(), "{:?}", f.syntax_errors());
    f
}

#[test]
fn capture_and_budget_alerts_are_off_by_default_and_mapped_to_azd_variables() {
    let main = file("infra/main.bicep");
    for (param, default) in [
        ("captureEnabled", "false"),
        ("budgets", "[]"),
        ("alertEmail", "''"),
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
        ("captureEnabled", "${EVENTHUB_CAPTURE_ENABLED=false}"),
        ("budgets", "${CHARGEBACK_BUDGETS}"),
        ("alertEmail", "${CHARGEBACK_ALERT_EMAIL=}"),
    ] {
        assert_eq!(params["parameters"][param]["value"], value, "{param}");
    }
    for rel in [
        "infra/modules/storage.bicep",
        "infra/modules/eventhub.bicep",
    ] {
        assert_eq!(
            deploy::param_default(&file(rel), "captureEnabled").as_deref(),
            Some("false"),
            "{rel}"
        );
    }
}

#[test]
fn the_storage_account_is_closed_or_in_the_one_capture_exception_form() {
    let storage = file("infra/modules/storage.bicep");
    let findings = capture::check_storage_network(&storage);
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(bicep::check_data_plane(&storage).is_empty());
}

const ACCOUNT: &str = "param captureEnabled bool = false\nresource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'st'\n  properties: {\n    allowSharedKeyAccess: false\n    allowBlobPublicAccess: false\n    minimumTlsVersion: 'TLS1_2'\n    publicNetworkAccess: PUBLIC\n    networkAcls: {\n      bypass: BYPASS\n      defaultAction: 'Deny'EXTRA\n    }\n  }\n}\n";

fn account(public: &str, bypass: &str, extra: &str) -> BicepFile {
    snippet_at(
        "infra/modules/snippet.bicep",
        &ACCOUNT
            .replace("PUBLIC", public)
            .replace("BYPASS", bypass)
            .replace("EXTRA", extra),
    )
}

#[test]
fn a_storage_opening_other_than_the_capture_exception_is_rejected() {
    let capture_public = "captureEnabled ? 'Enabled' : 'Disabled'";
    let capture_bypass = "captureEnabled ? 'AzureServices' : 'None'";
    // The two accepted forms.
    for good in [
        account("'Disabled'", "'None'", ""),
        account(capture_public, capture_bypass, ""),
    ] {
        assert!(
            capture::check_storage_network(&good).is_empty(),
            "{}",
            good.src
        );
        assert!(
            bicep::check_data_plane(&good).is_empty(),
            "{:?}",
            bicep::check_data_plane(&good)
        );
    }
    // Public access switched by Capture but without the bypass, or the bypass always on, or always open.
    for (public, bypass) in [
        (capture_public, "'None'"),
        ("'Disabled'", "'AzureServices'"),
        ("'Disabled'", capture_bypass),
        ("'Enabled'", "'AzureServices'"),
        ("captureEnabled ? 'Enabled' : 'Enabled'", capture_bypass),
    ] {
        let bad = account(public, bypass, "");
        assert_eq!(
            capture::check_storage_network(&bad).len(),
            1,
            "{public} / {bypass}"
        );
    }
    // The capture form plus any IP, VNet or resource-instance rule.
    for extra in [
        "\n      ipRules: [\n        { value: '203.0.113.7' }\n      ]",
        "\n      virtualNetworkRules: []",
        "\n      resourceAccessRules: [\n        { tenantId: tenant().tenantId, resourceId: 'x' }\n      ]",
    ] {
        let bad = account(capture_public, capture_bypass, extra);
        assert_eq!(capture::check_storage_network(&bad).len(), 1, "{extra}");
        // ... and the data-plane rule no longer accepts the opt-in either.
        assert_eq!(bicep::check_data_plane(&bad).len(), 1, "{extra}");
    }
    // The parameter must default to false.
    let on_by_default = snippet_at(
        "infra/modules/snippet.bicep",
        &ACCOUNT
            .replace(
                "param captureEnabled bool = false",
                "param captureEnabled bool = true",
            )
            .replace("PUBLIC", capture_public)
            .replace("BYPASS", capture_bypass)
            .replace("EXTRA", ""),
    );
    assert_eq!(capture::check_storage_network(&on_by_default).len(), 1);
}

#[test]
fn capture_writes_avro_in_the_documented_name_format_with_the_namespace_identity() {
    let eventhub = file("infra/modules/eventhub.bicep");
    let findings = capture::check_capture(&eventhub);
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(eventhub.src.contains("captureDescription: captureEnabled"));
    assert!(bicep::check_role_assignments(&eventhub).is_empty());
}

#[test]
fn a_capture_with_another_format_identity_or_role_is_rejected() {
    let good = read("infra/modules/eventhub.bicep");
    for (from, to) in [
        ("encoding: 'Avro'", "encoding: 'AvroDeflate'"),
        ("{Minute}/{Second}'", "{Minute}'"),
        (
            "              identity: {\n                type: 'SystemAssigned'",
            "              identity: {\n                type: 'UserAssigned'",
        ),
        ("skipEmptyArchives: true", "skipEmptyArchives: captureEnabled"),
        (": null\n    }", ": {}\n    }"),
        (
            "var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'",
            "var storageBlobDataContributor = '17d1049b-9a84-46fb-8f53-869881c3d3ab'",
        ),
        ("scope: captureContainer", "scope: storageAccount"),
        (
            "captureWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (captureEnabled) {",
            "captureWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {",
        ),
        ("param captureEnabled bool = false", "param captureEnabled bool = true"),
    ] {
        assert!(good.contains(from), "the module no longer contains {from:?}");
        let bad = snippet_at("infra/modules/eventhub.bicep", &good.replace(from, to));
        assert!(
            !capture::check_capture(&bad).is_empty(),
            "{from:?} -> {to:?} was accepted"
        );
    }
}

#[test]
fn budget_alerts_exist_only_with_budgets_and_an_email() {
    let findings = alerts::check_budget_module_condition(&file("infra/main.bicep"));
    assert!(findings.is_empty(), "{findings:#?}");
    let src = read("infra/main.bicep");
    for (from, to) in [
        (
            "= if (!empty(budgets) && !empty(alertEmail)) {",
            "= if (!empty(budgets)) {",
        ),
        (
            "param alertEmail string = ''",
            "param alertEmail string = 'ops@contoso.com'",
        ),
        (
            "param budgets array = []",
            "param budgets array = [\n  {}\n]",
        ),
    ] {
        assert!(src.contains(from), "main.bicep no longer contains {from:?}");
        let bad = snippet_at("infra/main.bicep", &src.replace(from, to));
        assert_eq!(
            alerts::check_budget_module_condition(&bad).len(),
            1,
            "{from:?} -> {to:?}"
        );
    }
}

#[test]
fn every_budget_rule_runs_the_kusto_file_and_mails_the_alert_email_parameter() {
    let module = file("infra/modules/budget-alerts.bicep");
    let findings = alerts::check_budget_alerts(&module, &repo_root());
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(bicep::check_role_assignments(&module).is_empty());
    assert!(bicep::check_no_secrets(&module).is_empty());
}

#[test]
fn a_rule_with_an_inline_query_a_missed_placeholder_or_another_receiver_is_rejected() {
    let good = read("infra/modules/budget-alerts.bicep");
    let rel = "infra/modules/budget-alerts.bicep";
    for (from, to) in [
        // An inline query instead of the file.
        (
            "var budgetQuery = loadTextContent('../../kusto/budget-cost-per-consumer-this-month.kql')",
            "var budgetQuery = 'customEvents | take 1'",
        ),
        // Another kusto file.
        (
            "../../kusto/budget-cost-per-consumer-this-month.kql",
            "../../kusto/cost-per-consumer-per-month.kql",
        ),
        // A placeholder left unfilled.
        ("'{{thresholdPercent}}',\n", "'{{threshold}}',\n"),
        // The e-mail hard-coded, or a webhook added.
        ("emailAddress: alertEmail", "emailAddress: 'ops@contoso.com'"),
        (
            "    emailReceivers: [",
            "    webhookReceivers: [\n      {\n        name: 'hook'\n        serviceUri: 'https://example.com'\n      }\n    ]\n    emailReceivers: [",
        ),
        // No action group.
        ("          actionGroup.id\n", ""),
    ] {
        assert!(good.contains(from), "the module no longer contains {from:?}");
        let bad = snippet_at(rel, &good.replace(from, to));
        assert!(
            !alerts::check_budget_alerts(&bad, &repo_root()).is_empty(),
            "{from:?} -> {to:?} was accepted"
        );
    }
}

#[test]
fn no_kusto_file_holds_a_secret() {
    let files = infra_check::files_with_ext(&repo_root().join("kusto"), "kql");
    assert!(files.len() >= 6, "{files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let findings = alerts::kql_secret_findings(&infra_check::display_path(&path), &text);
        assert!(findings.is_empty(), "{findings:#?}");
    }
    let budget = read(alerts::BUDGET_QUERY_FILE);
    assert_eq!(
        alerts::placeholders_of(&budget)
            .into_iter()
            .collect::<Vec<_>>(),
        [
            "{{consumer}}",
            "{{currency}}",
            "{{monthlyBudget}}",
            "{{thresholdPercent}}"
        ]
    );
    // What the alert sees, and what it is not, are stated in the file.
    for fact in [
        "at most the last two days",
        "not the month-to-date bill",
        "Billable",
        "TokenInfoId",
    ] {
        assert!(budget.contains(fact), "{fact}");
    }
}

#[test]
fn a_kql_with_a_key_a_sas_signature_or_a_bearer_token_is_flagged() {
    for bad in [
        "customEvents | where url has 'sig=abc'",
        "let h = 'Bearer abc';",
        "let c = 'InstrumentationKey=00000000-0000-0000-0000-000000000000';",
        "let k = 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc';",
        "let k = 'Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4';",
    ] {
        assert!(
            !alerts::kql_secret_findings("bad.kql", bad).is_empty(),
            "{bad}"
        );
    }
    assert!(alerts::kql_secret_findings(
        "ok.kql",
        "customEvents | extend AppKey = tostring(customDimensions.AppKey)"
    )
    .is_empty());
}

#[test]
fn the_readme_says_what_capture_changes_and_costs_and_what_budget_alerts_see() {
    let readme = read("README.md");
    let start = readme.find("<!-- deploy:start -->").expect("deploy:start");
    let end = readme.find("<!-- deploy:end -->").expect("deploy:end");
    let section = &readme[start..end];
    for fact in [
        "azd env set EVENTHUB_CAPTURE_ENABLED true",
        capture::ARCHIVE_NAME_FORMAT,
        "*Storage Blob Data Contributor* on that\ncontainer only",
        "`skipEmptyArchives` is on",
        "default action **Deny**, **no IP, VNet or resource-instance rule**, and bypass\n**AzureServices** only",
        "https://learn.microsoft.com/azure/storage/common/storage-network-security-trusted-azure-services",
        "https://learn.microsoft.com/azure/storage/common/storage-network-security-set-default-access",
        "per throughput unit per hour",
        "azd env set CHARGEBACK_BUDGETS",
        "not its cost center",
        "kusto/budget-cost-per-consumer-this-month.kql",
        "scans at most the last two days",
        "**pay-as-you-go cost only**",
        "`double` amounts",
        "`chargeback report` over the ledger container",
    ] {
        assert!(section.contains(fact), "the README deploy section does not say: {fact}");
    }
}
