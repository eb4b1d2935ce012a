//! chargeback-statements: the bill people read, rendered from numbers the billing crate computed.
//! PURE apart from [`write_statement_set`] writing the files it renders.
//!
//! Layout:
//! - `model`   — the input model: [`Statement`], [`Overview`] and their parts (exact `Decimal`s,
//!   one currency per statement or overview section).
//! - `money`   — the presentation rule (rounding once, half away from zero) and precisions.
//! - `html`    — self-contained pages: [`render_statement_html`], [`render_overview_html`]
//!   (inline CSS and SVG charts, no script, A4 print rules), and HTML escaping.
//! - `files`   — a statement's CSV, safe file names, [`write_statement_set`].
//! - `focus`   — the FOCUS 1.2 cost-and-usage CSV: [`FocusRow`] in, [`render_focus_csv`] out.
//! - `budgets` — the budgets file, [`Budgets::evaluate`], text and HTML rendering.

mod budgets;
mod files;
mod focus;
mod html;
mod model;
mod money;

pub use budgets::{
    any_exceeded, evaluate as evaluate_budget, load_budgets, parse_budgets, render_budget_html,
    render_budget_lines, render_budgets_table_html, Budget, BudgetError, BudgetScope, BudgetStatus,
    Budgets, Spend, ThresholdStatus, EXIT_BUDGET_EXCEEDED,
};
pub use files::{render_statement_csv, safe_stem, write_statement_set, WriteError};
pub use focus::{
    render_focus_csv, FocusContext, FocusDeployment, FocusError, FocusProvisioned, FocusRow,
    FocusShare, FOCUS_COLUMNS, FOCUS_MANDATORY_COLUMNS, FOCUS_VERSION,
};
pub use html::{
    escape, render_overview_html, render_overview_html_with_links, render_statement_html,
};
pub use model::{
    DailyCost, Duplicates, Line, LineKind, Overview, OverviewRow, OverviewSection, Party,
    Statement, TokenKind, Totals, Unallocated, Unpriced, YearMonth,
};
pub use money::{
    minor_unit_digits, present, present_line, present_rate, present_total, LINE_EXTRA_DIGITS,
};
