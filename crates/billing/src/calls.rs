//! A billable call as statements and the FOCUS export see it: who, which deployment, the tokens
//! of each kind and the exact cost of each kind (or why there is none). Built from usage records
//! by [`call_of`]; deduplicated by [`Dedupe`].

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use chargeback_core::UsageRecord;
use chargeback_statements::{Duplicates, Party, TokenKind};

/// The exact cost of one call, per token kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCost {
    pub currency: String,
    pub input: Decimal,
    pub cached_input: Decimal,
    pub output: Decimal,
    pub total: Decimal,
    pub price_sheet: String,
}

/// One billable call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub day: NaiveDate,
    pub consumer: Party,
    pub deployment: String,
    pub model: String,
    /// Azure SKU name.
    pub deployment_type: String,
    /// The Azure OpenAI operation (`chat.completions`, `embeddings`, …).
    pub operation: String,
    /// Prompt tokens not served from the cache.
    pub input_tokens: u64,
    pub cached_tokens: u64,
    pub output_tokens: u64,
    pub cost: Option<CallCost>,
}

impl Call {
    /// Tokens and exact amount of one kind (the amount is zero for an unpriced call).
    pub fn kind(&self, kind: TokenKind) -> (u64, Decimal) {
        let c = self.cost.as_ref();
        match kind {
            TokenKind::Input => (self.input_tokens, c.map_or(Decimal::ZERO, |c| c.input)),
            TokenKind::CachedInput => (
                self.cached_tokens,
                c.map_or(Decimal::ZERO, |c| c.cached_input),
            ),
            TokenKind::Output => (self.output_tokens, c.map_or(Decimal::ZERO, |c| c.output)),
        }
    }

    /// Why a call without a cost has none.
    pub fn unpriced_reason(&self) -> String {
        if self.model == "-" {
            "the call names no model".into()
        } else {
            format!("no rate for {} / {}", self.model, self.deployment_type)
        }
    }
}

/// The consumer of a record: its stable billing key and display name (cost center and team are
/// filled by a consumers directory where one is given).
pub fn party_of(r: &UsageRecord) -> Party {
    Party {
        display_name: r.consumer.label().to_string(),
        id: r.consumer.billing_key().to_string(),
        cost_center: None,
        team: None,
    }
}

fn decimal(x: f64) -> Decimal {
    Decimal::try_from(x).unwrap_or_default()
}

/// The call of a billable record; `None` for a non-billable one (429s and errors recorded with
/// zero tokens) or one whose `eventTime` is not a date.
pub fn call_of(r: &UsageRecord, consumer: Party) -> Option<Call> {
    if !r.billable {
        return None;
    }
    let day = NaiveDate::parse_from_str(r.event_time.get(..10)?, "%Y-%m-%d").ok()?;
    let or_dash = |s: Option<&str>| s.filter(|v| !v.is_empty()).unwrap_or("-").to_string();
    let cached = r.cached_tokens.min(r.prompt_tokens);
    Some(Call {
        day,
        consumer,
        deployment: or_dash(r.deployment.as_deref()),
        model: or_dash(r.model.as_deref()),
        deployment_type: "GlobalStandard".into(),
        operation: r.api_operation.as_str().to_string(),
        input_tokens: r.prompt_tokens - cached,
        cached_tokens: cached,
        output_tokens: r.completion_tokens,
        cost: r.cost.as_ref().map(|c| CallCost {
            currency: c.currency.clone(),
            input: decimal(c.input),
            cached_input: decimal(c.cached_input),
            output: decimal(c.output),
            total: decimal(c.total),
            price_sheet: c.price_sheet.clone(),
        }),
    })
}

/// Drops repeated `requestId`s (the first wins), counting identical and conflicting repeats.
#[derive(Debug, Default)]
pub struct Dedupe {
    seen: HashMap<String, u64>,
    pub duplicates: Duplicates,
}

impl Dedupe {
    /// True when the record is the first with its `requestId`.
    pub fn first(&mut self, r: &UsageRecord) -> bool {
        let mut h = DefaultHasher::new();
        serde_json::to_string(r).unwrap_or_default().hash(&mut h);
        let fingerprint = h.finish();
        match self.seen.get(&r.request_id) {
            None => {
                self.seen.insert(r.request_id.clone(), fingerprint);
                true
            }
            Some(f) if *f == fingerprint => {
                self.duplicates.identical += 1;
                false
            }
            Some(_) => {
                self.duplicates.conflicting += 1;
                false
            }
        }
    }
}
