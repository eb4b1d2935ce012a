//! Re-pricing (`report --price-sheet SHEET --reprice`): a ledger row priced again under another
//! sheet from what the row itself keeps — its tokens, `eventTime`, model and deployment type —
//! without the original event.

use chargeback_core::pricing::{PriceSheet, Usage};
use chargeback_core::{parse_time, DeploymentType, UsageRecord};

/// `r` with its `cost` (or `unpriced` reason) recomputed under `sheet`. Non-billable rows are
/// returned as they are. The deployment type is the row's own, except that a row of the default
/// type whose deployment the sheet's `deployments` names with another type takes the sheet's:
/// ledgers written before deployment types were recorded read as `GlobalStandard`, and the sheet
/// is then the only source of the real meter.
pub fn reprice(mut r: UsageRecord, sheet: &PriceSheet) -> UsageRecord {
    if !r.billable {
        return r;
    }
    if r.deployment_type == DeploymentType::DEFAULT {
        let named = r
            .deployment
            .as_deref()
            .and_then(|d| sheet.deployments.get(&d.to_ascii_lowercase()))
            .and_then(|e| e.deployment_type);
        if let Some(t) = named {
            r.deployment_type = t;
        }
    }
    let usage = Usage {
        model: r.model.as_deref(),
        version: None,
        deployment_type: r.deployment_type,
        event_time: parse_time(&r.event_time).unwrap_or_default(),
        prompt: r.prompt_tokens,
        cached: r.cached_tokens,
        completion: r.completion_tokens,
    };
    match sheet.price(&usage) {
        Ok(cost) => {
            r.cost = Some(cost);
            r.unpriced = None;
        }
        Err(why) => {
            r.cost = None;
            r.unpriced = Some(why.code().to_string());
        }
    }
    r
}
