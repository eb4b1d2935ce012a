//! Bicep checks on the tree-sitter-bicep syntax tree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tree_sitter::{Node, Tree};

/// A parsed Bicep file.
pub struct BicepFile {
    pub path: PathBuf,
    pub label: String,
    pub src: String,
    pub tree: Tree,
}

impl BicepFile {
    /// Parses `src`; `label` names the file in findings.
    pub fn parse(path: &Path, label: &str, src: String) -> Result<Self, String> {
        let tree = crate::parse(&crate::bicep_language(), &src)
            .ok_or_else(|| format!("{label}: the Bicep parser could not run"))?;
        Ok(Self {
            path: path.to_path_buf(),
            label: label.to_string(),
            src,
            tree,
        })
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let src = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {e}", crate::display_path(path)))?;
        Self::parse(path, &crate::display_path(path), src)
    }

    /// Parses an in-memory snippet (tests).
    pub fn snippet(label: &str, src: &str) -> Result<Self, String> {
        Self::parse(Path::new(label), label, src.to_string())
    }

    pub fn text(&self, node: Node) -> &str {
        self.src.get(node.byte_range()).unwrap_or("")
    }

    pub(crate) fn at(&self, node: Node, message: impl std::fmt::Display) -> String {
        format!(
            "{}:{}: {message}",
            self.label,
            node.start_position().row + 1
        )
    }

    /// ERROR and MISSING nodes.
    pub fn syntax_errors(&self) -> Vec<String> {
        crate::syntax_errors(&self.tree, &self.src, &self.label)
    }

    fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }

    /// Top-level declarations of a kind (e.g. `output_declaration`).
    pub fn declarations(&self, kind: &str) -> Vec<Node<'_>> {
        let mut cursor = self.root().walk();
        self.root()
            .named_children(&mut cursor)
            .filter(|n| n.kind() == kind)
            .collect()
    }

    /// Every node of a kind, anywhere in the file.
    pub fn all_nodes(&self, kind: &str) -> Vec<Node<'_>> {
        let mut out = Vec::new();
        let mut stack = vec![self.root()];
        while let Some(node) = stack.pop() {
            if node.kind() == kind {
                out.push(node);
            }
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                stack.push(child);
            }
        }
        out.sort_by_key(|n| n.start_byte());
        out
    }

    /// The identifier a declaration introduces (`param x`, `resource x`, `output x`, ...).
    pub fn declared_name(&self, decl: Node) -> Option<String> {
        let mut cursor = decl.walk();
        let name = decl
            .named_children(&mut cursor)
            .find(|n| n.kind() == "identifier")
            .map(|n| self.text(n).to_string());
        name
    }

    /// String literal value (no interpolation) of a `string` node.
    pub fn literal_string(&self, node: Node) -> Option<String> {
        if node.kind() != "string" {
            return None;
        }
        let mut cursor = node.walk();
        let mut value = String::new();
        for child in node.named_children(&mut cursor) {
            match child.kind() {
                "string_content" => value.push_str(self.text(child)),
                "escape_sequence" => value.push_str(self.text(child)),
                _ => return None,
            }
        }
        Some(value)
    }

    /// Literal value of a scalar node as text: strings (unquoted), booleans, numbers, null; else None.
    /// A bare identifier naming a `var` with a literal value is resolved.
    pub fn literal(&self, node: Node) -> Option<String> {
        match node.kind() {
            "string" => self.literal_string(node),
            "boolean" | "number" | "null" => Some(self.text(node).to_string()),
            "identifier" => self.variable_literal(self.text(node)),
            _ => None,
        }
    }

    fn variable_literal(&self, name: &str) -> Option<String> {
        for decl in self.declarations("variable_declaration") {
            if self.declared_name(decl).as_deref() == Some(name) {
                let value = last_named_child(decl)?;
                return match value.kind() {
                    "string" => self.literal_string(value),
                    "boolean" | "number" => Some(self.text(value).to_string()),
                    _ => None,
                };
            }
        }
        None
    }

    /// Key text of an `object_property` (identifier or quoted string).
    pub fn property_key(&self, prop: Node) -> Option<String> {
        let key = prop.named_child(0)?;
        match key.kind() {
            "identifier" | "compatible_identifier" => Some(self.text(key).to_string()),
            "string" => self.literal_string(key),
            _ => None,
        }
    }

    /// Value node of the property `key` of an `object` node.
    pub fn get<'t>(&self, object: Node<'t>, key: &str) -> Option<Node<'t>> {
        if object.kind() != "object" {
            return None;
        }
        let mut cursor = object.walk();
        let found = object
            .named_children(&mut cursor)
            .filter(|p| p.kind() == "object_property")
            .find(|p| self.property_key(*p).as_deref() == Some(key))
            .and_then(last_named_child);
        found
    }

    /// Value node at a dotted path (`properties.features.disableLocalAuth`).
    pub fn get_path<'t>(&self, object: Node<'t>, path: &str) -> Option<Node<'t>> {
        let mut current = object;
        for part in path.split('.') {
            current = self.get(current, part)?;
        }
        Some(current)
    }

    /// Every resource declaration, including nested child resources.
    pub fn resources(&self) -> Vec<Resource<'_>> {
        let mut out = Vec::new();
        for decl in self.all_nodes("resource_declaration") {
            let mut cursor = decl.walk();
            let children: Vec<Node> = decl.children(&mut cursor).collect();
            let symbol = children
                .iter()
                .find(|n| n.kind() == "identifier")
                .map(|n| self.text(*n).to_string())
                .unwrap_or_default();
            let type_string = children
                .iter()
                .find(|n| n.kind() == "string")
                .and_then(|n| self.literal_string(*n))
                .unwrap_or_default();
            let existing = children.iter().any(|n| n.kind() == "existing");
            let body = children
                .iter()
                .rev()
                .find(|n| matches!(n.kind(), "object" | "if_statement" | "for_statement"))
                .and_then(|n| body_object(*n));
            let (short_type, api_version) = match type_string.split_once('@') {
                Some((t, v)) => (t.to_string(), v.to_string()),
                None => (type_string.clone(), String::new()),
            };
            out.push(Resource {
                node: decl,
                symbol,
                short_type,
                api_version,
                existing,
                body,
                full_type: String::new(),
            });
        }
        // Resolve child types: a nested declaration's type is relative to its enclosing resource.
        let snapshot: Vec<(usize, usize, String)> = out
            .iter()
            .map(|r| (r.node.start_byte(), r.node.end_byte(), r.short_type.clone()))
            .collect();
        for r in out.iter_mut() {
            if r.short_type.contains('/') {
                r.full_type = r.short_type.clone();
                continue;
            }
            let mut chain = Vec::new();
            for (start, end, ty) in &snapshot {
                if *start < r.node.start_byte() && *end >= r.node.end_byte() {
                    chain.push((*start, ty.clone()));
                }
            }
            chain.sort();
            let mut full = String::new();
            for (_, ty) in chain {
                if ty.contains('/') {
                    full = ty;
                } else if !full.is_empty() {
                    full = format!("{full}/{ty}");
                }
            }
            r.full_type = if full.is_empty() {
                r.short_type.clone()
            } else {
                format!("{full}/{}", r.short_type)
            };
        }
        out
    }

    /// Parameters declared by this file: name -> required (no default value and not nullable).
    pub fn parameters(&self) -> BTreeMap<String, bool> {
        let mut out = BTreeMap::new();
        for decl in self.declarations("parameter_declaration") {
            let Some(name) = self.declared_name(decl) else {
                continue;
            };
            let mut cursor = decl.walk();
            let children: Vec<Node> = decl.children(&mut cursor).collect();
            let has_default = children.iter().any(|n| n.kind() == "=");
            let nullable = children
                .iter()
                .filter(|n| n.kind() == "type")
                .any(|t| t.named_child(0).map(|c| c.kind()) == Some("nullable_type"));
            out.insert(name, !has_default && !nullable);
        }
        out
    }

    /// Names of the decorators attached to a top-level declaration (`secure`, `description`, ...).
    pub fn decorators_of(&self, decl: Node) -> Vec<String> {
        let mut names = Vec::new();
        let mut prev = decl.prev_named_sibling();
        while let Some(node) = prev {
            match node.kind() {
                "decorators" => {
                    for call in descendants(node, "call_expression") {
                        if let Some(f) = call.named_child(0) {
                            names.push(self.text(f).to_string());
                        }
                    }
                    prev = node.prev_named_sibling();
                }
                "comment" | "diagnostic_comment" => prev = node.prev_named_sibling(),
                _ => break,
            }
        }
        names
    }

    /// The comment lines right above a declaration (skipping decorators).
    pub fn leading_comment(&self, decl: Node) -> String {
        let mut lines = Vec::new();
        let mut prev = decl.prev_sibling();
        let mut expected_row = decl.start_position().row;
        while let Some(node) = prev {
            match node.kind() {
                "decorators" | "decorator" => {
                    expected_row = node.start_position().row;
                    prev = node.prev_sibling();
                }
                "comment" if node.end_position().row + 1 >= expected_row => {
                    lines.push(self.text(node).to_string());
                    expected_row = node.start_position().row;
                    prev = node.prev_sibling();
                }
                _ => break,
            }
        }
        lines.reverse();
        lines.join("\n")
    }
}

/// One `resource` declaration.
pub struct Resource<'a> {
    pub node: Node<'a>,
    pub symbol: String,
    /// The type as written (`Microsoft.Storage/storageAccounts` or a child short name like `containers`).
    pub short_type: String,
    /// The fully qualified type (children resolved against their parents).
    pub full_type: String,
    pub api_version: String,
    pub existing: bool,
    /// The resource body object (through `if` and `for`).
    pub body: Option<Node<'a>>,
}

pub(crate) fn last_named_child(node: Node) -> Option<Node> {
    let count = u32::try_from(node.named_child_count()).ok()?;
    if count == 0 {
        return None;
    }
    node.named_child(count - 1)
}

/// The object of a resource or module body, looking through `if (...) {}` and `[for ...: {}]`.
fn body_object(node: Node) -> Option<Node> {
    match node.kind() {
        "object" => Some(node),
        "if_statement" | "for_statement" => {
            let mut cursor = node.walk();
            let children: Vec<Node> = node.named_children(&mut cursor).collect();
            children
                .into_iter()
                .rev()
                .find(|n| matches!(n.kind(), "object" | "if_statement"))
                .and_then(body_object)
        }
        _ => None,
    }
}

fn descendants<'t>(node: Node<'t>, kind: &str) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind() == kind {
            out.push(n);
        }
        let mut cursor = n.walk();
        for child in n.named_children(&mut cursor) {
            stack.push(child);
        }
    }
    out
}

/// What a data-plane resource type must set, as (property path, required literal value).
pub fn data_plane_rules(resource_type: &str) -> Option<&'static [(&'static str, &'static str)]> {
    let rules: &[(&str, &str)] = match resource_type.to_ascii_lowercase().as_str() {
        "microsoft.cognitiveservices/accounts" => &[
            ("properties.publicNetworkAccess", "Disabled"),
            ("properties.disableLocalAuth", "true"),
        ],
        "microsoft.eventhub/namespaces" => &[
            ("properties.publicNetworkAccess", "Disabled"),
            ("properties.disableLocalAuth", "true"),
            ("properties.minimumTlsVersion", "1.2"),
        ],
        "microsoft.storage/storageaccounts" => &[
            ("properties.publicNetworkAccess", "Disabled"),
            ("properties.allowSharedKeyAccess", "false"),
            ("properties.allowBlobPublicAccess", "false"),
            ("properties.minimumTlsVersion", "TLS1_2"),
        ],
        "microsoft.insights/components" => &[
            ("properties.publicNetworkAccessForIngestion", "Disabled"),
            ("properties.publicNetworkAccessForQuery", "Disabled"),
            ("properties.DisableLocalAuth", "true"),
        ],
        "microsoft.operationalinsights/workspaces" => &[
            ("properties.publicNetworkAccessForIngestion", "Disabled"),
            ("properties.publicNetworkAccessForQuery", "Disabled"),
            ("properties.features.disableLocalAuth", "true"),
        ],
        "microsoft.insights/privatelinkscopes" => &[
            (
                "properties.accessModeSettings.ingestionAccessMode",
                "PrivateOnly",
            ),
            (
                "properties.accessModeSettings.queryAccessMode",
                "PrivateOnly",
            ),
        ],
        "microsoft.web/sites" => &[
            ("properties.publicNetworkAccess", "Disabled"),
            ("properties.httpsOnly", "true"),
            ("properties.siteConfig.ftpsState", "Disabled"),
        ],
        _ => return None,
    };
    Some(rules)
}

/// Data-plane resources have public network access disabled and local (key) auth disabled where the
/// type supports it. Web sites must also turn off basic publishing credentials (ftp and scm).
pub fn check_data_plane(file: &BicepFile) -> Vec<String> {
    let mut findings = Vec::new();
    let resources = file.resources();
    for r in resources.iter().filter(|r| !r.existing) {
        let Some(rules) = data_plane_rules(&r.full_type) else {
            continue;
        };
        let Some(body) = r.body else {
            findings.push(file.at(r.node, format!("resource {} has no body", r.symbol)));
            continue;
        };
        for (path, want) in rules {
            if let Some(value) = file.get_path(body, path) {
                if crate::deploy::is_documented_opt_in(file, &r.full_type, path, value) {
                    continue;
                }
            }
            match file.get_path(body, path).and_then(|v| file.literal(v)) {
                Some(got) if got.eq_ignore_ascii_case(want) => {}
                Some(got) => findings.push(file.at(
                    r.node,
                    format!(
                        "{} ({}) sets {path} = {got}, expected {want}",
                        r.symbol, r.full_type
                    ),
                )),
                None => findings.push(file.at(
                    r.node,
                    format!(
                        "{} ({}) must set {path} to the literal {want}",
                        r.symbol, r.full_type
                    ),
                )),
            }
        }
        if r.full_type.eq_ignore_ascii_case("Microsoft.Web/sites") {
            for policy in ["ftp", "scm"] {
                let ok = resources.iter().any(|c| {
                    c.full_type.eq_ignore_ascii_case(
                        "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
                    ) && belongs_to(file, c, r)
                        && c.body
                            .and_then(|b| file.get(b, "name"))
                            .and_then(|n| file.literal(n))
                            .as_deref()
                            == Some(policy)
                        && c.body
                            .and_then(|b| file.get_path(b, "properties.allow"))
                            .and_then(|n| file.literal(n))
                            .as_deref()
                            == Some("false")
                });
                if !ok {
                    findings.push(file.at(
                        r.node,
                        format!(
                            "{} must disable basic publishing credentials ({policy}: allow false)",
                            r.symbol
                        ),
                    ));
                }
            }
        }
    }
    findings
}

/// Whether `child` is nested in `parent` or names it with `parent: symbol`.
pub(crate) fn belongs_to(file: &BicepFile, child: &Resource, parent: &Resource) -> bool {
    let nested = child.node.start_byte() > parent.node.start_byte()
        && child.node.end_byte() <= parent.node.end_byte();
    let by_parent = child
        .body
        .and_then(|b| file.get(b, "parent"))
        .map(|p| file.text(p) == parent.symbol)
        .unwrap_or(false);
    nested || by_parent
}

/// Every private endpoint has a `privateDnsZoneGroups` child.
pub fn check_private_endpoint_dns(file: &BicepFile) -> Vec<String> {
    let resources = file.resources();
    let mut findings = Vec::new();
    for pe in resources.iter().filter(|r| {
        !r.existing
            && r.full_type
                .eq_ignore_ascii_case("Microsoft.Network/privateEndpoints")
    }) {
        let has_group = resources.iter().any(|c| {
            c.full_type
                .eq_ignore_ascii_case("Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
                && belongs_to(file, c, pe)
        });
        if !has_group {
            findings.push(file.at(
                pe.node,
                format!(
                    "private endpoint {} has no privateDnsZoneGroups child",
                    pe.symbol
                ),
            ));
        }
    }
    findings
}

/// Private link group ids a data-plane type needs an endpoint for (Log Analytics and App Insights are
/// reached through the Azure Monitor private link scope instead).
fn required_private_link_groups(resource_type: &str) -> &'static [&'static str] {
    match resource_type.to_ascii_lowercase().as_str() {
        "microsoft.cognitiveservices/accounts" => &["account"],
        "microsoft.eventhub/namespaces" => &["namespace"],
        "microsoft.storage/storageaccounts" => &["blob", "queue", "table"],
        "microsoft.web/sites" => &["sites"],
        "microsoft.insights/privatelinkscopes" => &["azuremonitor"],
        _ => &[],
    }
}

/// Every private-link data-plane resource gets a private endpoint (through a module call or a
/// privateEndpoints resource in the same file) for each sub-resource it serves; Log Analytics and App
/// Insights are scoped into an Azure Monitor private link scope.
pub fn check_private_endpoint_coverage(file: &BicepFile) -> Vec<String> {
    let mut endpoints: BTreeSet<(String, String)> = BTreeSet::new();
    // Module calls that pass privateLinkServiceId + groupId.
    for module in file.all_nodes("module_declaration") {
        let Some(params) = module_body(module).and_then(|b| file.get(b, "params")) else {
            continue;
        };
        if let (Some(target), Some(group)) = (
            file.get(params, "privateLinkServiceId"),
            file.get(params, "groupId").and_then(|g| file.literal(g)),
        ) {
            endpoints.insert((symbol_of_id(file, target), group));
        }
    }
    // privateEndpoints resources declared here.
    let resources = file.resources();
    for pe in resources.iter().filter(|r| {
        r.full_type
            .eq_ignore_ascii_case("Microsoft.Network/privateEndpoints")
    }) {
        for conn in pe
            .body
            .map(|b| descendants(b, "object_property"))
            .unwrap_or_default()
        {
            if file.property_key(conn).as_deref() != Some("privateLinkServiceId") {
                continue;
            }
            let Some(target) = last_named_child(conn) else {
                continue;
            };
            let Some(parent_obj) = conn.parent() else {
                continue;
            };
            if let Some(groups) = file.get(parent_obj, "groupIds") {
                for g in descendants(groups, "string") {
                    if let Some(group) = file.literal_string(g) {
                        endpoints.insert((symbol_of_id(file, target), group));
                    }
                }
            }
        }
    }
    let scoped: BTreeSet<String> = file
        .all_nodes("object_property")
        .into_iter()
        .filter(|p| file.property_key(*p).as_deref() == Some("linkedResourceId"))
        .filter_map(last_named_child)
        .map(|v| symbol_of_id(file, v))
        .collect();

    let mut findings = Vec::new();
    for r in resources.iter().filter(|r| !r.existing) {
        for group in required_private_link_groups(&r.full_type) {
            if !endpoints.contains(&(r.symbol.clone(), group.to_string())) {
                findings.push(file.at(
                    r.node,
                    format!(
                        "{} ({}) has no private endpoint for '{group}'",
                        r.symbol, r.full_type
                    ),
                ));
            }
        }
        let monitored = r
            .full_type
            .eq_ignore_ascii_case("Microsoft.Insights/components")
            || r.full_type
                .eq_ignore_ascii_case("Microsoft.OperationalInsights/workspaces");
        if monitored && !scoped.contains(&r.symbol) {
            findings.push(file.at(
                r.node,
                format!(
                    "{} is not linked into an Azure Monitor private link scope",
                    r.symbol
                ),
            ));
        }
    }
    findings
}

/// `account.id` -> `account`; anything else -> its text.
fn symbol_of_id(file: &BicepFile, node: Node) -> String {
    let text = file.text(node);
    text.strip_suffix(".id").unwrap_or(text).to_string()
}

fn module_body(module: Node) -> Option<Node> {
    let mut cursor = module.walk();
    let children: Vec<Node> = module.named_children(&mut cursor).collect();
    children
        .into_iter()
        .rev()
        .find(|n| matches!(n.kind(), "object" | "if_statement" | "for_statement"))
        .and_then(body_object)
}

/// Role assignments grant roles to identities created in this deployment: `principalId` is
/// `<identity>.properties.principalId` of a user-assigned identity declared here, or
/// `<resource>.identity.principalId` of a resource declared here with a system-assigned identity; never
/// a parameter or a literal, with one exception: the deploying user (`deployerPrincipalId`, see
/// [`crate::deploy::check_deployer_assignment`]). Each role assignment carries a comment saying why it is
/// needed.
pub fn check_role_assignments(file: &BicepFile) -> Vec<String> {
    let resources = file.resources();
    let params = file.parameters();
    let mut findings = Vec::new();
    for ra in resources.iter().filter(|r| {
        !r.existing
            && r.full_type
                .eq_ignore_ascii_case("Microsoft.Authorization/roleAssignments")
    }) {
        let Some(principal) = ra
            .body
            .and_then(|b| file.get_path(b, "properties.principalId"))
        else {
            findings.push(file.at(
                ra.node,
                format!("role assignment {} has no principalId", ra.symbol),
            ));
            continue;
        };
        let text = file.text(principal).to_string();
        if principal.kind() == "identifier"
            && text == crate::deploy::DEPLOYER_PARAM
            && params.contains_key(&text)
        {
            findings.extend(crate::deploy::check_deployer_assignment(
                file, ra, &resources,
            ));
            continue;
        }
        let ok = if principal.kind() != "member_expression" {
            false
        } else if let Some(sym) = text.strip_suffix(".properties.principalId") {
            resources.iter().any(|r| {
                r.symbol == sym
                    && !r.existing
                    && r.full_type
                        .eq_ignore_ascii_case("Microsoft.ManagedIdentity/userAssignedIdentities")
            })
        } else if let Some(sym) = text.strip_suffix(".identity.principalId") {
            resources.iter().any(|r| {
                r.symbol == sym
                    && !r.existing
                    && r.body
                        .and_then(|b| file.get_path(b, "identity.type"))
                        .and_then(|t| file.literal(t))
                        .map(|t| t.contains("SystemAssigned"))
                        .unwrap_or(false)
            })
        } else {
            false
        };
        if !ok {
            let why = if params.contains_key(text.as_str()) {
                " (a parameter)"
            } else {
                ""
            };
            findings.push(file.at(
                ra.node,
                format!(
                    "role assignment {} grants to {text}{why}, not to an identity created in this deployment",
                    ra.symbol
                ),
            ));
        }
        // Least privilege: scoped to one resource, never to the whole resource group or subscription.
        let scoped_to_resource = ra
            .body
            .and_then(|b| file.get(b, "scope"))
            .filter(|s| s.kind() == "identifier")
            .map(|s| resources.iter().any(|r| r.symbol == file.text(s)))
            .unwrap_or(false);
        if !scoped_to_resource {
            findings.push(file.at(
                ra.node,
                format!(
                    "role assignment {} is not scoped to a single resource (scope: <resource symbol>)",
                    ra.symbol
                ),
            ));
        }
        if ra.node.parent().map(|p| p.kind()) == Some("infrastructure")
            && file.leading_comment(ra.node).trim().is_empty()
        {
            findings.push(file.at(
                ra.node,
                format!(
                    "role assignment {} has no comment saying why it is needed",
                    ra.symbol
                ),
            ));
        }
    }
    findings
}

/// Property names that hold secrets when they appear in outputs or settings.
const SECRET_WORDS: &[&str] = &[
    "key",
    "secret",
    "password",
    "connectionstring",
    "sas",
    "token",
    "credential",
];

/// No output holds a secret and no app setting does: no `list*()` calls (listKeys, listSecrets,
/// listConnectionStrings...) anywhere, no `@secure()` or key-like outputs, no connection strings except
/// the App Insights one (not a credential when local auth is off, and only as an app setting).
pub fn check_no_secrets(file: &BicepFile) -> Vec<String> {
    let mut findings = Vec::new();
    for call in file.all_nodes("call_expression") {
        let Some(function) = call.named_child(0) else {
            continue;
        };
        let name = match function.kind() {
            "member_expression" => last_named_child(function)
                .map(|n| file.text(n).to_string())
                .unwrap_or_default(),
            _ => file.text(function).to_string(),
        };
        if name.starts_with("list") {
            findings.push(file.at(
                call,
                format!("{name}() reads secrets; use managed identity instead"),
            ));
        }
    }
    for output in file.declarations("output_declaration") {
        let name = file.declared_name(output).unwrap_or_default();
        if file
            .decorators_of(output)
            .iter()
            .any(|d| d == "secure" || d.ends_with(".secure"))
        {
            findings.push(file.at(
                output,
                format!("output {name} is @secure(): outputs must not carry secrets"),
            ));
        }
        let lower = name.to_ascii_lowercase();
        if SECRET_WORDS.iter().any(|w| lower.contains(w)) {
            findings.push(file.at(output, format!("output {name} looks like a secret")));
        }
        let value = last_named_child(output).map(|v| file.text(v).to_ascii_lowercase());
        if let Some(value) = value {
            for bad in [
                "connectionstring",
                "instrumentationkey",
                "primarykey",
                "secondarykey",
                "accountkey",
                "sharedaccesskey",
                "listkeys(",
                "listsecrets(",
                "listconnectionstrings(",
                "listcredentials(",
            ] {
                if value.contains(bad) {
                    findings.push(file.at(output, format!("output {name} exposes {bad}")));
                }
            }
        }
    }
    for secure_param in file.declarations("parameter_declaration") {
        if file
            .decorators_of(secure_param)
            .iter()
            .any(|d| d == "secure")
        {
            let name = file.declared_name(secure_param).unwrap_or_default();
            for output in file.declarations("output_declaration") {
                let refs = last_named_child(output)
                    .map(|v| descendants(v, "identifier"))
                    .unwrap_or_default();
                if refs.iter().any(|i| file.text(*i) == name) {
                    findings
                        .push(file.at(output, format!("output uses the secure parameter {name}")));
                }
            }
        }
    }
    findings.extend(check_settings(file));
    findings
}

/// App-setting-like properties (UPPER_CASE or `Name__part` keys) carry no credentials.
fn check_settings(file: &BicepFile) -> Vec<String> {
    let mut findings = Vec::new();
    for prop in file.all_nodes("object_property") {
        let Some(key) = file.property_key(prop) else {
            continue;
        };
        if let Some(value) = last_named_child(prop) {
            let lower_value = file.text(value).to_ascii_lowercase();
            if [
                "accountkey=",
                "sharedaccesskey=",
                "sharedaccesssignature=",
                "password=",
            ]
            .iter()
            .any(|b| lower_value.contains(b))
            {
                findings.push(file.at(prop, format!("{key} holds a credential")));
            }
        }
        if key == "AzureWebJobsStorage" || key == "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING" {
            findings.push(file.at(
                prop,
                format!("{key} is a key-based connection string; use {key}__accountName"),
            ));
        }
        let setting_like = key.contains("__")
            || (key.len() > 3
                && key
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'));
        if !setting_like {
            continue;
        }
        let Some(value) = last_named_child(prop) else {
            continue;
        };
        let value_text = file.text(value);
        let lower_key = key.to_ascii_lowercase();
        let lower_value = value_text.to_ascii_lowercase();
        if key == "APPLICATIONINSIGHTS_CONNECTION_STRING" {
            if !lower_value.ends_with(".properties.connectionstring") {
                findings.push(file.at(
                    prop,
                    "APPLICATIONINSIGHTS_CONNECTION_STRING must come from the component",
                ));
            }
            continue;
        }
        if lower_value.contains("connectionstring")
            || lower_value.contains("instrumentationkey")
            || lower_value.contains("primarykey")
        {
            findings.push(file.at(
                prop,
                format!("setting {key} reads a connection string or key"),
            ));
        }
        let name_is_secret = (lower_key.ends_with("key") && !lower_key.ends_with("_key_vault"))
            || lower_key.contains("password")
            || lower_key.contains("secret")
            || lower_key.contains("connection_string")
            || lower_key.ends_with("connectionstring");
        if name_is_secret {
            findings.push(file.at(prop, format!("setting {key} looks like a secret")));
        }
    }
    findings
}

/// Module calls pass only parameters the target declares, and every required one.
/// `read` loads a module file by path (tests pass an in-memory map).
pub fn check_module_params(
    file: &BicepFile,
    read: &dyn Fn(&Path) -> Option<String>,
) -> Vec<String> {
    let mut findings = Vec::new();
    let dir = file.path.parent().unwrap_or(Path::new(""));
    for module in file.all_nodes("module_declaration") {
        let mut cursor = module.walk();
        let children: Vec<Node> = module.named_children(&mut cursor).collect();
        let symbol = children
            .iter()
            .find(|n| n.kind() == "identifier")
            .map(|n| file.text(*n).to_string())
            .unwrap_or_default();
        let Some(target) = children
            .iter()
            .find(|n| n.kind() == "string")
            .and_then(|n| file.literal_string(*n))
        else {
            findings.push(file.at(module, format!("module {symbol} has no literal path")));
            continue;
        };
        if target.starts_with("br:") || target.starts_with("br/") || target.starts_with("ts:") {
            continue;
        }
        let target_path = dir.join(&target);
        let Some(src) = read(&target_path) else {
            findings.push(file.at(module, format!("module {symbol}: {target} not found")));
            continue;
        };
        let target_file = match BicepFile::parse(&target_path, &target, src) {
            Ok(f) => f,
            Err(e) => {
                findings.push(e);
                continue;
            }
        };
        let declared = target_file.parameters();
        let mut passed = BTreeSet::new();
        if let Some(params) = module_body(module).and_then(|b| file.get(b, "params")) {
            let mut pc = params.walk();
            for prop in params
                .named_children(&mut pc)
                .filter(|p| p.kind() == "object_property")
            {
                if let Some(name) = file.property_key(prop) {
                    if !declared.contains_key(&name) {
                        findings.push(file.at(
                            prop,
                            format!(
                                "module {symbol} passes {name}, which {target} does not declare"
                            ),
                        ));
                    }
                    passed.insert(name);
                }
            }
        }
        for (name, required) in &declared {
            if *required && !passed.contains(name) {
                findings.push(file.at(
                    module,
                    format!(
                        "module {symbol} does not pass the required parameter {name} of {target}"
                    ),
                ));
            }
        }
    }
    findings
}

/// Paths given to loadTextContent / loadJsonContent / loadFileAsBase64, resolved against the file.
pub fn loaded_files(file: &BicepFile) -> Vec<PathBuf> {
    let dir = file.path.parent().unwrap_or(Path::new(""));
    file.all_nodes("call_expression")
        .into_iter()
        .filter(|c| {
            c.named_child(0)
                .map(|f| file.text(f).starts_with("load"))
                .unwrap_or(false)
        })
        .filter_map(|c| {
            let args = c.named_child(1)?;
            let first = args.named_child(0)?;
            file.literal_string(first)
        })
        .map(|p| dir.join(p))
        .collect()
}

/// Literal `name` values of resources of a type (variables resolved), e.g. APIM loggers.
pub fn resource_names(file: &BicepFile, resource_type: &str) -> Vec<String> {
    file.resources()
        .iter()
        .filter(|r| r.full_type.eq_ignore_ascii_case(resource_type))
        .filter_map(|r| r.body.and_then(|b| file.get(b, "name")))
        .filter_map(|n| file.literal(n))
        .collect()
}

/// Literal values of a property path on resources of a type.
pub fn resource_property_values(file: &BicepFile, resource_type: &str, path: &str) -> Vec<String> {
    file.resources()
        .iter()
        .filter(|r| r.full_type.eq_ignore_ascii_case(resource_type))
        .filter_map(|r| r.body.and_then(|b| file.get_path(b, path)))
        .filter_map(|n| file.literal(n))
        .collect()
}

/// All object property keys in the file (e.g. app setting names).
pub fn property_keys(file: &BicepFile) -> BTreeSet<String> {
    file.all_nodes("object_property")
        .into_iter()
        .filter_map(|p| file.property_key(p))
        .collect()
}

/// Names of the outputs.
pub fn output_names(file: &BicepFile) -> Vec<String> {
    file.declarations("output_declaration")
        .into_iter()
        .filter_map(|o| file.declared_name(o))
        .collect()
}

/// Every `.bicep` file under `infra/`, parsed.
pub fn load_infra() -> Result<Vec<BicepFile>, String> {
    crate::files_with_ext(&crate::repo_root().join("infra"), "bicep")
        .iter()
        .map(|p| BicepFile::load(p))
        .collect()
}
