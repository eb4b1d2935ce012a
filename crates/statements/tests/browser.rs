//! The pages in a real browser: Debian's headless `chromium` loads a written statement set from
//! disk (no network), its DOM's totals are checked against the input model, its screenshots must
//! not be blank, and it prints to PDF. Skips when chromium is missing, except under `CI=true`.
//! Screenshots and PDFs stay under `target/browser/` for a person to look at.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chargeback_statements::*;
use common::*;

fn chromium() -> Option<PathBuf> {
    let from_env = std::env::var_os("CHROMIUM").map(PathBuf::from);
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("chromium"))
            .find(|c| c.is_file())
    });
    let found = from_env.filter(|p| p.is_file()).or(on_path);
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is required under CI=true (apt-get install -y chromium)"
        );
        eprintln!(
            "skipped: chromium not found on PATH (apt-get install -y chromium, or set CHROMIUM)"
        );
    }
    found
}

fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless chromium on `page` with `extra` flags; returns stdout.
fn run(browser: &Path, page: &Path, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn attr(dom: &str, name: &str) -> Vec<String> {
    let key = format!("{name}=\"");
    dom.match_indices(&key)
        .map(|(i, _)| {
            let rest = &dom[i + key.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// The text of the element with `id` (up to its first child tag).
fn text_of(dom: &str, id: &str) -> String {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &dom[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap() + start;
    rest[start..end].to_string()
}

/// Decodes the PNG; returns (width, height, share of non-white pixels, distinct colours).
fn inspect_png(path: &Path) -> (u32, u32, f64, usize) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let px = &buf[..info.buffer_size()];
    let mut colours = std::collections::BTreeSet::new();
    let mut ink = 0usize;
    let total = px.len() / channels;
    for p in px.chunks(channels) {
        if p[..3.min(channels)].iter().any(|c| *c < 235) {
            ink += 1;
        }
        if colours.len() < 10_000 {
            colours.insert(p[..3.min(channels)].to_vec());
        }
    }
    (
        info.width,
        info.height,
        ink as f64 / total as f64,
        colours.len(),
    )
}

fn screenshot(browser: &Path, page: &Path, name: &str) -> PathBuf {
    let png = out_dir().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&png);
    run(
        browser,
        page,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1200,1600".into(),
        ],
    );
    let (w, h, ink, colours) = inspect_png(&png);
    assert_eq!((w, h), (1200, 1600));
    assert!(
        ink > 0.01,
        "{name}: only {:.1} % of the screenshot is not white",
        ink * 100.0
    );
    assert!(
        colours > 20,
        "{name}: {colours} colours: charts and text did not render"
    );
    eprintln!(
        "{name}: {} ({:.1} % ink, {colours} colours)",
        png.display(),
        ink * 100.0
    );
    png
}

fn pdf(browser: &Path, page: &Path, name: &str) -> usize {
    let file = out_dir().join(format!("{name}.pdf"));
    let _ = std::fs::remove_file(&file);
    run(
        browser,
        page,
        &[
            format!("--print-to-pdf={}", file.display()),
            "--no-pdf-header-footer".into(),
        ],
    );
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"%PDF"), "{name}: not a PDF");
    let text = String::from_utf8_lossy(&bytes);
    text.matches("/Type /Page\n").count()
        + text.matches("/Type /Page/").count()
        + text.matches("/Type /Page ").count()
}

#[test]
fn a_statement_and_the_overview_render_in_chromium_with_the_models_totals() {
    let Some(browser) = chromium() else { return };
    let dir = out_dir().join("set");
    let sts = statements();
    let ov = overview();
    let paths = write_statement_set(&dir, &ov, &sts).unwrap();

    let st = &sts[0];
    let page = &paths[1];
    let dom = run(&browser, page, &["--dump-dom".into()]);
    assert_eq!(attr(&dom, "data-total-payg"), [st.totals.payg.to_string()]);
    assert_eq!(
        attr(&dom, "data-total-allocated"),
        [st.totals.allocated.to_string()]
    );
    assert_eq!(
        attr(&dom, "data-total-total"),
        [st.totals.total.to_string()]
    );
    assert_eq!(
        text_of(&dom, "total-total"),
        format!("{} EUR", present_total(st.totals.total, "EUR"))
    );
    assert_eq!(text_of(&dom, "who-name"), "Finance analytics");
    assert!(!dom.contains("<script"));

    let rnd = run(&browser, &paths[5], &["--dump-dom".into()]);
    assert_eq!(
        text_of(&rnd, "who-name"),
        "R&amp;D \"Labs\" &lt;beta&gt;",
        "the name is text, not markup"
    );

    let index = run(&browser, &paths[0], &["--dump-dom".into()]);
    let t = ov.sections[0].totals;
    assert_eq!(attr(&index, "data-total-payg"), [t.payg.to_string()]);
    assert_eq!(attr(&index, "data-total-total"), [t.total.to_string()]);
    let row_totals: Vec<String> = attr(&index, "data-total");
    assert_eq!(row_totals.len(), 3);

    screenshot(&browser, page, "statement");
    screenshot(&browser, &paths[0], "overview");
    let pages = pdf(&browser, page, "statement");
    assert!(
        (1..=3).contains(&pages),
        "the statement prints on 1 to 3 A4 pages, not {pages}"
    );
}

/// Many rows with long names, a second currency with no minor unit, and a statement without usage.
fn crowded() -> (Overview, Statement) {
    let mut ov = overview();
    let base = ov.sections[0].rows[0].clone();
    ov.sections[0].rows = (0..24)
        .map(|i| OverviewRow {
            id: format!("sub-{i:02}-0c2d2a7e4f8b9d3c"),
            label: format!("Team {i} — a consumer whose display name is far too long <{i}> & more"),
            calls: base.calls / (i + 1),
            totals: Totals::of(
                base.totals.payg / rust_decimal::Decimal::from(i + 1),
                if i % 3 == 0 { d("1250.50") } else { d("0") },
            ),
        })
        .collect();
    let mut yen = ov.sections[0].clone();
    yen.currency = "JPY".into();
    yen.rows.truncate(3);
    for r in &mut yen.rows {
        r.totals = Totals::of(
            r.totals.payg * d("161.37"),
            r.totals.allocated * d("161.37"),
        );
    }
    ov.sections.push(yen);
    let mut empty = statement(2);
    empty.lines.clear();
    empty.daily.clear();
    empty.totals = Totals::default();
    empty.unpriced.clear();
    let budgets = parse_budgets(
        r#"{"currency":"EUR","budgets":[{"consumer":"../../rnd-labs","monthly":10}]}"#,
    )
    .unwrap();
    empty.budget = Some(evaluate_budget(&budgets.budgets[0], "EUR", d("12.5")));
    (ov, empty)
}

#[test]
fn crowded_pages_render_without_blank_or_broken_charts() {
    let Some(browser) = chromium() else { return };
    let dir = out_dir().join("crowded");
    let (ov, empty) = crowded();
    let paths = write_statement_set(&dir, &ov, &[empty]).unwrap();
    let index = run(&browser, &paths[0], &["--dump-dom".into()]);
    assert_eq!(
        attr(&index, "data-total-total").len(),
        2,
        "EUR and JPY apart"
    );
    assert_eq!(attr(&index, "data-id").len(), 27);
    let st = run(&browser, &paths[1], &["--dump-dom".into()]);
    assert_eq!(attr(&st, "data-total-total"), ["0"]);
    assert_eq!(attr(&st, "data-exceeded"), ["true"]);
    assert!(st.contains("No pay-as-you-go cost in this period"));
    screenshot(&browser, &paths[0], "crowded-overview");
    screenshot(&browser, &paths[1], "empty-statement");
}
