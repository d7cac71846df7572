//! tmp
use std::time::Instant;
fn sq(x: u64) -> u64 {
    x * x
}
fn main() {
    let n: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let t = Instant::now();
    match forkpool::Pool::new(n) {
        Ok(pool) => {
            println!("Pool::new({n}) ok in {:?}", t.elapsed());
            println!(
                "map: {:?}",
                pool.map(sq, 0..(2 * n as u64)).map(|v| v.len())
            );
            let t = Instant::now();
            pool.close();
            pool.join().unwrap();
            println!("close+join {:?}", t.elapsed());
        }
        Err(e) => println!("Pool::new({n}) failed in {:?}: {e}", t.elapsed()),
    }
}
