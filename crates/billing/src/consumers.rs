//! Cost centers: the `--consumers` CSV (`match,value,costCenter,team,displayName`) mapping APIM
//! subscriptions, products, Entra caller apps and APIM users to what finance bills. The most
//! specific match wins: callerAppId, then subscriptionId, then productId, then userId.

use std::collections::BTreeMap;

use chargeback_core::Consumer;

/// What a consumer is billed as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerEntry {
    pub cost_center: Option<String>,
    pub team: Option<String>,
    pub display_name: Option<String>,
}

/// The `match` column: which consumer field `value` is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchOn {
    CallerAppId,
    SubscriptionId,
    ProductId,
    UserId,
}

impl MatchOn {
    /// In precedence order: the most specific first.
    pub const PRECEDENCE: [MatchOn; 4] = [
        MatchOn::CallerAppId,
        MatchOn::SubscriptionId,
        MatchOn::ProductId,
        MatchOn::UserId,
    ];

    fn parse(s: &str) -> Option<MatchOn> {
        match s.trim() {
            "callerAppId" => Some(MatchOn::CallerAppId),
            "subscriptionId" => Some(MatchOn::SubscriptionId),
            "productId" => Some(MatchOn::ProductId),
            "userId" => Some(MatchOn::UserId),
            _ => None,
        }
    }

    fn value_of(self, c: &Consumer) -> Option<&str> {
        match self {
            MatchOn::CallerAppId => c.caller_app_id.as_deref(),
            MatchOn::SubscriptionId => c.subscription_id.as_deref(),
            MatchOn::ProductId => c.product_id.as_deref(),
            MatchOn::UserId => c.user_id.as_deref(),
        }
    }
}

/// A bad consumers file, with its line number (1 = the header).
#[derive(Debug, thiserror::Error)]
pub enum ConsumersError {
    #[error("line {line}: {message}")]
    Line { line: u64, message: String },
    #[error("the header must be match,value,costCenter,team,displayName (got {0:?})")]
    Header(String),
}

/// The parsed consumers file.
#[derive(Debug, Clone, Default)]
pub struct ConsumerMap {
    entries: BTreeMap<(MatchOn, String), ConsumerEntry>,
}

impl ConsumerMap {
    /// Parses the CSV text (`csv` crate; header required; values compared exactly, ids
    /// case-insensitively).
    pub fn from_csv(text: &str) -> Result<ConsumerMap, ConsumersError> {
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(text.as_bytes());
        let header = rdr
            .headers()
            .map_err(|e| ConsumersError::Header(e.to_string()))?
            .clone();
        let want = ["match", "value", "costCenter", "team", "displayName"];
        if header.iter().collect::<Vec<_>>() != want {
            return Err(ConsumersError::Header(
                header.iter().collect::<Vec<_>>().join(","),
            ));
        }
        let mut map = ConsumerMap::default();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| ConsumersError::Line {
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            })?;
            let line = rec.position().map_or(0, |p| p.line());
            let err = |message: String| ConsumersError::Line { line, message };
            if rec.len() != want.len() {
                return Err(err(format!("{} fields, expected 5", rec.len())));
            }
            let on = MatchOn::parse(&rec[0]).ok_or_else(|| {
                err(format!(
                    "match {:?} is not callerAppId, subscriptionId, productId or userId",
                    &rec[0]
                ))
            })?;
            if rec[1].is_empty() {
                return Err(err("empty value".into()));
            }
            let opt = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
            let entry = ConsumerEntry {
                cost_center: opt(&rec[2]),
                team: opt(&rec[3]),
                display_name: opt(&rec[4]),
            };
            let key = (on, rec[1].to_ascii_lowercase());
            if map.entries.insert(key, entry).is_some() {
                return Err(err(format!("{} {:?} is listed twice", &rec[0], &rec[1])));
            }
        }
        Ok(map)
    }

    /// The entry of the most specific field of `c` that the file lists.
    pub fn lookup(&self, c: &Consumer) -> Option<&ConsumerEntry> {
        MatchOn::PRECEDENCE.iter().find_map(|on| {
            let v = on.value_of(c)?.to_ascii_lowercase();
            self.entries.get(&(*on, v))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "match,value,costCenter,team,displayName
userId,u-1,CC-USER,Users,A user
productId,aoai-standard,CC-PROD,Platform,Standard product
subscriptionId,fin-analytics,CC-FIN,Finance,Finance analytics
callerAppId,11111111-app,CC-APP,Apps,The finance app
";

    fn consumer(sub: Option<&str>, app: Option<&str>) -> Consumer {
        Consumer {
            subscription_id: sub.map(str::to_string),
            product_id: Some("aoai-standard".into()),
            user_id: Some("u-1".into()),
            caller_app_id: app.map(str::to_string),
            ..Consumer::default()
        }
    }

    #[test]
    fn the_most_specific_match_wins_caller_app_then_subscription_then_product_then_user() {
        let m = ConsumerMap::from_csv(FILE).unwrap();
        let cc = |c: &Consumer| m.lookup(c).and_then(|e| e.cost_center.clone());
        let app = consumer(Some("fin-analytics"), Some("11111111-APP"));
        assert_eq!(cc(&app).as_deref(), Some("CC-APP"));
        assert_eq!(
            cc(&consumer(Some("fin-analytics"), None)).as_deref(),
            Some("CC-FIN")
        );
        assert_eq!(
            cc(&consumer(Some("other"), None)).as_deref(),
            Some("CC-PROD")
        );
        let user_only = Consumer {
            user_id: Some("u-1".into()),
            ..Consumer::default()
        };
        assert_eq!(cc(&user_only).as_deref(), Some("CC-USER"));
        assert!(m.lookup(&Consumer::default()).is_none());
    }

    #[test]
    fn a_bad_consumers_file_is_an_error_naming_its_line() {
        let bad = "match,value,costCenter,team,displayName\nuserId,u,a,b,c\ntenantId,x,a,b,c\n";
        let e = ConsumerMap::from_csv(bad).unwrap_err().to_string();
        assert!(e.starts_with("line 3:"), "{e}");
        let short = "match,value,costCenter,team,displayName\nuserId,u,a\n";
        assert!(ConsumerMap::from_csv(short)
            .unwrap_err()
            .to_string()
            .starts_with("line 2:"));
        assert!(ConsumerMap::from_csv("a,b\n").is_err());
    }
}
