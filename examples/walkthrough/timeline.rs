//! What the walkthrough draws after each variant: a per-worker timeline of when each task
//! ran; and, with `--trace FILE`, the whole run as Chrome trace-event JSON (open it in
//! `chrome://tracing` or <https://ui.perfetto.dev>).

use crate::seed::Span;
use std::fmt::Write;

/// Columns of the chart's time axis.
const WIDTH: usize = 64;

/// One row per process that ran tasks (in the order they first started one), each task a
/// bar labelled with its input, on a time axis of `total` seconds.
pub fn chart(spans: &[Span], total: f64) -> String {
    let mut rows: Vec<(u32, Vec<&Span>)> = Vec::new();
    let mut sorted: Vec<&Span> = spans.iter().collect();
    sorted.sort_by(|a, b| a.2.total_cmp(&b.2));
    for s in sorted {
        match rows.iter_mut().find(|(pid, _)| *pid == s.0) {
            Some((_, tasks)) => tasks.push(s),
            None => rows.push((s.0, vec![s])),
        }
    }
    let col = |t: f64| ((t / total.max(1e-9)) * WIDTH as f64).round() as usize;
    let mut out =
        format!("timeline ({WIDTH} columns = {total:.2} s, one row per worker process):\n");
    for (pid, tasks) in rows {
        let mut line = vec![' '; WIDTH + 1];
        for &&(_, x, start, end) in &tasks {
            let (a, b) = (
                col(start).min(WIDTH),
                col(end).clamp(col(start) + 1, WIDTH + 1),
            );
            for c in &mut line[a..b] {
                *c = '=';
            }
            line[a] = '[';
            line[b - 1] = ']';
            for (k, ch) in x.to_string().chars().enumerate() {
                if a + 1 + k < b - 1 {
                    line[a + 1 + k] = ch;
                }
            }
        }
        let _ = writeln!(out, "  pid {pid:>7} |{}|", line.iter().collect::<String>());
    }
    out
}

/// The trace-event JSON of a run: one track group per variant, one track per process.
pub fn trace_json(variants: &[(String, Vec<Span>)]) -> String {
    let mut events = Vec::new();
    for (k, (name, spans)) in variants.iter().enumerate() {
        events.push(format!(
            r#"{{"name":"process_name","ph":"M","pid":{k},"args":{{"name":"{name}"}}}}"#
        ));
        for &(pid, x, start, end) in spans {
            events.push(format!(
                r#"{{"name":"factorial of {x}","cat":"{name}","ph":"X","pid":{k},"tid":{pid},"ts":{:.0},"dur":{:.0}}}"#,
                start * 1e6,
                (end - start) * 1e6
            ));
        }
    }
    format!("{{\"traceEvents\":[\n{}\n]}}\n", events.join(",\n"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_chart_has_a_row_per_worker_and_a_bar_per_task() {
        let spans = [(7, 4, 0.0, 0.5), (9, 8, 0.0, 1.0), (7, 16, 0.5, 1.0)];
        let chart = super::chart(&spans, 1.0);
        let rows: Vec<&str> = chart.lines().skip(1).collect();
        assert_eq!(rows.len(), 2);
        assert!(
            rows[0].contains("pid       7 |[4") && rows[0].contains("[16"),
            "{chart}"
        );
        assert!(rows[1].contains("pid       9 |[8"), "{chart}");
        let json = super::trace_json(&[("map".into(), spans.to_vec())]);
        assert!(json.contains(r#""name":"factorial of 16""#) && json.contains(r#""tid":9"#));
    }
}
