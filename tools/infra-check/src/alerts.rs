//! Budget alerts: created only when budgets are given and an e-mail is set; every scheduled query rule's
//! query is the budget KQL file (through `loadTextContent`, its `{{...}}` placeholders filled with
//! `replace()`); the action group e-mails the `alertEmail` parameter and nothing else; and no KQL file
//! holds a secret.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tree_sitter::Node;

use crate::bicep::{last_named_child, BicepFile, Resource};
use crate::deploy::{param_default, param_type};

/// The query every budget rule runs, relative to the repository root.
pub const BUDGET_QUERY_FILE: &str = "kusto/budget-cost-per-consumer-this-month.kql";

/// The parameter the action group e-mails.
pub const EMAIL_PARAM: &str = "alertEmail";

/// Text that marks a credential in a query: SAS signatures, bearer tokens, keys, connection strings.
const SECRET_MARKERS: &[&str] = &[
    "sig=",
    "bearer ",
    "accountkey=",
    "sharedaccesskey",
    "sharedaccesssignature",
    "instrumentationkey=",
    "connectionstring",
    "password",
    "client_secret",
    "api-key",
    "subscription-key",
    "eyj",
];

/// Findings for secrets in a KQL text: any marker above, or a run of 40+ key-like characters.
pub fn kql_secret_findings(label: &str, text: &str) -> Vec<String> {
    let mut findings = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lower = line.to_ascii_lowercase();
        for marker in SECRET_MARKERS {
            if lower.contains(marker) {
                findings.push(format!("{label}:{}: looks like a secret ({marker})", n + 1));
            }
        }
        let longest = line
            .split(|c: char| !(c.is_ascii_alphanumeric() || "+/=_-".contains(c)))
            .map(str::len)
            .max()
            .unwrap_or(0);
        if longest >= 40 {
            findings.push(format!(
                "{label}:{}: a {longest}-character key-like string",
                n + 1
            ));
        }
    }
    findings
}

/// main.bicep deploys the alert module only `if (!empty(budgets) && !empty(alertEmail))`, with
/// `budgets` an array defaulting to `[]` and `alertEmail` a string defaulting to `''`.
pub fn check_budget_module_condition(main: &BicepFile) -> Vec<String> {
    let mut findings = Vec::new();
    let modules: Vec<Node> = main
        .all_nodes("module_declaration")
        .into_iter()
        .filter(|m| main.text(*m).contains("budget-alerts.bicep'"))
        .collect();
    if modules.len() != 1 {
        findings.push(format!(
            "{}: expected one budget-alerts.bicep module, found {}",
            main.label,
            modules.len()
        ));
    }
    for m in modules {
        let text = main.text(m).replace([' ', '\n'], "");
        if !text.contains("=if(!empty(budgets)&&!empty(alertEmail))") {
            findings.push(main.at(
                m,
                "the budget alerts must be `if (!empty(budgets) && !empty(alertEmail))`",
            ));
        }
    }
    for (param, ty, default) in [("budgets", "array", "[]"), (EMAIL_PARAM, "string", "''")] {
        if param_type(main, param).as_deref() != Some(ty)
            || param_default(main, param).as_deref() != Some(default)
        {
            findings.push(format!(
                "{}: {param} must be a {ty} defaulting to {default}",
                main.label
            ));
        }
    }
    findings
}

/// Every scheduled query rule of `module` runs the budget query and notifies an action group of the same
/// file that e-mails `alertEmail` only; there is at least one rule. `root` is the repository root.
pub fn check_budget_alerts(module: &BicepFile, root: &Path) -> Vec<String> {
    let resources = module.resources();
    let mut findings = Vec::new();
    let rules: Vec<&Resource> = resources
        .iter()
        .filter(|r| {
            r.full_type
                .eq_ignore_ascii_case("Microsoft.Insights/scheduledQueryRules")
        })
        .collect();
    if rules.is_empty() {
        findings.push(format!("{}: no scheduledQueryRules", module.label));
    }
    for rule in rules {
        let mut say =
            |m: String| findings.push(module.at(rule.node, format!("{}: {m}", rule.symbol)));
        let Some(body) = rule.body else { continue };
        let queries = module
            .get_path(body, "properties.criteria.allOf")
            .map(|all| {
                objects(all)
                    .filter_map(|c| module.get(c, "query"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if queries.is_empty() {
            say("no criteria.allOf[].query".into());
        }
        for query in queries {
            for m in query_problems(module, query, root) {
                say(m);
            }
        }
        let groups = module
            .get_path(body, "properties.actions.actionGroups")
            .map(|g| named(g).collect::<Vec<_>>())
            .unwrap_or_default();
        if groups.is_empty() {
            say("notifies no action group".into());
        }
        for group in groups {
            let symbol = module.text(group).trim_end_matches(".id").to_string();
            match resources.iter().find(|r| r.symbol == symbol) {
                Some(ag) => {
                    for m in action_group_problems(module, ag) {
                        say(m);
                    }
                }
                None => say(format!("action group {symbol} is not declared here")),
            }
        }
    }
    findings
}

/// Why `query` is not `replace(...replace(<loadTextContent of the budget file>, '{{a}}', x)..., '{{z}}', y)`
/// covering every placeholder of the file.
fn query_problems(file: &BicepFile, query: Node, root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut placeholders = BTreeSet::new();
    let mut node = query;
    while function_name(file, node).as_deref() == Some("replace") {
        let args: Vec<Node> = node
            .named_child(1)
            .map(|a| named(a).collect())
            .unwrap_or_default();
        match args.get(1).and_then(|p| file.literal(*p)) {
            Some(p) => {
                placeholders.insert(p);
            }
            None => problems.push("a replace() placeholder is not a literal".into()),
        }
        let Some(inner) = args.first() else { break };
        node = *inner;
    }
    if node.kind() == "identifier" {
        if let Some(value) = variable_value(file, file.text(node)) {
            node = value;
        }
    }
    let loaded = (function_name(file, node).as_deref() == Some("loadTextContent"))
        .then(|| node.named_child(1).and_then(|a| a.named_child(0)))
        .flatten()
        .and_then(|p| file.literal_string(p));
    let Some(loaded) = loaded else {
        problems.push(format!(
            "the query is not loadTextContent('…/{BUDGET_QUERY_FILE}')"
        ));
        return problems;
    };
    let want = root.join(BUDGET_QUERY_FILE);
    let got: PathBuf = file.path.parent().unwrap_or(Path::new("")).join(&loaded);
    if canonical(&got) != canonical(&want) {
        problems.push(format!("the query loads {loaded}, not {BUDGET_QUERY_FILE}"));
        return problems;
    }
    let text = std::fs::read_to_string(&want).unwrap_or_default();
    let in_file = placeholders_of(&text);
    if in_file != placeholders {
        problems.push(format!(
            "the placeholders filled {placeholders:?} are not the file's {in_file:?}"
        ));
    }
    problems.extend(kql_secret_findings(BUDGET_QUERY_FILE, &text));
    problems
}

/// The action group e-mails `alertEmail` (a parameter of the file) and has no other kind of receiver.
fn action_group_problems(file: &BicepFile, ag: &Resource) -> Vec<String> {
    let mut problems = Vec::new();
    if !ag
        .full_type
        .eq_ignore_ascii_case("Microsoft.Insights/actionGroups")
    {
        return vec![format!("{} is not an action group", ag.symbol)];
    }
    let Some(props) = ag.body.and_then(|b| file.get(b, "properties")) else {
        return vec![format!("{} has no properties", ag.symbol)];
    };
    for prop in named(props).filter(|p| p.kind() == "object_property") {
        let key = file.property_key(prop).unwrap_or_default();
        if key.ends_with("Receivers") && key != "emailReceivers" {
            problems.push(format!(
                "{}: {key} notifies something besides the e-mail",
                ag.symbol
            ));
        }
    }
    let emails: Vec<String> = file
        .get(props, "emailReceivers")
        .map(|list| {
            objects(list)
                .filter_map(|r| file.get(r, "emailAddress"))
                .map(|e| file.text(e).to_string())
                .collect()
        })
        .unwrap_or_default();
    let declared = file.parameters().contains_key(EMAIL_PARAM);
    if emails.is_empty() || emails.iter().any(|e| e != EMAIL_PARAM) || !declared {
        problems.push(format!(
            "{}: every emailReceivers[].emailAddress must be the parameter {EMAIL_PARAM} (got {emails:?})",
            ag.symbol
        ));
    }
    problems
}

/// `{{name}}` markers of a text.
pub fn placeholders_of(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.insert(rest[start..start + len + 2].to_string());
        rest = &rest[start + len + 2..];
    }
    out
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn function_name(file: &BicepFile, node: Node) -> Option<String> {
    (node.kind() == "call_expression")
        .then(|| node.named_child(0).map(|f| file.text(f).to_string()))
        .flatten()
}

fn variable_value<'t>(file: &'t BicepFile, name: &str) -> Option<Node<'t>> {
    file.declarations("variable_declaration")
        .into_iter()
        .find(|d| file.declared_name(*d).as_deref() == Some(name))
        .and_then(last_named_child)
}

fn named(node: Node) -> impl Iterator<Item = Node> {
    let count = u32::try_from(node.named_child_count()).unwrap_or(0);
    (0..count).filter_map(move |i| node.named_child(i))
}

fn objects(node: Node) -> impl Iterator<Item = Node> {
    named(node).filter(|n| n.kind() == "object")
}
