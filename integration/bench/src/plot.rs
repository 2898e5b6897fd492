//! `latency.png`: cumulative distributions of the latencies this run measured: Raft commits
//! (left) and HTTP through the mesh vs direct (right). Text is drawn with DejaVu Sans from
//! Debian's fonts-dejavu-core (plotters' ab_glyph backend: no fontconfig/freetype needed).

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::report::Samples;

const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Registers [`FONT`] as plotters' "sans-serif", once for every chart of the run.
pub fn font() -> Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let bytes = std::fs::read(FONT)
                .with_context(|| format!("{FONT} (apt-get install fonts-dejavu-core)"))
                .map_err(|e| format!("{e:#}"))?;
            register_font(
                "sans-serif",
                FontStyle::Normal,
                Box::leak(bytes.into_boxed_slice()),
            )
            .map_err(|_| format!("{FONT} is not a usable font"))
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

pub fn draw(samples: &Samples, path: &Path) -> Result<()> {
    font()?;
    let root = BitMapBackend::new(path, (1400, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(700);
    cdf_panel(
        &left,
        "Raft: Control API write → committed (3 managers, fsync)",
        &[("single writes", &samples.raft_commit_ms, &BLUE)],
    )?;
    cdf_panel(
        &right,
        "HTTP from the lab client: mesh vs direct",
        &[
            (
                "through the mesh (node without the task)",
                &samples.mesh_ms,
                &RED,
            ),
            (
                "direct to the task (1:1 DNAT alias on its node)",
                &samples.direct_ms,
                &BLUE,
            ),
        ],
    )?;
    root.present()?;
    Ok(())
}

/// One chart of empirical CDFs, x = latency (ms) up to the largest p99.5, y = fraction.
fn cdf_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    title: &str,
    series: &[(&str, &Vec<f64>, &RGBColor)],
) -> Result<()> {
    if series.iter().all(|(_, s, _)| s.is_empty()) {
        let area = area.titled(title, ("sans-serif", 20))?;
        area.draw_text(
            "not measured in this run",
            &("sans-serif", 18).into(),
            (220, 250),
        )?;
        return Ok(());
    }
    let x_max = series
        .iter()
        .filter(|(_, s, _)| !s.is_empty())
        .map(|(_, s, _)| crate::report::percentile(s, 0.995))
        .fold(0.0_f64, f64::max)
        .max(0.1)
        * 1.05;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..x_max, 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms)")
        .y_desc("fraction of requests ≤ x")
        .draw()?;
    for (name, samples, color) in series {
        if samples.is_empty() {
            continue;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as f64;
        let points: Vec<(f64, f64)> = sorted
            .iter()
            .enumerate()
            .map(|(i, x)| (x.min(x_max), (i + 1) as f64 / n))
            .collect();
        let color = **color;
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(format!("{name} (n={})", sorted.len()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
