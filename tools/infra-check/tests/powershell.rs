//! PowerShell scripts parse with the tree-sitter-powershell grammar.

use infra_check::{display_path, files_with_ext, powershell_syntax_errors, repo_root};

#[test]
fn every_powershell_script_parses_without_error_nodes() {
    let files = files_with_ext(&repo_root(), "ps1");
    assert!(
        files.len() >= 6,
        "expected the test scripts and the package hook, found {}",
        files.len()
    );
    let mut findings = Vec::new();
    for path in &files {
        let src = std::fs::read_to_string(path).unwrap();
        findings.extend(powershell_syntax_errors(&src, &display_path(path)));
    }
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn a_powershell_syntax_error_is_reported() {
    let findings = powershell_syntax_errors(
        "function Broken {\n  if ($x -eq 1 {\n    Write-Host 'x'\n}\n",
        "bad.ps1",
    );
    assert!(!findings.is_empty());
}

#[test]
fn every_test_script_exists_in_both_forms() {
    for name in [
        "testchatcompletions",
        "testcompletions",
        "testembeddings",
        "testresponses",
    ] {
        for ext in ["sh", "ps1"] {
            let path = repo_root()
                .join("test-scripts")
                .join(format!("{name}.{ext}"));
            assert!(path.is_file(), "missing {}", path.display());
        }
    }
    for hook in ["infra/hooks/package.sh", "infra/hooks/package.ps1"] {
        assert!(repo_root().join(hook).is_file(), "missing {hook}");
    }
}
