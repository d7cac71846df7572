//! The samples of both sides: the numbers each figure gave per round, Python's side run
//! and its output parsed, and how a sample is shown (median and range).

use std::collections::BTreeMap;
use std::process::Command;

/// Median, min and max of a sample.
pub fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (s[s.len() / 2], s[0], s[s.len() - 1])
}

/// A sample as its median and [min–max].
pub fn show(v: &[f64]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    let (m, lo, hi) = stats(v);
    format!("{} [{}–{}]", num(m), num(lo), num(hi))
}

/// A number with a precision that suits its size (k and M for large ones).
pub fn num(x: f64) -> String {
    let a = x.abs();
    if a >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", x / 1e3)
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

/// A sample's median (NaN for none).
pub fn med(v: &[f64]) -> f64 {
    if v.is_empty() { f64::NAN } else { stats(v).0 }
}

/// Each figure's samples, by key.
pub type Samples = BTreeMap<String, Vec<f64>>;

/// Runs `mp_compare.py` for `rounds` rounds and returns its samples (none if it fails).
pub fn python(rounds: usize) -> Samples {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/mp_compare.py");
    match Command::new("python3")
        .arg(script)
        .arg(rounds.to_string())
        .output()
    {
        Ok(o) if o.status.success() => parse_json(&String::from_utf8_lossy(&o.stdout)),
        Ok(o) => {
            eprintln!("python side failed: {}", String::from_utf8_lossy(&o.stderr));
            Samples::new()
        }
        Err(e) => {
            eprintln!("python3 not runnable: {e}");
            Samples::new()
        }
    }
}

/// Parses the flat `{"key": [numbers...]}` object the Python side prints.
fn parse_json(s: &str) -> Samples {
    let mut out = Samples::new();
    for part in s
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split("], ")
    {
        let Some((k, v)) = part.split_once(": [") else {
            continue;
        };
        let vals = v
            .trim_end_matches(']')
            .split(", ")
            .filter_map(|x| x.parse().ok())
            .collect();
        out.insert(k.trim().trim_matches('"').to_owned(), vals);
    }
    out
}
