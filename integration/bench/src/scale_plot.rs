//! `scale.png`: the scale curve (h). Left, services created → every task RUNNING against the
//! task count, one line per agent count; right, the leader's peak resident memory. The
//! targets (60 s, 2 GiB) are drawn as dashed lines; points that missed their limit are left
//! out and named in the legend.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;

use crate::plot;
use crate::report::ScalePoint;

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

const COLORS: [RGBColor; 5] = [BLUE, RED, GREEN, MAGENTA, CYAN];

pub fn draw(points: &[ScalePoint], path: &Path) -> Result<()> {
    plot::font()?;
    let root = BitMapBackend::new(path, (1400, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(700);
    panel(
        &left,
        "services created → every task RUNNING",
        "time (s)",
        points,
        |p| p.running_ms.map(|ms| ms / 1e3),
        60.0,
    )?;
    panel(
        &right,
        "manager resident memory (peak, largest of 3)",
        "VmRSS (MiB)",
        points,
        |p| p.running_ms.map(|_| p.manager_rss_mib),
        2048.0,
    )?;
    root.present()?;
    Ok(())
}

fn panel(
    area: &Area<'_>,
    title: &str,
    y_desc: &str,
    points: &[ScalePoint],
    value: impl Fn(&ScalePoint) -> Option<f64>,
    target: f64,
) -> Result<()> {
    let mut by_agents: BTreeMap<usize, Vec<&ScalePoint>> = BTreeMap::new();
    for p in points {
        by_agents.entry(p.agents).or_default().push(p);
    }
    let x_max = points.iter().map(|p| p.tasks).max().unwrap_or(1) as f64 / 1e3 * 1.08;
    let y_max = points.iter().filter_map(&value).fold(target, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("tasks (thousands, 100 services)")
        .y_desc(y_desc)
        .draw()?;
    chart.draw_series(DashedLineSeries::new(
        vec![(0.0, target), (x_max, target)],
        8,
        6,
        BLACK.mix(0.6).stroke_width(1),
    ))?;
    for (i, (agents, series)) in by_agents.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let reached: Vec<(f64, f64)> = series
            .iter()
            .filter_map(|p| value(p).map(|v| (p.tasks as f64 / 1e3, v)))
            .collect();
        let missed: Vec<String> = series
            .iter()
            .filter(|p| p.running_ms.is_none())
            .map(|p| format!("{}k", p.tasks / 1000))
            .collect();
        let label = if missed.is_empty() {
            format!("{agents} agents")
        } else {
            format!("{agents} agents ({} not reached)", missed.join(", "))
        };
        chart
            .draw_series(LineSeries::new(reached.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(
            reached
                .into_iter()
                .map(|xy| Circle::new(xy, 4, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
