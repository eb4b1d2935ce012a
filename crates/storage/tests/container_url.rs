//! Container URL forms, and the SAS signature kept out of every text the crate shows.

use chargeback_storage::ContainerUrl;

const SAS: &str =
    "se=2026-12-31T00%3A00Z&sp=rl&spr=https&sv=2022-11-02&sr=c&sig=AbC%2Bd%2Fe%3DSeCrEt";
const SIG_FORMS: [&str; 2] = ["AbC%2Bd%2Fe%3DSeCrEt", "AbC+d/e=SeCrEt"];

fn assert_no_sig(text: &str) {
    for s in SIG_FORMS {
        assert!(!text.contains(s), "a signature leaked: {text}");
    }
}

#[test]
fn an_azure_container_url_names_its_account_container_and_folder() {
    let u =
        ContainerUrl::parse("https://stledger.blob.core.windows.net/chargeback-ledger/2026/nov")
            .unwrap();
    assert_eq!(
        (u.account(), u.container(), u.prefix()),
        ("stledger", "chargeback-ledger", "2026/nov/")
    );
    assert!(!u.has_sas());
    assert_eq!(
        u.to_string(),
        "https://stledger.blob.core.windows.net/chargeback-ledger/2026/nov"
    );
}

#[test]
fn an_azurite_url_takes_the_account_from_the_path() {
    let u =
        ContainerUrl::parse("http://127.0.0.1:10000/devstoreaccount1/chargeback-ledger").unwrap();
    assert_eq!(
        (u.account(), u.container(), u.prefix()),
        ("devstoreaccount1", "chargeback-ledger", "")
    );
    let slash =
        ContainerUrl::parse("http://localhost:10000/devstoreaccount1/chargeback-ledger/").unwrap();
    assert_eq!(slash.prefix(), "");
}

#[test]
fn a_sas_as_az_prints_it_is_kept_for_requests_but_shown_redacted() {
    for url in [
        format!("https://stledger.blob.core.windows.net/chargeback-ledger?{SAS}"),
        format!("http://127.0.0.1:10000/devstoreaccount1/chargeback-ledger?{SAS}"),
    ] {
        let u = ContainerUrl::parse(&url).unwrap();
        assert!(u.has_sas());
        let shown = format!("{u} {u:?}");
        assert!(shown.contains("sig=REDACTED"), "{shown}");
        assert_no_sig(&shown);
        let scrubbed = u.scrub(&format!(
            "error sending request for url ({url}): AbC+d/e=SeCrEt"
        ));
        assert_no_sig(&scrubbed);
    }
}

#[test]
fn every_refused_url_is_explained_without_its_signature() {
    for bad in [
        format!("ftp://stledger.blob.core.windows.net/ledger?{SAS}"),
        format!("http://stledger.blob.core.windows.net/ledger?{SAS}"),
        format!("https://example.com/ledger?{SAS}"),
        format!("https://stledger.blob.core.windows.net/?{SAS}"),
        format!("https://stledger.blob.core.windows.net/Bad_Name?{SAS}"),
        format!("http://127.0.0.1:10000/devstoreaccount1?{SAS}"),
        format!("not a url {SAS}"),
        "https://stledger.blob.core.windows.net/ledger?comp=list".to_string(),
    ] {
        let err = ContainerUrl::parse(&bad).expect_err(&bad);
        let text = format!("{err} {err:?}");
        assert!(text.contains("not a container URL"), "{text}");
        assert_no_sig(&text);
    }
}
