//! The plots next to the table: throughput against chunk size, and against the number of
//! workers, forkpool and Python, as SVGs.

use plotters::prelude::*;
use std::collections::BTreeMap;

/// Chunk sizes of the sweep.
pub const CHUNKS: [usize; 6] = [1, 4, 16, 64, 256, 1024];

type Samples = BTreeMap<String, Vec<f64>>;

/// The median of figure `key`, if measured.
fn median(s: &Samples, key: &str) -> Option<f64> {
    let mut v = s.get(key)?.clone();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Writes both plots; returns their paths.
pub fn write(ours: &Samples, py: &Samples, workers: &[usize]) -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/forkpool-bench");
    let _ = std::fs::create_dir_all(dir);
    let chunks = |s: &Samples| -> Vec<(f64, f64)> {
        CHUNKS
            .iter()
            .filter_map(|c| {
                let m = median(s, &format!("sweep_{c}"))?;
                Some(((*c as f64).log2(), m.log10()))
            })
            .collect()
    };
    let by_workers = |s: &Samples| -> Vec<(f64, f64)> {
        workers
            .iter()
            .filter_map(|w| Some((*w as f64, median(s, &format!("workers_{w}"))? / 1e3)))
            .collect()
    };
    let throughput = format!("{dir}/throughput.svg");
    let (a, b) = (chunks(ours), chunks(py));
    let top = a.iter().chain(&b).map(|p| p.1).fold(4.0, f64::max).ceil();
    draw(
        &throughput,
        "map(x + 1), 200k items, 4 workers, pipeline_depth(64)",
        ("chunk size (log2)", "tasks per second (log10)"),
        (0f64..10f64, 3f64..top),
        &a,
        &b,
    );
    let sweep = format!("{dir}/workers.svg");
    let (a, b) = (by_workers(ours), by_workers(py));
    let right = workers.iter().copied().max().unwrap_or(4) as f64 + 1.0;
    let top = a.iter().chain(&b).map(|p| p.1).fold(10.0, f64::max) * 1.2;
    draw(
        &sweep,
        "imap(x + 1), chunk 1, default settings",
        ("workers", "thousand tasks per second"),
        (0f64..right, 0f64..top),
        &a,
        &b,
    );
    vec![throughput, sweep]
}

fn draw(
    path: &str,
    caption: &str,
    (x_desc, y_desc): (&str, &str),
    (xs, ys): (std::ops::Range<f64>, std::ops::Range<f64>),
    ours: &[(f64, f64)],
    py: &[(f64, f64)],
) {
    let drawn = (|| -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(xs, ys)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()?;
        for (points, color, label) in [
            (ours, RED, "forkpool"),
            (py, BLUE, "Python multiprocessing"),
        ] {
            chart
                .draw_series(LineSeries::new(points.to_vec(), color))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
        }
        chart.configure_series_labels().border_style(BLACK).draw()?;
        root.present()?;
        Ok(())
    })();
    if let Err(e) = drawn {
        eprintln!("plot {path} failed: {e}");
    }
}
