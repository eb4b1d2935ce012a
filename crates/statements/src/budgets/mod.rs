//! Budgets: the budgets file (JSON; errors carry the line and column), and the evaluation of a
//! month's spend against each budget (share, thresholds crossed, exceeded). Rendering is in
//! `render.rs`.

mod file;
mod render;

pub use file::{load_budgets, parse_budgets, Budget, BudgetError, BudgetScope, Budgets};
pub use render::{render_budget_html, render_budget_lines, render_budgets_table_html};

use rust_decimal::Decimal;

/// The exit code of `report` when any budget is exceeded.
pub const EXIT_BUDGET_EXCEEDED: i32 = 4;

/// What a scope spent in the period (pay-as-you-go plus allocated provisioned cost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spend {
    pub scope: BudgetScope,
    pub currency: String,
    pub amount: Decimal,
}

/// One alert threshold, in percent of the monthly budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdStatus {
    pub percent: Decimal,
    /// `spent ≥ percent % of monthly`.
    pub crossed: bool,
}

/// A budget against its spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetStatus {
    pub scope: BudgetScope,
    pub currency: String,
    pub monthly: Decimal,
    pub spent: Decimal,
    /// `spent / monthly × 100`, exact to 28 digits (shown rounded to one decimal).
    pub share_percent: Decimal,
    pub thresholds: Vec<ThresholdStatus>,
    /// `spent > monthly`.
    pub exceeded: bool,
}

impl BudgetStatus {
    /// The highest threshold crossed, if any.
    pub fn highest_crossed(&self) -> Option<Decimal> {
        self.thresholds
            .iter()
            .filter(|t| t.crossed)
            .map(|t| t.percent)
            .max()
    }
}

/// Evaluates one budget against an amount spent in its currency.
pub fn evaluate(budget: &Budget, currency: &str, spent: Decimal) -> BudgetStatus {
    let hundred = Decimal::ONE_HUNDRED;
    let thresholds = budget
        .thresholds
        .iter()
        .map(|p| ThresholdStatus {
            percent: *p,
            crossed: spent * hundred >= *p * budget.monthly,
        })
        .collect();
    BudgetStatus {
        scope: budget.scope.clone(),
        currency: currency.to_string(),
        monthly: budget.monthly,
        spent,
        share_percent: (spent * hundred)
            .checked_div(budget.monthly)
            .unwrap_or_default(),
        thresholds,
        exceeded: spent > budget.monthly,
    }
}

impl Budgets {
    /// Every budget against the spend of its scope (zero when the scope spent nothing). Spend in
    /// another currency than the budgets' is an error: currencies are never converted.
    pub fn evaluate(&self, spend: &[Spend]) -> Result<Vec<BudgetStatus>, BudgetError> {
        self.budgets
            .iter()
            .map(|b| {
                let mut total = Decimal::ZERO;
                for s in spend.iter().filter(|s| s.scope == b.scope) {
                    if !s.currency.eq_ignore_ascii_case(&self.currency) {
                        return Err(BudgetError::Currency {
                            scope: b.scope.to_string(),
                            budget: self.currency.clone(),
                            spent: s.currency.clone(),
                        });
                    }
                    total += s.amount;
                }
                Ok(evaluate(b, &self.currency, total))
            })
            .collect()
    }
}

/// True when any budget is exceeded (then `report` exits with [`EXIT_BUDGET_EXCEEDED`]).
pub fn any_exceeded(statuses: &[BudgetStatus]) -> bool {
    statuses.iter().any(|s| s.exceeded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn budgets() -> Budgets {
        parse_budgets(
            r#"{"currency":"EUR","budgets":[
              {"costCenter":"CC-4100","monthly":500.00,"thresholds":[50,80,100]},
              {"consumer":"3f9a1c52-7d1e-4b0a-9c1f-2e8d5a6b7c90","monthly":100}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_threshold_is_crossed_at_exactly_its_share_and_exceeded_only_above_the_budget() {
        let b = &budgets().budgets[0];
        let at = evaluate(b, "EUR", d("400.00"));
        assert_eq!(
            at.thresholds.iter().map(|t| t.crossed).collect::<Vec<_>>(),
            [true, true, false]
        );
        assert!(!at.exceeded);
        assert_eq!(at.share_percent, d("80"));
        let full = evaluate(b, "EUR", d("500.00"));
        assert!(full.thresholds[2].crossed && !full.exceeded);
        let over = evaluate(b, "EUR", d("500.01"));
        assert!(over.exceeded);
        assert!(any_exceeded(&[at, over]));
    }

    #[test]
    fn a_scope_without_spend_has_spent_nothing() {
        let s = budgets().evaluate(&[]).unwrap();
        assert_eq!(s[1].spent, Decimal::ZERO);
        assert!(!any_exceeded(&s));
    }

    #[test]
    fn spend_of_one_scope_adds_up_and_other_scopes_do_not_count() {
        let cc = BudgetScope::CostCenter("CC-4100".into());
        let spend = [
            Spend {
                scope: cc.clone(),
                currency: "EUR".into(),
                amount: d("300.10"),
            },
            Spend {
                scope: cc,
                currency: "EUR".into(),
                amount: d("250.00"),
            },
            Spend {
                scope: BudgetScope::CostCenter("CC-9999".into()),
                currency: "EUR".into(),
                amount: d("9999"),
            },
        ];
        let s = budgets().evaluate(&spend).unwrap();
        assert_eq!(s[0].spent, d("550.10"));
        assert!(s[0].exceeded);
        assert!(!s[1].exceeded);
    }

    #[test]
    fn spend_in_another_currency_is_an_error_not_a_conversion() {
        let spend = [Spend {
            scope: BudgetScope::CostCenter("CC-4100".into()),
            currency: "USD".into(),
            amount: d("1"),
        }];
        let err = budgets().evaluate(&spend).unwrap_err().to_string();
        assert!(err.contains("USD") && err.contains("EUR"), "{err}");
    }
}
