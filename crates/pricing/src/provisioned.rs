//! Provisioned (PTU) deployments: a monthly amount and the weights per token kind that turn a
//! consumer's tokens into its share of that amount.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Weights per token kind. The defaults follow Azure's provisioned-throughput guidance: one
/// output token counts as four input tokens toward a PTU deployment's utilisation (for gpt-4.1
/// and later models, matching the pay-as-you-go price ratio), and cached tokens are deducted
/// 100% from utilisation, so they weigh nothing. Source:
/// <https://learn.microsoft.com/azure/ai-services/openai/how-to/provisioned-throughput-onboarding>
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenWeights {
    #[serde(with = "crate::json_number")]
    pub input: Decimal,
    #[serde(with = "crate::json_number")]
    pub cached_input: Decimal,
    #[serde(with = "crate::json_number")]
    pub output: Decimal,
}

impl Default for TokenWeights {
    fn default() -> Self {
        TokenWeights {
            input: Decimal::ONE,
            cached_input: Decimal::ZERO,
            output: Decimal::from(4),
        }
    }
}

impl TokenWeights {
    /// A call's weight: (prompt − cached) × input + cached × cachedInput + completion × output.
    /// Cached tokens above the prompt count as prompt tokens, as in pricing.
    pub fn weighted_tokens(&self, prompt: u64, cached: u64, completion: u64) -> Decimal {
        let cached = cached.min(prompt);
        Decimal::from(prompt - cached) * self.input
            + Decimal::from(cached) * self.cached_input
            + Decimal::from(completion) * self.output
    }
}

/// One provisioned deployment of the sheet's `provisioned` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionedDeployment {
    /// The cost of one UTC calendar month, in the sheet's currency.
    #[serde(with = "crate::json_number")]
    pub monthly: Decimal,
    /// Omitted weights take the defaults of [`TokenWeights::default`].
    pub weights: TokenWeights,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_weights_count_an_output_token_as_four_inputs_and_cached_as_nothing() {
        let w = TokenWeights::default();
        assert_eq!(w.weighted_tokens(1000, 400, 100), Decimal::from(600 + 400));
        assert_eq!(w.weighted_tokens(10, 50, 0), Decimal::ZERO);
    }
}
