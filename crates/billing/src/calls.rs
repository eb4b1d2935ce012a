//! A billable call as statements and the FOCUS export see it: who, which deployment, the tokens
//! of each kind and the exact cost of each kind (or why there is none). Built from usage records
//! by [`call_of`] (the ledger reader has already deduplicated them).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use chargeback_core::{Consumer, UsageRecord};
use chargeback_statements::{Party, TokenKind};

use crate::consumers::ConsumerMap;

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
    /// The record's consumer fields (for groupings that look them up again).
    pub source: Consumer,
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
    /// The record's `unpriced` reason code, when it has no cost.
    pub unpriced: Option<String>,
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
        match self.unpriced.as_deref() {
            _ if self.model == "-" => "the call names no model".into(),
            Some("beforeFirstRate") => format!(
                "before the first rate of {} / {}",
                self.model, self.deployment_type
            ),
            Some("noRateForType") => format!("no {} rate for {}", self.deployment_type, self.model),
            Some("provisioned") => format!(
                "provisioned deployment {} with no monthly cost in the price sheet",
                self.deployment
            ),
            _ => format!("no rate for {} / {}", self.model, self.deployment_type),
        }
    }
}

/// The consumer of a record: its stable billing key and display name, with the cost center,
/// team and display name of the `--consumers` map when one is given and names it.
pub fn party_of(r: &UsageRecord, consumers: Option<&ConsumerMap>) -> Party {
    let entry = consumers.and_then(|m| m.lookup(&r.consumer));
    Party {
        display_name: entry
            .and_then(|e| e.display_name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| r.consumer.label().to_string()),
        id: r.consumer.billing_key().to_string(),
        cost_center: entry
            .and_then(|e| e.cost_center.clone())
            .filter(|v| !v.is_empty()),
        team: entry.and_then(|e| e.team.clone()).filter(|v| !v.is_empty()),
    }
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
        source: r.consumer.clone(),
        deployment: or_dash(r.deployment.as_deref()),
        model: or_dash(r.model.as_deref()),
        deployment_type: r.deployment_type.as_str().to_string(),
        operation: r.api_operation.as_str().to_string(),
        input_tokens: r.prompt_tokens - cached,
        cached_tokens: cached,
        output_tokens: r.completion_tokens,
        unpriced: r.unpriced.clone(),
        cost: r.cost.as_ref().map(|c| CallCost {
            currency: c.currency.clone(),
            input: c.input,
            cached_input: c.cached_input,
            output: c.output,
            total: c.total,
            price_sheet: c.price_sheet.clone(),
        }),
    })
}
