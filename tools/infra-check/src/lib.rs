//! Structural checks of the deployment assets in `infra/` and `test-scripts/`.
//!
//! Bicep files are parsed with the tree-sitter-bicep grammar and checked on the syntax tree (resources,
//! their properties, module calls, outputs). APIM policies are parsed with an XML parser (roxmltree).
//! PowerShell scripts are parsed with the tree-sitter-powershell grammar. Every check returns a list of
//! findings (`path:line: message`); an empty list means the property holds.

pub mod alerts;
pub mod bicep;
pub mod capture;
pub mod deploy;
pub mod policy;
pub mod types;

use std::path::{Path, PathBuf};

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// Directories never searched: build output, VCS data, staged packages.
const SKIPPED_DIRS: &[&str] = &["target", ".git", "dist", "node_modules", ".azure", "fuzz"];

/// Every file under `dir` whose name ends with `.{ext}`, sorted, skipping build and VCS directories.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, ext, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name.as_str()) {
                walk(&path, ext, out);
            }
        } else if name.ends_with(&format!(".{ext}")) {
            out.push(path);
        }
    }
}

/// The tree-sitter language of Bicep.
pub fn bicep_language() -> tree_sitter::Language {
    tree_sitter_bicep::LANGUAGE.into()
}

/// The tree-sitter language of PowerShell.
pub fn powershell_language() -> tree_sitter::Language {
    tree_sitter_powershell::LANGUAGE.into()
}

/// Parses `src` with `language`; `None` only if the parser could not be set up.
pub fn parse(language: &tree_sitter::Language, src: &str) -> Option<tree_sitter::Tree> {
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(language).ok()?;
    parser.parse(src, None)
}

/// ERROR and MISSING nodes of a syntax tree, as `label:line:column: ...` findings.
pub fn syntax_errors(tree: &tree_sitter::Tree, src: &str, label: &str) -> Vec<String> {
    let mut findings = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            let pos = node.start_position();
            let text: String = src
                .get(node.byte_range())
                .unwrap_or("")
                .chars()
                .take(60)
                .collect();
            findings.push(format!(
                "{label}:{}:{}: {} node near {:?}",
                pos.row + 1,
                pos.column + 1,
                if node.is_missing() {
                    "MISSING"
                } else {
                    "ERROR"
                },
                text
            ));
        }
        if node.has_error() || node.is_error() {
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                stack.push(child);
            }
        }
    }
    findings
}

/// Syntax errors of a PowerShell script parsed with tree-sitter-powershell.
pub fn powershell_syntax_errors(src: &str, label: &str) -> Vec<String> {
    match parse(&powershell_language(), src) {
        Some(tree) => syntax_errors(&tree, src, label),
        None => vec![format!("{label}: the PowerShell parser could not run")],
    }
}

/// A path relative to the repository root, for messages.
pub fn display_path(path: &Path) -> String {
    let root = repo_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}
