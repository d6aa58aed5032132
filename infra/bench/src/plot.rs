//! Two hand-written SVG figures of the load (no plotting crate): the latency distribution per class
//! (cumulative, log-scaled latency) and latency over time (p50 and p95 per second, all classes).

use std::collections::BTreeMap;
use std::fmt::Write;

pub struct Point {
    pub class: &'static str,
    /// Arrival, seconds from the start of the load.
    pub at_s: f64,
    pub latency_ms: f64,
}

const W: f64 = 760.0;
const H: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 210.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 13] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#393b79", "#637939", "#843c39",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn frame(title: &str, caption: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{}</text>
<text x="{LEFT}" y="{}" fill="#555">{}</text>
"##,
        escape(title),
        H - 8.0,
        escape(caption)
    );
    s
}

/// x on a log scale from `lo` to `hi` ms.
fn log_x(ms: f64, lo: f64, hi: f64) -> f64 {
    let v = ms.clamp(lo, hi);
    LEFT + (v.ln() - lo.ln()) / (hi.ln() - lo.ln()) * (W - LEFT - RIGHT)
}

/// Cumulative share of requests under each latency, one line per class.
pub fn latency_cdf(points: &[Point], caption: &str) -> String {
    let mut by_class: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for p in points {
        by_class.entry(p.class).or_default().push(p.latency_ms);
    }
    let (lo, hi) = (0.1, 10_000.0);
    let mut s = frame("Latency distribution under load, per class", caption);
    let plot_h = H - TOP - BOTTOM;
    // Axes and grid: decades on x, quarters on y.
    for decade in [0.1, 1.0, 10.0, 100.0, 1_000.0, 10_000.0] {
        let x = log_x(decade, lo, hi);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{decade} ms</text>"##,
            TOP + plot_h,
            TOP + plot_h + 15.0
        );
    }
    for q in [0.0, 0.25, 0.5, 0.75, 0.95, 1.0] {
        let y = TOP + plot_h * (1.0 - q);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{:.0} %</text>"##,
            W - RIGHT,
            LEFT - 5.0,
            y + 4.0,
            q * 100.0
        );
    }
    for (i, (class, mut list)) in by_class.into_iter().enumerate() {
        list.sort_by(f64::total_cmp);
        let n = list.len().max(1) as f64;
        let step = (list.len() / 400).max(1);
        let mut path = String::new();
        for (k, v) in list.iter().enumerate().step_by(step) {
            let x = log_x(*v, lo, hi);
            let y = TOP + plot_h * (1.0 - (k + 1) as f64 / n);
            let _ = write!(path, "{}{x:.1},{y:.1} ", if path.is_empty() { "M" } else { "L" });
        }
        if let Some(last) = list.last() {
            let _ = write!(path, "L{:.1},{TOP:.1}", log_x(*last, lo, hi));
        }
        let colour = COLOURS[i % COLOURS.len()];
        let _ = writeln!(s, r#"<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>"#);
        let ly = TOP + 14.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="{colour}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            W - RIGHT + 10.0,
            ly,
            W - RIGHT + 25.0,
            ly + 9.0,
            escape(class)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// p50 and p95 of all requests arriving in each second of the load.
pub fn latency_over_time(points: &[Point], caption: &str) -> String {
    let mut per_second: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for p in points {
        per_second.entry(p.at_s.max(0.0) as u64).or_default().push(p.latency_ms);
    }
    let seconds = per_second.keys().last().copied().unwrap_or(0).max(1) as f64;
    let quantile = |list: &mut Vec<f64>, q: f64| {
        list.sort_by(f64::total_cmp);
        let rank = ((q * list.len() as f64).ceil() as usize).clamp(1, list.len());
        list[rank - 1]
    };
    let series: Vec<(f64, f64, f64)> = per_second
        .into_iter()
        .map(|(sec, mut list)| (sec as f64, quantile(&mut list, 0.5), quantile(&mut list, 0.95)))
        .collect();
    let (lo, hi) = (0.1, 10_000.0);
    let plot_h = H - TOP - BOTTOM;
    let y_of = |ms: f64| {
        let v = ms.clamp(lo, hi);
        TOP + plot_h * (1.0 - (v.ln() - lo.ln()) / (hi.ln() - lo.ln()))
    };
    let x_of = |sec: f64| LEFT + sec / seconds * (W - LEFT - RIGHT);
    let mut s = frame("Latency over time under load (all classes)", caption);
    for decade in [0.1, 1.0, 10.0, 100.0, 1_000.0, 10_000.0] {
        let y = y_of(decade);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{decade} ms</text>"##,
            W - RIGHT,
            LEFT - 5.0,
            y + 4.0
        );
    }
    for tick in 0..=5 {
        let sec = seconds * f64::from(tick) / 5.0;
        let x = x_of(sec);
        let _ =
            writeln!(s, r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{sec:.0} s</text>"#, TOP + plot_h + 15.0);
    }
    for (name, colour, pick) in [("p50", "#1f77b4", 1usize), ("p95", "#d62728", 2usize)] {
        let mut path = String::new();
        for (sec, p50, p95) in &series {
            let v = if pick == 1 { *p50 } else { *p95 };
            let _ = write!(path, "{}{:.1},{:.1} ", if path.is_empty() { "M" } else { "L" }, x_of(*sec), y_of(v));
        }
        let _ = writeln!(s, r#"<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>"#);
        let ly = TOP + if pick == 1 { 0.0 } else { 14.0 };
        let _ = writeln!(
            s,
            r#"<rect x="{:.1}" y="{ly:.1}" width="10" height="10" fill="{colour}"/><text x="{:.1}" y="{:.1}">{name} per second</text>"#,
            W - RIGHT + 10.0,
            W - RIGHT + 25.0,
            ly + 9.0
        );
    }
    s.push_str("</svg>\n");
    s
}
