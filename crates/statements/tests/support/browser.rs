//! Headless Chromium for tests: find it (skip with a message, except under `CI=true`), load a
//! page from disk with the network off, dump its DOM, take a screenshot that must not be blank,
//! print it to PDF. Shared by this crate's browser test and the binary's statement test.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn chromium() -> Option<PathBuf> {
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

pub fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_of(Path::new(env!("CARGO_MANIFEST_DIR"))));
    let dir = target.join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless chromium on `page` with `extra` flags; returns stdout.
pub fn run(browser: &Path, page: &Path, extra: &[String]) -> String {
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

pub fn attr(dom: &str, name: &str) -> Vec<String> {
    let key = format!("{name}=\"");
    dom.match_indices(&key)
        .map(|(i, _)| {
            let rest = &dom[i + key.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// The text of the element with `id` (up to its first child tag).
pub fn text_of(dom: &str, id: &str) -> String {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &dom[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap() + start;
    rest[start..end].to_string()
}

/// Decodes the PNG; returns (width, height, share of non-white pixels, distinct colours).
pub fn inspect_png(path: &Path) -> (u32, u32, f64, usize) {
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

pub fn screenshot(browser: &Path, page: &Path, name: &str) -> PathBuf {
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

pub fn pdf(browser: &Path, page: &Path, name: &str) -> usize {
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

/// The workspace's `target/` seen from a package directory (the root or `crates/<name>`).
fn target_of(manifest_dir: &Path) -> PathBuf {
    manifest_dir
        .ancestors()
        .find(|d| d.join("Cargo.lock").is_file())
        .unwrap_or(manifest_dir)
        .join("target")
}
