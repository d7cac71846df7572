//! tmp
use forkpool::Pool;
use std::time::Instant;
fn inc(x: u64) -> u64 {
    x + 1
}
fn main() {
    let n = 200_000u64;
    let pool = Pool::new(4).unwrap();
    let t = Instant::now();
    let rs: Vec<_> = (0..n).map(|x| pool.apply_async(inc, (x,)).unwrap()).collect();
    let c = rs.into_iter().map(|r| r.get().unwrap()).filter(|v| *v > 0).count();
    assert_eq!(c as u64, n);
    println!("{:.0}k", n as f64 / t.elapsed().as_secs_f64() / 1e3);
}
