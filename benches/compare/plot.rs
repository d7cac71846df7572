//! Throughput against chunk size, forkpool and Python, as an SVG next to the table.

use plotters::prelude::*;
use std::collections::BTreeMap;

/// Chunk sizes of the sweep.
pub const CHUNKS: [usize; 6] = [1, 4, 16, 64, 256, 1024];

/// Writes the plot; returns its path.
pub fn write(ours: &BTreeMap<String, Vec<f64>>, py: &BTreeMap<String, Vec<f64>>) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/forkpool-bench");
    let _ = std::fs::create_dir_all(dir);
    let path = format!("{dir}/throughput.svg");
    let series = |s: &BTreeMap<String, Vec<f64>>| -> Vec<(f64, f64)> {
        CHUNKS
            .iter()
            .filter_map(|c| {
                let mut v = s.get(&format!("sweep_{c}"))?.clone();
                v.sort_by(f64::total_cmp);
                v.get(v.len() / 2).map(|m| ((*c as f64).log2(), m.log10()))
            })
            .collect()
    };
    let (a, b) = (series(ours), series(py));
    let top = a.iter().chain(&b).map(|p| p.1).fold(4.0, f64::max).ceil();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::new(&path, (800, 500)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("map(x + 1), 200k items, 4 workers", ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..10f64, 3f64..top)?;
        chart
            .configure_mesh()
            .x_desc("chunk size (log2)")
            .y_desc("tasks per second (log10)")
            .draw()?;
        chart
            .draw_series(LineSeries::new(a.clone(), &RED))?
            .label("forkpool")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        chart.draw_series(a.iter().map(|p| Circle::new(*p, 3, RED.filled())))?;
        chart
            .draw_series(LineSeries::new(b.clone(), &BLUE))?
            .label("Python multiprocessing")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        chart.draw_series(b.iter().map(|p| Circle::new(*p, 3, BLUE.filled())))?;
        chart.configure_series_labels().border_style(BLACK).draw()?;
        root.present()?;
        Ok(())
    })();
    if let Err(e) = drawn {
        eprintln!("plot failed: {e}");
    }
    path
}
