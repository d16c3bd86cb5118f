//! The results as a Markdown table (with ratios to Kamailio and to the
//! interpreter) and as an SVG bar chart of CPU per message.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::Row;

fn find<'a>(rows: &'a [Row], scenario: &str, contender: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.scenario == scenario && r.contender == contender)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".into(),
    }
}

/// The Markdown report.
pub(crate) fn markdown(rows: &[Row], machine: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Measured {machine}.\n");
    let _ = writeln!(
        s,
        "| scenario | contender | CPU µs/msg | × Kamailio | × interpreted | max calls/s (0 failed) | response ms p50/p90/p99 | peak PSS MiB | note |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---|---:|---|");
    for r in rows {
        let kam = find(rows, &r.scenario, "kamailio").and_then(|k| k.cpu_us);
        let int = find(rows, &r.scenario, "interpreted").and_then(|k| k.cpu_us);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} | {} |",
            r.scenario,
            r.contender,
            r.cpu_us.map_or("-".into(), |v| format!("{v:.1}")),
            ratio(r.cpu_us, kam),
            ratio(r.cpu_us, int),
            r.max_rate.map_or("-".into(), |v| v.to_string()),
            r.rtt
                .map_or("-".into(), |(a, b, c)| format!("{a:.1}/{b:.1}/{c:.1}")),
            r.peak_mib,
            match (&r.error, r.relay_cpu_us, r.dialogs_mib) {
                (Some(e), _, _) => e.replace('|', "/"),
                (None, Some(us), _) => format!("rtpengine apart: {us:.1} µs/msg"),
                (None, None, Some(mib)) => format!("10,000 dialogs up: +{mib:.1} MiB PSS"),
                (None, None, None) => String::new(),
            },
        );
    }
    s
}

/// A grouped bar chart: CPU µs per message, one group per scenario.
///
/// # Errors
/// The chart cannot be drawn or written.
pub(crate) fn svg(rows: &[Row], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut scenarios: Vec<&str> = Vec::new();
    for r in rows {
        if !scenarios.contains(&r.scenario.as_str()) {
            scenarios.push(&r.scenario);
        }
    }
    let contenders = ["compiled", "interpreted", "kamailio"];
    let colors = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
    ];
    let max = rows.iter().filter_map(|r| r.cpu_us).fold(1.0f64, f64::max) * 1.2;
    let groups = scenarios.len().max(1);
    let root = SVGBackend::new(path, (240 * groups as u32 + 160, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "proxy CPU per message (µs, lower is better)",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..groups as f64, 0f64..max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("µs / message")
        .draw()?;
    for (g, scen) in scenarios.iter().enumerate() {
        for (i, c) in contenders.iter().enumerate() {
            let Some(v) = find(rows, scen, c).and_then(|r| r.cpu_us) else {
                continue;
            };
            let x0 = g as f64 + 0.1 + i as f64 * 0.27;
            let x1 = x0 + 0.25;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, 0.0), (x1, v)],
                colors[i].filled(),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("{v:.1}"),
                (x0, v + max * 0.02),
                ("sans-serif", 13),
            )))?;
        }
        chart.draw_series(std::iter::once(Text::new(
            (*scen).to_string(),
            (g as f64 + 0.35, -max * 0.06),
            ("sans-serif", 15),
        )))?;
    }
    for (i, c) in contenders.iter().enumerate() {
        let color = colors[i];
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, 0.0), (0.0, 0.0)],
                color.filled(),
            )))?
            .label(*c)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(s: &str, c: &str, cpu: Option<f64>) -> Row {
        Row {
            scenario: s.into(),
            contender: c.into(),
            cpu_us: cpu,
            max_rate: Some(1000),
            rtt: Some((1.0, 2.0, 3.0)),
            peak_mib: 10.0,
            error: None,
            relay_cpu_us: None,
            dialogs_mib: None,
        }
    }

    #[test]
    fn table_has_ratios_and_chart_is_written() {
        let rows = vec![
            row("stateless", "compiled", Some(10.0)),
            row("stateless", "interpreted", Some(20.0)),
            row("stateless", "kamailio", Some(40.0)),
            row("register", "compiled", None),
        ];
        let md = markdown(&rows, "test machine");
        assert!(
            md.contains("| stateless | compiled | 10.0 | 0.25 | 0.50 | 1000 |"),
            "{md}"
        );
        assert!(md.contains("| register | compiled | - | - | - |"), "{md}");
        let path = std::env::temp_dir().join(format!("cfgc-bench-{}.svg", std::process::id()));
        svg(&rows, &path).expect("drawn");
        let text = std::fs::read_to_string(&path).expect("written");
        assert!(text.contains("<svg"), "not an SVG");
        assert!(text.contains("kamailio"), "no legend");
        let _ = std::fs::remove_file(&path);
    }
}
