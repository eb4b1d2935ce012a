//! The deploy-path hooks run against a fake `az` and `azd` (tests/hooks/run-hook-tests.sh), and azure.yaml
//! wires them where azd runs them: preflight first (preup), the SCM opening around the service deploy, and
//! the leftover closed by the first hook of the next `azd deploy` (project predeploy).

use std::process::Command;

use infra_check::repo_root;

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

#[test]
fn the_hooks_open_only_for_the_deploy_and_close_even_after_a_failed_deploy() {
    if !have("bash") || !have("python3") {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but bash or python3 is missing"
        );
        eprintln!("skipped: bash and python3 are needed for the hook tests");
        return;
    }
    let script = repo_root().join("tools/infra-check/tests/hooks/run-hook-tests.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("hook-tests: all passed"), "{text}");
}

/// The hook entries of azure.yaml as (scope, hook, posix run, windows run), read by indentation.
fn hooks() -> Vec<(String, String, String, String)> {
    let yaml = std::fs::read_to_string(repo_root().join("azure.yaml")).unwrap();
    let mut out: Vec<(String, String, String, String)> = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for line in yaml.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let (key, value) = trimmed.split_once(':').unwrap_or((trimmed, ""));
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, key.to_string()));
        let names: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
        if names.last() != Some(&"run") {
            continue;
        }
        let Some(at) = names.iter().position(|n| *n == "hooks") else {
            continue;
        };
        let scope = if at == 0 { "project" } else { "service" };
        let hook = names[at + 1].to_string();
        let value = value.trim().to_string();
        let entry = match out.iter_mut().find(|e| e.0 == scope && e.1 == hook) {
            Some(e) => e,
            None => {
                out.push((scope.into(), hook, String::new(), String::new()));
                out.last_mut().unwrap()
            }
        };
        if names.contains(&"posix") {
            entry.2 = value;
        } else {
            entry.3 = value;
        }
    }
    out
}

#[test]
fn azure_yaml_wires_preflight_first_and_the_scm_opening_around_the_deploy_in_both_shells() {
    let got = hooks();
    let want = [
        (
            "project",
            "preup",
            "./infra/hooks/preflight.sh",
            "./infra/hooks/preflight.ps1",
        ),
        (
            "project",
            "predeploy",
            "./infra/hooks/scm-access.sh close",
            "./infra/hooks/scm-access.ps1 -Mode close",
        ),
        (
            "service",
            "prepackage",
            "./infra/hooks/package.sh",
            "./infra/hooks/package.ps1",
        ),
        (
            "service",
            "predeploy",
            "./infra/hooks/scm-access.sh open",
            "./infra/hooks/scm-access.ps1 -Mode open",
        ),
        (
            "service",
            "postdeploy",
            "./infra/hooks/scm-access.sh close",
            "./infra/hooks/scm-access.ps1 -Mode close",
        ),
    ];
    let want: Vec<(String, String, String, String)> = want
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect();
    let mut sorted = got.clone();
    sorted.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    // Exactly these hooks: an extra one that opens something would be a looser design.
    assert_eq!(sorted, want_sorted);
    for script in ["preflight", "scm-access", "azd-deploy", "package", "common"] {
        for ext in ["sh", "ps1"] {
            let path = repo_root().join(format!("infra/hooks/{script}.{ext}"));
            assert!(path.is_file(), "missing {}", path.display());
        }
    }
    for script in ["ledger-access", "onboard-consumer"] {
        for ext in ["sh", "ps1"] {
            assert!(repo_root()
                .join(format!("test-scripts/{script}.{ext}"))
                .is_file());
        }
    }
}

#[test]
fn the_opening_is_one_scm_rule_for_one_address_in_both_shells() {
    for ext in ["sh", "ps1"] {
        let src =
            std::fs::read_to_string(repo_root().join(format!("infra/hooks/scm-access.{ext}")))
                .unwrap();
        let adds: Vec<&str> = src
            .lines()
            .filter(|l| l.contains("access-restriction add"))
            .collect();
        assert_eq!(adds.len(), 1, "scm-access.{ext}: {adds:?}");
        let add_block = &src[src.find("access-restriction add").unwrap()..];
        let add_block = &add_block[..add_block.find("publicNetworkAccess=Enabled").unwrap()];
        assert!(
            add_block.contains("/32"),
            "scm-access.{ext}: the rule is not one address"
        );
        assert!(
            add_block.contains("--scm-site true"),
            "scm-access.{ext}: the rule is not SCM-only"
        );
        assert!(add_block.contains("--action Allow"));
        assert!(
            src.contains("DEPLOY_FROM_VNET"),
            "scm-access.{ext} ignores DEPLOY_FROM_VNET"
        );
        assert!(src.contains("publicNetworkAccess=Disabled"));
        // The opening is always preceded by a close (a leftover is swept first).
        let open_fn = &src[src
            .find(if ext == "sh" {
                "open_opening() {"
            } else {
                "function Open-Opening"
            })
            .unwrap()..];
        let first_call = open_fn
            .lines()
            .skip(1)
            .map(str::trim)
            .find(|l| !l.starts_with("local "))
            .unwrap_or("");
        assert!(
            first_call.starts_with("close_opening") || first_call.starts_with("Close-Opening"),
            "{first_call}"
        );
    }
}
