//! Deployment types (Azure's SKU names), the deployment map from `CHARGEBACK_DEPLOYMENTS` /
//! `CHARGEBACK_DEPLOYMENT_MODELS`, and the resolver that merges it with a sheet's `deployments`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An Azure OpenAI deployment type, named as Azure names the deployment SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeploymentType {
    GlobalStandard,
    DataZoneStandard,
    /// Regional ("Standard") deployments.
    Standard,
    GlobalBatch,
    DataZoneBatch,
    GlobalProvisionedManaged,
    DataZoneProvisionedManaged,
    ProvisionedManaged,
    /// Any of the three provisioned types, when the sheet or setting does not say which.
    Provisioned,
}

impl DeploymentType {
    pub const ALL: [DeploymentType; 9] = [
        DeploymentType::GlobalStandard,
        DeploymentType::DataZoneStandard,
        DeploymentType::Standard,
        DeploymentType::GlobalBatch,
        DeploymentType::DataZoneBatch,
        DeploymentType::GlobalProvisionedManaged,
        DeploymentType::DataZoneProvisionedManaged,
        DeploymentType::ProvisionedManaged,
        DeploymentType::Provisioned,
    ];

    /// The type used when neither the setting nor the sheet names one.
    pub const DEFAULT: DeploymentType = DeploymentType::GlobalStandard;

    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentType::GlobalStandard => "GlobalStandard",
            DeploymentType::DataZoneStandard => "DataZoneStandard",
            DeploymentType::Standard => "Standard",
            DeploymentType::GlobalBatch => "GlobalBatch",
            DeploymentType::DataZoneBatch => "DataZoneBatch",
            DeploymentType::GlobalProvisionedManaged => "GlobalProvisionedManaged",
            DeploymentType::DataZoneProvisionedManaged => "DataZoneProvisionedManaged",
            DeploymentType::ProvisionedManaged => "ProvisionedManaged",
            DeploymentType::Provisioned => "Provisioned",
        }
    }

    /// True for the provisioned (PTU) types: their calls carry no per-call price.
    pub fn is_provisioned(self) -> bool {
        matches!(
            self,
            DeploymentType::GlobalProvisionedManaged
                | DeploymentType::DataZoneProvisionedManaged
                | DeploymentType::ProvisionedManaged
                | DeploymentType::Provisioned
        )
    }
}

impl fmt::Display for DeploymentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A deployment type name that is not one of Azure's SKU names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown deployment type {0:?} (expected one of GlobalStandard, DataZoneStandard, Standard, GlobalBatch, DataZoneBatch, GlobalProvisionedManaged, DataZoneProvisionedManaged, ProvisionedManaged, Provisioned)")]
pub struct UnknownDeploymentType(pub String);

impl FromStr for DeploymentType {
    type Err = UnknownDeploymentType;

    /// Azure's SKU names, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        DeploymentType::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownDeploymentType(t.to_string()))
    }
}

impl Serialize for DeploymentType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DeploymentType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What is known of one deployment: its model and type, each possibly unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_type: Option<DeploymentType>,
}

/// Deployment name (lower-case) → what the setting says of it.
pub type DeploymentMap = BTreeMap<String, DeploymentEntry>;

/// A malformed deployment setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeploymentMapError {
    #[error("{setting} entry {entry:?} is not of the form {form}")]
    Shape {
        setting: &'static str,
        entry: String,
        form: &'static str,
    },
    #[error("{setting} entry {entry:?}: {source}")]
    Type {
        setting: &'static str,
        entry: String,
        source: UnknownDeploymentType,
    },
}

/// Parses `CHARGEBACK_DEPLOYMENTS`: `name=model:type,…` (whitespace and empty entries allowed;
/// `name=model` leaves the type to the sheet or the default; `name=:type` names only the type).
pub fn parse_deployments(s: &str) -> Result<DeploymentMap, DeploymentMapError> {
    const SETTING: &str = "CHARGEBACK_DEPLOYMENTS";
    let mut map = DeploymentMap::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let shape = || DeploymentMapError::Shape {
            setting: SETTING,
            entry: entry.to_string(),
            form: "deployment=model:type",
        };
        let (name, value) = entry.split_once('=').ok_or_else(shape)?;
        let (model, ty) = match value.rsplit_once(':') {
            Some((m, t)) => (m.trim(), Some(t.trim())),
            None => (value.trim(), None),
        };
        let deployment_type = match ty {
            Some(t) => Some(t.parse().map_err(|source| DeploymentMapError::Type {
                setting: SETTING,
                entry: entry.to_string(),
                source,
            })?),
            None => None,
        };
        let name = name.trim();
        if name.is_empty() || (model.is_empty() && deployment_type.is_none()) {
            return Err(shape());
        }
        let model = (!model.is_empty()).then(|| model.to_string());
        map.insert(
            name.to_ascii_lowercase(),
            DeploymentEntry {
                model,
                deployment_type,
            },
        );
    }
    Ok(map)
}

/// Parses the legacy `CHARGEBACK_DEPLOYMENT_MODELS`: `name=model,…`, no type.
pub fn parse_deployment_models(s: &str) -> Result<DeploymentMap, DeploymentMapError> {
    let mut map = DeploymentMap::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, model) = entry
            .split_once('=')
            .map(|(n, m)| (n.trim(), m.trim()))
            .filter(|(n, m)| !n.is_empty() && !m.is_empty())
            .ok_or_else(|| DeploymentMapError::Shape {
                setting: "CHARGEBACK_DEPLOYMENT_MODELS",
                entry: entry.to_string(),
                form: "deployment=model",
            })?;
        let entry = DeploymentEntry {
            model: Some(model.to_string()),
            deployment_type: None,
        };
        map.insert(name.to_ascii_lowercase(), entry);
    }
    Ok(map)
}

/// The deployment map of both settings: `CHARGEBACK_DEPLOYMENTS` entries supersede legacy ones.
pub fn deployment_settings(
    deployments: Option<&str>,
    legacy_models: Option<&str>,
) -> Result<DeploymentMap, DeploymentMapError> {
    let mut map = parse_deployment_models(legacy_models.unwrap_or(""))?;
    map.extend(parse_deployments(deployments.unwrap_or(""))?);
    Ok(map)
}

/// Where a resolved value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Setting,
    Sheet,
    Default,
}

/// The setting and the sheet disagree about a deployment; the setting won.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentWarning {
    pub deployment: String,
    pub field: &'static str,
    pub setting: String,
    pub sheet: String,
}

impl fmt::Display for DeploymentWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deployment {:?}: the setting says {} {:?}, the price sheet says {:?}; using the setting",
            self.deployment, self.field, self.setting, self.sheet
        )
    }
}

/// A deployment's model (when known) and type, with where the type came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedDeployment {
    pub model: Option<String>,
    pub deployment_type: DeploymentType,
    pub type_source: Source,
    pub warnings: Vec<DeploymentWarning>,
}

/// Resolves a deployment: the setting wins (it reflects what is deployed), the sheet's
/// `deployments` fill gaps, a disagreement is returned as a warning, and with neither the
/// type is `GlobalStandard`. Names match case-insensitively.
pub fn resolve_deployment(
    deployment: Option<&str>,
    setting: &DeploymentMap,
    sheet: &DeploymentMap,
) -> ResolvedDeployment {
    let name = deployment.map(|d| d.trim().to_ascii_lowercase());
    let empty = DeploymentEntry::default();
    let lookup = |m: &'_ DeploymentMap| name.as_ref().and_then(|n| m.get(n)).cloned();
    let (set, sht) = (lookup(setting), lookup(sheet));
    let (set, sht) = (
        set.as_ref().unwrap_or(&empty),
        sht.as_ref().unwrap_or(&empty),
    );
    let mut warnings = Vec::new();
    let mut warn = |field: &'static str, a: String, b: String| {
        warnings.push(DeploymentWarning {
            deployment: name.clone().unwrap_or_default(),
            field,
            setting: a,
            sheet: b,
        })
    };
    if let (Some(a), Some(b)) = (&set.model, &sht.model) {
        if !a.eq_ignore_ascii_case(b) {
            warn("model", a.clone(), b.clone());
        }
    }
    if let (Some(a), Some(b)) = (set.deployment_type, sht.deployment_type) {
        let any = DeploymentType::Provisioned;
        let compatible =
            a == b || (a == any && b.is_provisioned()) || (b == any && a.is_provisioned());
        if !compatible {
            warn("deploymentType", a.to_string(), b.to_string());
        }
    }
    let (deployment_type, type_source) = match (set.deployment_type, sht.deployment_type) {
        (Some(t), _) => (t, Source::Setting),
        (None, Some(t)) => (t, Source::Sheet),
        (None, None) => (DeploymentType::DEFAULT, Source::Default),
    };
    ResolvedDeployment {
        model: set.model.clone().or_else(|| sht.model.clone()),
        deployment_type,
        type_source,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_types_are_azure_sku_names_and_provisioned_covers_all_three() {
        assert_eq!(
            "datazonestandard".parse(),
            Ok(DeploymentType::DataZoneStandard)
        );
        assert!("Global Standard".parse::<DeploymentType>().is_err());
        for t in DeploymentType::ALL {
            assert_eq!(t.as_str().parse(), Ok(t));
        }
        let provisioned: Vec<_> = DeploymentType::ALL
            .into_iter()
            .filter(|t| t.is_provisioned())
            .collect();
        assert_eq!(provisioned.len(), 4);
        assert!(!DeploymentType::GlobalBatch.is_provisioned());
    }

    #[test]
    fn the_deployments_setting_names_model_and_type() {
        let m = parse_deployments(" chat-eu = gpt-4o:DataZoneStandard ,, ptu=gpt-4o:Provisioned, e=text-embedding-3-small").unwrap();
        assert_eq!(
            m["chat-eu"].deployment_type,
            Some(DeploymentType::DataZoneStandard)
        );
        assert_eq!(m["ptu"].model.as_deref(), Some("gpt-4o"));
        assert_eq!(m["e"].deployment_type, None);
        let err = parse_deployments("chat=gpt-4o:Regional").unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown deployment type \"Regional\""),
            "{err}"
        );
        assert!(parse_deployments("chat").is_err());
        assert!(parse_deployments("=gpt-4o:Standard").is_err());
    }

    #[test]
    fn the_legacy_setting_stays_readable_and_the_new_one_supersedes_it() {
        let m = deployment_settings(Some("Chat=gpt-4.1:Standard"), Some("chat=gpt-4o, emb=ada"))
            .unwrap();
        assert_eq!(m["chat"].model.as_deref(), Some("gpt-4.1"));
        assert_eq!(m["emb"].deployment_type, None);
        let err = parse_deployment_models("chat").unwrap_err();
        assert!(err.to_string().contains("CHARGEBACK_DEPLOYMENT_MODELS"));
    }

    #[test]
    fn the_setting_wins_the_sheet_fills_gaps_and_a_disagreement_is_a_warning() {
        let setting = parse_deployments("chat=gpt-4o:GlobalStandard, bare=gpt-4o").unwrap();
        let sheet = parse_deployments(
            "chat=gpt-4o:DataZoneStandard, bare=:DataZoneStandard, ptu=gpt-4o:Provisioned",
        )
        .unwrap();
        let r = resolve_deployment(Some("CHAT"), &setting, &sheet);
        assert_eq!(r.deployment_type, DeploymentType::GlobalStandard);
        assert_eq!(r.type_source, Source::Setting);
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].to_string().contains("using the setting"));
        let r = resolve_deployment(Some("bare"), &setting, &sheet);
        assert_eq!(
            (r.deployment_type, r.type_source),
            (DeploymentType::DataZoneStandard, Source::Sheet)
        );
        assert!(r.warnings.is_empty());
        let r = resolve_deployment(Some("ptu"), &setting, &sheet);
        assert!(r.deployment_type.is_provisioned());
        let r = resolve_deployment(Some("other"), &setting, &sheet);
        assert_eq!(
            (r.deployment_type, r.type_source),
            (DeploymentType::GlobalStandard, Source::Default)
        );
        assert_eq!(resolve_deployment(None, &setting, &sheet).model, None);
    }
}
