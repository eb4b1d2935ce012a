//! Resource bodies checked against the Bicep compiler's own type definitions (bicep-types-az `types.json`).
//!
//! For every resource declaration the type `Namespace/type@version` must exist in one of the loaded type
//! files; then the body is walked against the type's object: every property name must exist at its
//! nesting level (through arrays, `for` bodies and both branches of a `?:`), read-only properties must not
//! be set, and literal values must match the declared type (string, integer with bounds, boolean, string
//! literal unions). A value that is not a literal (a reference, a function call, an interpolation) is
//! skipped, never guessed. A parameter used directly as a value is checked through its `@allowed` list.
//! String-literal unions are checked strictly: the generated types add a plain `string` to most enums
//! ("extensible"), which ARM still rejects for unknown values, so a literal must be one of the listed ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tree_sitter::Node;

use crate::bicep::BicepFile;

/// Property flags of the type files.
const FLAG_READ_ONLY: u64 = 2;

/// Keys Bicep itself gives meaning to in a resource body; they are not properties of the ARM type.
const BICEP_KEYS: &[&str] = &["parent", "scope", "dependsOn"];

/// The loaded type files, indexed by lower-cased `type@version`.
pub struct TypeIndex {
    files: Vec<Vec<Value>>,
    resources: BTreeMap<String, (usize, usize)>,
}

/// A type reference inside one file.
#[derive(Clone, Copy)]
struct TypeRef<'a> {
    file: &'a [Value],
    index: usize,
}

impl<'a> TypeRef<'a> {
    fn node(&self) -> &'a Value {
        self.file.get(self.index).unwrap_or(&Value::Null)
    }

    fn kind(&self) -> &'a str {
        self.node()["$type"].as_str().unwrap_or("")
    }

    /// Follows a `{"$ref": "#/N"}` of this file.
    fn follow(&self, reference: &Value) -> Option<TypeRef<'a>> {
        let index = reference["$ref"]
            .as_str()?
            .strip_prefix("#/")?
            .parse()
            .ok()?;
        Some(TypeRef {
            file: self.file,
            index,
        })
    }
}

/// Where the type files live: `$BICEP_TYPES_DIR`, else the first `shared/bicep-types` found in an
/// ancestor of the repository root (CI clones the repository beside `shared/`).
pub fn types_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("BICEP_TYPES_DIR") {
        let dir = PathBuf::from(dir);
        return dir.is_dir().then_some(dir);
    }
    let root = crate::repo_root();
    root.ancestors()
        .skip(1)
        .map(|a| a.join("shared").join("bicep-types"))
        .find(|d| d.is_dir())
}

impl TypeIndex {
    /// Loads every `*.json` type file of `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut index = TypeIndex {
            files: Vec::new(),
            resources: BTreeMap::new(),
        };
        for path in crate::files_with_ext(dir, "json") {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let value: Value = serde_json::from_str(&text)
                .map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
            let Value::Array(types) = value else {
                return Err(format!("{}: not a types array", path.display()));
            };
            let file_no = index.files.len();
            for t in &types {
                if t["$type"] == "ResourceType" {
                    let (Some(name), Some(body)) = (t["name"].as_str(), t["body"]["$ref"].as_str())
                    else {
                        continue;
                    };
                    let Some(body) = body.strip_prefix("#/").and_then(|b| b.parse().ok()) else {
                        continue;
                    };
                    index
                        .resources
                        .insert(name.to_ascii_lowercase(), (file_no, body));
                }
            }
            index.files.push(types);
        }
        if index.resources.is_empty() {
            return Err(format!("{}: no resource types found", dir.display()));
        }
        Ok(index)
    }

    /// Whether `type@version` is defined.
    pub fn has(&self, resource_type: &str, api_version: &str) -> bool {
        self.body(resource_type, api_version).is_some()
    }

    fn body(&self, resource_type: &str, api_version: &str) -> Option<TypeRef<'_>> {
        let key = format!("{resource_type}@{api_version}").to_ascii_lowercase();
        let (file, index) = *self.resources.get(&key)?;
        Some(TypeRef {
            file: self.files.get(file)?,
            index,
        })
    }

    /// API versions defined for a resource type, sorted.
    pub fn versions_of(&self, resource_type: &str) -> Vec<String> {
        let prefix = format!("{}@", resource_type.to_ascii_lowercase());
        self.resources
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
            .collect()
    }
}

/// Checks every resource declaration of `file` against the type index.
pub fn check_file(index: &TypeIndex, file: &BicepFile) -> Vec<String> {
    let resources = file.resources();
    let mut findings = Vec::new();
    for r in &resources {
        let version = if r.api_version.is_empty() {
            enclosing_version(&resources, r.node)
        } else {
            r.api_version.clone()
        };
        let at = format!("{}:{}", file.label, r.node.start_position().row + 1);
        let Some(body_type) = index.body(&r.full_type, &version) else {
            let known = index.versions_of(&r.full_type);
            findings.push(format!(
                "{at}: {}@{version} is not defined in the type files (known versions: {})",
                r.full_type,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
            continue;
        };
        if r.existing {
            continue;
        }
        let Some(body) = r.body else { continue };
        let mut walker = Walker {
            file,
            findings: &mut findings,
            label: format!("{}@{version}", r.full_type),
        };
        walker.object(body, body_type, "", true);
    }
    findings
}

/// The API version of the nearest enclosing resource that names one (nested child resources).
fn enclosing_version(resources: &[crate::bicep::Resource], node: Node) -> String {
    resources
        .iter()
        .filter(|p| {
            p.node.start_byte() < node.start_byte()
                && p.node.end_byte() >= node.end_byte()
                && !p.api_version.is_empty()
        })
        .max_by_key(|p| p.node.start_byte())
        .map(|p| p.api_version.clone())
        .unwrap_or_default()
}

struct Walker<'f, 'o> {
    file: &'f BicepFile,
    findings: &'o mut Vec<String>,
    label: String,
}

impl Walker<'_, '_> {
    fn report(&mut self, node: Node, path: &str, message: impl std::fmt::Display) {
        self.findings.push(format!(
            "{}:{}: {}: {}: {message}",
            self.file.label,
            node.start_position().row + 1,
            self.label,
            if path.is_empty() { "<body>" } else { path }
        ));
    }

    /// Checks a value node against a type, looking through `?:` branches and parentheses.
    fn value(&mut self, node: Node, ty: TypeRef, path: &str) {
        match node.kind() {
            "ternary_expression" => {
                for field in ["consequence", "alternative"] {
                    if let Some(branch) = node.child_by_field_name(field) {
                        self.value(branch, ty, path);
                    }
                }
                return;
            }
            "parenthesized_expression" => {
                if let Some(inner) = node.named_child(0) {
                    self.value(inner, ty, path);
                }
                return;
            }
            "null" => return,
            "identifier" => {
                if let Some(values) = allowed_values(self.file, self.file.text(node)) {
                    for (value_node, literal) in values {
                        self.literal(value_node, &literal, ty, path);
                    }
                    return;
                }
            }
            _ => {}
        }
        match ty.kind() {
            "ObjectType" | "DiscriminatedObjectType" if node.kind() == "object" => {
                self.object(node, ty, path, false)
            }
            "ArrayType" => self.array(node, ty, path),
            "UnionType" if node.kind() == "object" => {
                // An object in a union: check against the first object-like element.
                let elements = ty.node()["elements"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if let Some(obj) = elements
                    .iter()
                    .filter_map(|e| ty.follow(e))
                    .find(|e| matches!(e.kind(), "ObjectType" | "DiscriminatedObjectType"))
                {
                    self.object(node, obj, path, false);
                }
            }
            _ => {
                if let Some(literal) = literal_of(self.file, node) {
                    self.literal(node, &literal, ty, path);
                }
            }
        }
    }

    fn array(&mut self, node: Node, ty: TypeRef, path: &str) {
        let Some(item) = ty.follow(&ty.node()["itemType"]) else {
            return;
        };
        let item_path = format!("{path}[]");
        match node.kind() {
            "array" => {
                let mut cursor = node.walk();
                let items: Vec<Node> = node
                    .named_children(&mut cursor)
                    .filter(|n| n.kind() != "comment")
                    .collect();
                for element in items {
                    self.value(element, item, &item_path);
                }
            }
            "for_statement" => {
                let mut cursor = node.walk();
                let body = node
                    .named_children(&mut cursor)
                    .filter(|n| matches!(n.kind(), "object" | "array" | "string"))
                    .last();
                if let Some(body) = body {
                    self.value(body, item, &item_path);
                }
            }
            kind if is_literal_kind(kind) || kind == "object" => {
                self.report(node, path, "an array is expected here");
            }
            _ => {}
        }
    }

    /// The properties an object type declares (a discriminated type: base properties plus the element
    /// chosen by a literal discriminator; `None` when the element cannot be told).
    fn properties_of<'t>(&self, object: Node, ty: TypeRef<'t>) -> Option<Props<'t>> {
        let node = ty.node();
        match ty.kind() {
            "ObjectType" => Some(Props {
                file: ty.file,
                maps: vec![node["properties"].clone()],
                additional: ty.follow(&node["additionalProperties"]),
                name: node["name"].as_str().unwrap_or("object").to_string(),
                open: false,
            }),
            "DiscriminatedObjectType" => {
                let discriminator = node["discriminator"].as_str()?;
                let chosen = self
                    .file
                    .get(object, discriminator)
                    .and_then(|v| match literal_of(self.file, v) {
                        Some(Literal::String(s)) => Some(s),
                        _ => None,
                    })
                    .and_then(|v| {
                        let elements = node["elements"].as_object()?;
                        elements
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(&v))
                            .and_then(|(_, r)| ty.follow(r))
                    });
                let mut maps = vec![node["baseProperties"].clone()];
                let open = chosen.is_none();
                if let Some(element) = chosen {
                    maps.push(element.node()["properties"].clone());
                }
                Some(Props {
                    file: ty.file,
                    maps,
                    additional: None,
                    name: node["name"].as_str().unwrap_or("object").to_string(),
                    open,
                })
            }
            _ => None,
        }
    }

    fn object(&mut self, node: Node, ty: TypeRef, path: &str, resource_body: bool) {
        let Some(props) = self.properties_of(node, ty) else {
            return;
        };
        let mut cursor = node.walk();
        let entries: Vec<Node> = node
            .named_children(&mut cursor)
            .filter(|p| p.kind() == "object_property")
            .collect();
        for prop in entries {
            let Some(key) = self.file.property_key(prop) else {
                continue;
            };
            if resource_body && BICEP_KEYS.contains(&key.as_str()) {
                continue;
            }
            let child_path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            let Some(value) = value_of(prop) else {
                continue;
            };
            match props.find(&key) {
                Some((flags, prop_type)) => {
                    if flags & FLAG_READ_ONLY != 0 {
                        self.report(prop, &child_path, "read-only property must not be set");
                        continue;
                    }
                    if let Some(prop_type) = prop_type {
                        self.value(value, prop_type, &child_path);
                    }
                }
                None => {
                    if let Some(additional) = props.additional {
                        self.value(value, additional, &child_path);
                    } else if !props.open {
                        self.report(
                            prop,
                            &child_path,
                            format!("{} has no property '{key}'", props.name),
                        );
                    }
                }
            }
        }
    }

    fn literal(&mut self, node: Node, literal: &Literal, ty: TypeRef, path: &str) {
        if let Some(problem) = mismatch(literal, ty) {
            self.report(node, path, problem);
        }
    }
}

/// The property table of an object type.
struct Props<'t> {
    file: &'t [Value],
    maps: Vec<Value>,
    additional: Option<TypeRef<'t>>,
    name: String,
    /// A discriminated object whose element could not be told: unknown keys are not reported.
    open: bool,
}

impl<'t> Props<'t> {
    /// (flags, type) of a property, matched case-insensitively as ARM does.
    fn find(&self, key: &str) -> Option<(u64, Option<TypeRef<'t>>)> {
        for map in &self.maps {
            let Some(map) = map.as_object() else { continue };
            let found = map.get(key).or_else(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            });
            if let Some(p) = found {
                let flags = p["flags"].as_u64().unwrap_or(0);
                let here = TypeRef {
                    file: self.file,
                    index: 0,
                };
                return Some((flags, here.follow(&p["type"])));
            }
        }
        None
    }
}

/// A literal value written in Bicep.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Integer(i64),
    Boolean(bool),
    /// An object or array literal where a scalar is expected.
    Composite(&'static str),
}

fn is_literal_kind(kind: &str) -> bool {
    matches!(kind, "string" | "number" | "boolean" | "unary_expression")
}

/// The literal a node holds, if it is one (strings without interpolation, numbers, booleans, and
/// variables whose value is such a literal).
fn literal_of(file: &BicepFile, node: Node) -> Option<Literal> {
    match node.kind() {
        "string" => file.literal_string(node).map(Literal::String),
        "boolean" => Some(Literal::Boolean(file.text(node) == "true")),
        "number" => file.text(node).parse().ok().map(Literal::Integer),
        "unary_expression" => {
            let text = file.text(node).replace(' ', "");
            text.parse().ok().map(Literal::Integer)
        }
        "object" => Some(Literal::Composite("an object")),
        "array" => Some(Literal::Composite("an array")),
        "identifier" => {
            let value = variable_value(file, file.text(node))?;
            if value.kind() == "identifier" {
                return None;
            }
            literal_of(file, value)
        }
        _ => None,
    }
}

fn variable_value<'t>(file: &'t BicepFile, name: &str) -> Option<Node<'t>> {
    file.declarations("variable_declaration")
        .into_iter()
        .find(|d| file.declared_name(*d).as_deref() == Some(name))
        .and_then(last_named)
}

fn last_named(node: Node) -> Option<Node> {
    let count = u32::try_from(node.named_child_count()).ok()?;
    node.named_child(count.checked_sub(1)?)
}

fn value_of(prop: Node) -> Option<Node> {
    last_named(prop).filter(|v| Some(*v) != prop.named_child(0))
}

/// The `@allowed([...])` values of a parameter, with the nodes they are written at.
pub fn allowed_values<'t>(file: &'t BicepFile, name: &str) -> Option<Vec<(Node<'t>, Literal)>> {
    let decl = file
        .declarations("parameter_declaration")
        .into_iter()
        .find(|d| file.declared_name(*d).as_deref() == Some(name))?;
    let mut prev = decl.prev_named_sibling();
    while let Some(node) = prev {
        if node.kind() != "decorators" && node.kind() != "comment" {
            break;
        }
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if n.kind() == "call_expression"
                && n.named_child(0).map(|f| file.text(f)) == Some("allowed")
            {
                let array = n.named_child(1).and_then(|args| args.named_child(0))?;
                let mut cursor = array.walk();
                let values = array
                    .named_children(&mut cursor)
                    .filter_map(|v| literal_of(file, v).map(|l| (v, l)))
                    .collect();
                return Some(values);
            }
            let mut cursor = n.walk();
            stack.extend(n.named_children(&mut cursor));
        }
        prev = node.prev_named_sibling();
    }
    None
}

/// Why a literal does not fit a type, or `None` when it fits (or the type cannot tell).
fn mismatch(literal: &Literal, ty: TypeRef) -> Option<String> {
    let node = ty.node();
    match (ty.kind(), literal) {
        ("AnyType", _) | ("", _) => None,
        (_, Literal::Composite(what)) => match ty.kind() {
            "ObjectType" | "DiscriminatedObjectType" | "ArrayType" | "UnionType" => None,
            other => Some(format!(
                "{what} is given where {} is declared",
                describe(other)
            )),
        },
        ("StringType", Literal::String(s)) => {
            let len = s.chars().count() as u64;
            match (node["minLength"].as_u64(), node["maxLength"].as_u64()) {
                (Some(min), _) if len < min => Some(format!("'{s}' is shorter than {min}")),
                (_, Some(max)) if len > max => Some(format!("'{s}' is longer than {max}")),
                _ => None,
            }
        }
        ("StringLiteralType", Literal::String(s)) => {
            let want = node["value"].as_str().unwrap_or("");
            (!want.eq_ignore_ascii_case(s)).then(|| format!("'{s}' is not '{want}'"))
        }
        ("IntegerType", Literal::Integer(n)) => {
            match (node["minValue"].as_i64(), node["maxValue"].as_i64()) {
                (Some(min), _) if *n < min => Some(format!("{n} is below the minimum {min}")),
                (_, Some(max)) if *n > max => Some(format!("{n} is above the maximum {max}")),
                _ => None,
            }
        }
        ("BooleanType", Literal::Boolean(_)) => None,
        ("UnionType", _) => union_mismatch(literal, ty),
        (kind, lit) => Some(format!(
            "{} is given where {} is declared",
            describe_literal(lit),
            describe(kind)
        )),
    }
}

/// A union accepts a literal when one of its elements does; string literals must be one of the listed
/// ones even when the union also holds a plain `string` (see the module doc).
fn union_mismatch(literal: &Literal, ty: TypeRef) -> Option<String> {
    let elements: Vec<TypeRef> = ty.node()["elements"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| ty.follow(e)).collect())
        .unwrap_or_default();
    let listed: Vec<&str> = elements
        .iter()
        .filter(|e| e.kind() == "StringLiteralType")
        .filter_map(|e| e.node()["value"].as_str())
        .collect();
    if let Literal::String(s) = literal {
        if !listed.is_empty() {
            return (!listed.iter().any(|v| v.eq_ignore_ascii_case(s))).then(|| {
                format!(
                    "'{s}' is not one of the values this API version lists: {}",
                    listed.join(", ")
                )
            });
        }
    }
    if elements.iter().any(|e| mismatch(literal, *e).is_none()) {
        None
    } else {
        Some(format!(
            "{} fits none of the union's types",
            describe_literal(literal)
        ))
    }
}

fn describe(kind: &str) -> &'static str {
    match kind {
        "StringType" | "StringLiteralType" => "a string",
        "IntegerType" => "an integer",
        "BooleanType" => "a boolean",
        "ObjectType" | "DiscriminatedObjectType" => "an object",
        "ArrayType" => "an array",
        _ => "another type",
    }
}

fn describe_literal(literal: &Literal) -> String {
    match literal {
        Literal::String(s) => format!("the string '{s}'"),
        Literal::Integer(n) => format!("the integer {n}"),
        Literal::Boolean(b) => format!("the boolean {b}"),
        Literal::Composite(what) => what.to_string(),
    }
}
