//! Inline SVG charts drawn here (no script, no fonts or images fetched): a daily column chart and a
//! horizontal bar chart, with axis labels, gridlines and amounts. Amounts become `f64` only to place
//! pixels; every number written as text goes through the money presentation rule.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::escape;
use crate::money::{present, present_line, present_total};

/// A round axis step (1, 2 or 5 × 10ⁿ) giving about four gridlines up to `max`, and the tick count.
fn axis(max: Decimal) -> (Decimal, u32) {
    if max <= Decimal::ZERO {
        return (Decimal::ONE, 1);
    }
    let raw = max / Decimal::from(4);
    let mut mag = Decimal::ONE;
    while mag > raw {
        mag /= Decimal::TEN;
    }
    while mag * Decimal::TEN <= raw {
        mag *= Decimal::TEN;
    }
    let step = [1u8, 2, 5, 10]
        .iter()
        .map(|m| mag * Decimal::from(*m))
        .find(|s| *s >= raw)
        .unwrap_or(mag * Decimal::TEN);
    let mut ticks = 1;
    while step * Decimal::from(ticks) < max {
        ticks += 1;
    }
    (step, ticks)
}

/// The axis of a chart over `values`: step, tick count and the axis' top value.
fn scale(values: impl Iterator<Item = Decimal>) -> (Decimal, u32, Decimal) {
    let (step, ticks) = axis(values.max().unwrap_or_default());
    (step, ticks, step * Decimal::from(ticks))
}

fn svg_open(id: &str, w: f64, h: f64, title: &str) -> String {
    format!(
        r#"<svg class="chart" id="{}" role="img" viewBox="0 0 {w} {h}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(id),
        escape(title)
    )
}

fn tick_label(v: Decimal, step: Decimal) -> String {
    present(v, step.normalize().scale())
}

fn ratio(v: Decimal, top: Decimal) -> f64 {
    if top <= Decimal::ZERO {
        return 0.0;
    }
    (v / top).to_f64().unwrap_or(0.0).clamp(0.0, 1.0)
}

/// The x label under a day's column: within a month the 1st and every 5th day; over a longer
/// span the first day of each month as `YYYY-MM`.
fn day_label(day: NaiveDate, span: usize) -> Option<String> {
    let d = day.day();
    if span > 31 {
        (d == 1).then(|| day.format("%Y-%m").to_string())
    } else {
        (d == 1 || d % 5 == 0).then(|| d.to_string())
    }
}

/// A column per day of `days` (every day of the period, zero where nothing was spent).
pub fn daily_columns(days: &[(NaiveDate, Decimal)], currency: &str, id: &str) -> String {
    let (w, h, left, right, top, bottom) = (760.0, 240.0, 64.0, 12.0, 14.0, 34.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let (step, ticks, top_value) = scale(days.iter().map(|d| d.1));
    let mut s = svg_open(id, w, h, &format!("Daily cost ({currency})"));
    for i in 0..=ticks {
        let v = step * Decimal::from(i);
        let y = top + plot_h * (1.0 - ratio(v, top_value));
        let _ = write!(
            s,
            r#"<line class="grid" x1="{left}" x2="{x2}" y1="{y:.1}" y2="{y:.1}"/><text class="ylab" x="{lx}" y="{ty:.1}" text-anchor="end">{lab}</text>"#,
            x2 = w - right,
            lx = left - 6.0,
            ty = y + 4.0,
            lab = tick_label(v, step)
        );
    }
    if top_value == Decimal::ONE && days.iter().all(|d| d.1.is_zero()) {
        let _ = write!(
            s,
            r#"<text class="empty" x="{x}" y="{y}" text-anchor="middle">No pay-as-you-go cost in this period</text>"#,
            x = left + plot_w / 2.0,
            y = top + plot_h / 2.0
        );
    }
    let n = days.len().max(1) as f64;
    let slot = plot_w / n;
    let bar = (slot * 0.7).max(1.0);
    for (i, (day, amount)) in days.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let bh = plot_h * ratio(*amount, top_value);
        let _ = write!(
            s,
            r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{bh:.1}"><title>{day}: {amt} {cur}</title></rect>"#,
            y = top + plot_h - bh,
            amt = present_line(*amount, currency),
            cur = escape(currency)
        );
        if let Some(label) = day_label(*day, days.len()) {
            let _ = write!(
                s,
                r#"<text class="xlab" x="{cx:.1}" y="{ty}" text-anchor="middle">{label}</text>"#,
                cx = x + bar / 2.0,
                ty = h - bottom + 16.0
            );
        }
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="{left}" x2="{x2}" y1="{y}" y2="{y}"/><text class="xlab" x="{mx}" y="{ly}" text-anchor="middle">{axis_name} (UTC)</text></svg>"#,
        axis_name = if days.len() > 31 {
            "month"
        } else {
            "day of month"
        },
        x2 = w - right,
        y = top + plot_h,
        mx = left + plot_w / 2.0,
        ly = h - 2.0
    );
    s
}

const LABEL_CHARS: usize = 30;

fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_string();
    }
    let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

/// One bar of [`horizontal_bars`]: pay-as-you-go and allocated parts, and the total shown.
pub struct Bar {
    pub label: String,
    pub payg: Decimal,
    pub allocated: Decimal,
    pub total: Decimal,
}

/// A horizontal bar per row (in the order given), pay-as-you-go then the allocated provisioned
/// share stacked after it, the total at the bar's end, and a legend.
pub fn horizontal_bars(rows: &[Bar], currency: &str, id: &str) -> String {
    let (w, left, right, row_h, top) = (760.0, 230.0, 110.0, 26.0, 8.0);
    let plot_w = w - left - right;
    let base = top + row_h * rows.len().max(1) as f64;
    let h = base + 44.0;
    let (step, ticks, top_value) = scale(rows.iter().map(|r| r.total.max(r.payg + r.allocated)));
    let mut s = svg_open(id, w, h, &format!("Cost per row ({currency})"));
    for i in 0..=ticks {
        let v = step * Decimal::from(i);
        let x = left + plot_w * ratio(v, top_value);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{base}"/><text class="xlab" x="{x:.1}" y="{ty}" text-anchor="middle">{lab}</text>"#,
            ty = base + 14.0,
            lab = tick_label(v, step)
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let pw = plot_w * ratio(r.payg, top_value);
        let aw = plot_w * ratio(r.allocated, top_value);
        let _ = write!(
            s,
            r#"<text class="ylab" x="{lx}" y="{ty:.1}" text-anchor="end">{lab}<title>{full}</title></text><rect class="bar" x="{left}" y="{by:.1}" width="{pw:.1}" height="{bh:.1}"/><rect class="bar2" x="{ax:.1}" y="{by:.1}" width="{aw:.1}" height="{bh:.1}"/><text class="val" x="{vx:.1}" y="{ty:.1}">{amt}</text>"#,
            lx = left - 8.0,
            ty = y + row_h / 2.0 + 4.0,
            lab = escape(&short(&r.label)),
            full = escape(&r.label),
            by = y + 4.0,
            bh = row_h - 8.0,
            ax = left + pw,
            vx = left + pw + aw + 6.0,
            amt = present_total(r.total, currency)
        );
    }
    let ly = base + 30.0;
    let _ = write!(
        s,
        r#"<rect class="bar" x="{left}" y="{ry}" width="12" height="10"/><text x="{t1}" y="{ly}">pay-as-you-go</text><rect class="bar2" x="{r2}" y="{ry}" width="12" height="10"/><text x="{t2}" y="{ly}">allocated provisioned</text></svg>"#,
        ry = ly - 9.0,
        t1 = left + 16.0,
        r2 = left + 120.0,
        t2 = left + 136.0
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn the_axis_step_is_round_and_covers_the_maximum() {
        assert_eq!(axis(d("173.40")), (d("50"), 4));
        assert_eq!(axis(d("0.0123")), (d("0.005"), 3));
        assert_eq!(axis(d("8")), (d("2"), 4));
        assert_eq!(axis(Decimal::ZERO), (Decimal::ONE, 1));
    }

    #[test]
    fn long_labels_are_shortened_but_kept_whole_in_the_tooltip() {
        let rows = vec![Bar {
            label: "A very long consumer name that goes on & on".into(),
            payg: d("1"),
            allocated: d("0"),
            total: d("1"),
        }];
        let svg = horizontal_bars(&rows, "EUR", "c");
        assert!(svg.contains("A very long consumer name tha…"));
        assert!(svg.contains("<title>A very long consumer name that goes on &amp; on</title>"));
    }
}
