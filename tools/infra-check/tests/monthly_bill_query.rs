//! The monthly-bill query (`kusto/cost-per-consumer-per-month.kql`) counts billable rows only:
//! non-billable rows (`Billable` "False", written with CHARGEBACK_RECORD_NON_BILLABLE=true) are
//! filtered out before the query dedupes by TokenInfoId and counts calls and unpriced calls.

use std::path::Path;

fn query() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kusto/cost-per-consumer-per-month.kql");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Comments removed, so a comment that mentions Billable proves nothing.
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn at(q: &str, needle: &str) -> usize {
    q.find(needle)
        .unwrap_or_else(|| panic!("the query has no {needle:?}"))
}

#[test]
fn the_monthly_bill_drops_non_billable_rows_before_deduplicating_and_counting() {
    let q = query();
    let filter = at(
        &q,
        "| where tostring(customDimensions.Billable) !~ \"False\"",
    );
    let dedupe = at(&q, "summarize arg_max(timestamp, *) by TokenInfoId");
    let calls = at(&q, "Calls = count()");
    let unpriced = at(&q, "UnpricedCalls = countif(isnull(Cost))");
    assert!(filter < dedupe, "billable filter comes before the dedupe");
    assert!(dedupe < calls && dedupe < unpriced);
    assert_eq!(
        q.matches("customEvents").count(),
        1,
        "one source, filtered once"
    );
}

#[test]
fn the_monthly_bill_names_no_secret() {
    let q = query().to_ascii_lowercase();
    for word in [
        "subscription-key",
        "ocp-apim",
        "sig=",
        "accountkey",
        "instrumentationkey",
        "password",
    ] {
        assert!(!q.contains(word), "{word}");
    }
}
