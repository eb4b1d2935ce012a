//! Azure OpenAI meter names → model, version, deployment type and token kind. The names are
//! irregular (`Inp`/`Inpt`/`Input`, `Outp`/`Opt`, `cached`/`cd`, `glbl`/`Gl`/`global`,
//! `DZone`/`Dz`/`Data Zone`, `regnl`), so the name is read word by word.

use crate::deployment::DeploymentType;

/// Which tokens a meter prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MeterKind {
    Input,
    CachedInput,
    Output,
}

/// What a token meter prices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterMapping {
    pub model: String,
    /// `MMDD` as in the name (`1120`), or `YYYY-MM-DD` from an eight-digit `MMDDYYYY`.
    pub version: Option<String>,
    pub deployment_type: DeploymentType,
    pub kind: MeterKind,
}

#[derive(Clone, Copy, PartialEq)]
enum Scope {
    Global,
    DataZone,
    Regional,
}

/// Words that mark a tier or modality no per-call text rate describes (priority processing,
/// flex, long context, fine-tuning, audio, realtime, images, cache writes).
const OTHER_TIERS: [&str; 17] = [
    "pp",
    "flex",
    "longco",
    "shortco",
    "ft",
    "finetune",
    "finetuned",
    "hosting",
    "training",
    "grader",
    "aud",
    "audio",
    "rt",
    "realtime",
    "img",
    "image",
    "wr",
];

/// The words of a meter name, sorted into what they say.
#[derive(Default)]
struct Words {
    input: bool,
    output: bool,
    cached: bool,
    batch: bool,
    scope: Option<Scope>,
    version: Option<String>,
    model: Vec<String>,
}

/// Reads a meter name word by word (split at spaces, `-` and `_`; a trailing `Tokens` and the
/// `1K`/`1M` unit ignored).
fn read_words(meter_name: &str) -> Result<Words, String> {
    let lower = meter_name.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !matches!(*w, "" | "tokens" | "token" | "1k" | "1m"))
        .collect();
    let mut r = Words::default();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        i += 1;
        let digits = w.bytes().all(|b| b.is_ascii_digit());
        match w {
            "inp" | "input" | "inpt" | "in" | "prompt" => r.input = true,
            "outp" | "output" | "outpt" | "out" | "opt" | "completion" => r.output = true,
            "cached" | "cchd" | "ccchd" | "cd" | "cache" | "cach" => r.cached = true,
            "glbl" | "global" | "gl" => r.scope = Some(Scope::Global),
            "dzone" | "dz" | "datazone" => r.scope = Some(Scope::DataZone),
            "data" if words.get(i) == Some(&"zone") => {
                r.scope = Some(Scope::DataZone);
                i += 1;
            }
            "regnl" | "regional" | "rgnl" => r.scope = Some(Scope::Regional),
            "batch" => r.batch = true,
            w if OTHER_TIERS.contains(&w) => {
                return Err(format!(
                    "{w:?} marks a tier or modality without a per-call token rate"
                ))
            }
            w if digits && w.len() == 4 => r.version = Some(w.to_string()),
            w if digits && w.len() == 8 => {
                r.version = Some(format!("{}-{}-{}", &w[4..], &w[..2], &w[2..4]))
            }
            w => r.model.push(w.to_string()),
        }
    }
    Ok(r)
}

/// Maps a meter name (and its product name, for `Azure OpenAI GPT5`'s bare `5.4` models) to
/// what it prices, or says why it cannot.
pub fn map_meter(meter_name: &str, product_name: &str) -> Result<MeterMapping, String> {
    let w = read_words(meter_name)?;
    if w.model.is_empty() {
        return Err("no model name in the meter name".into());
    }
    let mut name = w.model.join("-");
    if name.starts_with(|c: char| c.is_ascii_digit())
        && product_name.to_ascii_lowercase().contains("gpt")
    {
        name = format!("gpt-{name}");
    }
    let kind = match (w.cached, w.input, w.output) {
        (true, _, false) => MeterKind::CachedInput,
        (false, true, false) => MeterKind::Input,
        (false, false, true) => MeterKind::Output,
        (false, false, false) if name.contains("embedding") => MeterKind::Input,
        _ => {
            return Err(
                "no single token kind (input, cached input or output) in the meter name".into(),
            )
        }
    };
    let deployment_type = match (w.scope, w.batch) {
        (Some(Scope::Global), false) => DeploymentType::GlobalStandard,
        (Some(Scope::DataZone), false) => DeploymentType::DataZoneStandard,
        (Some(Scope::Regional), false) => DeploymentType::Standard,
        (Some(Scope::Global), true) => DeploymentType::GlobalBatch,
        (Some(Scope::DataZone), true) => DeploymentType::DataZoneBatch,
        (Some(Scope::Regional), true) => {
            return Err("regional batch is not an Azure deployment type".into())
        }
        (None, _) => {
            return Err("no deployment type (glbl, DZone, regnl, …) in the meter name".into())
        }
    };
    Ok(MeterMapping {
        model: name,
        version: w.version,
        deployment_type,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeploymentType::*;
    use MeterKind::*;

    fn m(name: &str, product: &str) -> (String, Option<String>, DeploymentType, MeterKind) {
        let r = map_meter(name, product).unwrap_or_else(|e| panic!("{name}: {e}"));
        (r.model, r.version, r.deployment_type, r.kind)
    }

    #[test]
    fn real_meter_names_map_to_model_version_type_and_kind() {
        let ao = "Azure OpenAI";
        let v = |s: &str| Some(s.to_string());
        assert_eq!(
            m("gpt 4o 1120 Inp glbl Tokens", ao),
            ("gpt-4o".into(), v("1120"), GlobalStandard, Input)
        );
        assert_eq!(
            m("gpt 4o 1120 cached Inp glbl Tokens", ao),
            ("gpt-4o".into(), v("1120"), GlobalStandard, CachedInput)
        );
        assert_eq!(
            m("gpt 4o 0513 Output global Tokens", ao),
            ("gpt-4o".into(), v("0513"), GlobalStandard, Output)
        );
        assert_eq!(
            m("gpt-4o-0806-Outp-glbl", ao),
            ("gpt-4o".into(), v("0806"), GlobalStandard, Output)
        );
        assert_eq!(
            m("gpt 4.1 Inp Data Zone Tokens", ao),
            ("gpt-4.1".into(), None, DataZoneStandard, Input)
        );
        assert_eq!(
            m("gpt 4.1 mini Outp regnl Tokens", ao),
            ("gpt-4.1-mini".into(), None, Standard, Output)
        );
        assert_eq!(
            m("o4-mini 0416 Inp glbl Tokens", ao),
            ("o4-mini".into(), v("0416"), GlobalStandard, Input)
        );
        assert_eq!(
            m("GPT 5 Mini Inpt Glbl 1M Tokens", "Azure OpenAI GPT5"),
            ("gpt-5-mini".into(), None, GlobalStandard, Input)
        );
        assert_eq!(
            m("5.4 mini cd Inp Gl", "Azure OpenAI GPT5"),
            ("gpt-5.4-mini".into(), None, GlobalStandard, CachedInput)
        );
        assert_eq!(
            m("5.4 mini Opt Dz", "Azure OpenAI GPT5"),
            ("gpt-5.4-mini".into(), None, DataZoneStandard, Output)
        );
        assert_eq!(
            m("gpt 4o 0513 Batch Inp glbl Tokens", ao),
            ("gpt-4o".into(), v("0513"), GlobalBatch, Input)
        );
        assert_eq!(
            m("gpt 4o 0806 Inp DZone Tokens", ao),
            ("gpt-4o".into(), v("0806"), DataZoneStandard, Input)
        );
        assert_eq!(
            m("text-embedding-3-small glbl Tokens", ao),
            ("text-embedding-3-small".into(), None, GlobalStandard, Input)
        );
        assert_eq!(
            m("chat-latest 08062026 opt Gl", "Azure OpenAI GPT5").1,
            v("2026-08-06")
        );
    }

    #[test]
    fn meters_of_other_tiers_or_without_kind_or_zone_are_unmappable() {
        for name in [
            "gpt-4o-aud-1217 Inp glbl Tokens",
            "5.4 mini pp Inp Gl",
            "gpt 4.1 weirdly worded glbl Tokens",
            "gpt 4.1 Inp Tokens",
            "6-sol ShortCo Cd Wr Std Gl",
        ] {
            assert!(map_meter(name, "Azure OpenAI").is_err(), "{name}");
        }
    }
}
