//! Smoke test.
fn sq(x: u64) -> u64 {
    x * x
}
fn boom(x: u64) -> u64 {
    if x == 3 {
        panic!("three")
    }
    if x == 5 {
        std::process::abort()
    }
    x
}
fn main() {
    let pool = forkpool::Pool::new(4).unwrap();
    println!("{:?}", pool.map(sq, 0..10));
    println!("{:?}", pool.apply(|a: u64, b: u64| a + b, (2, 3)));
    let v: Vec<_> = pool.imap(sq, 0..).unwrap().take(5).collect();
    println!("{v:?}");
    let v: Vec<_> = pool.imap_unordered(boom, 0..8).unwrap().collect();
    println!("{v:?}");
    println!("{:?}", pool.map(boom, 0..8).map_err(|e| e.to_string()));
    println!(
        "{:?}",
        pool.map_chunked(sq, 0..100_000u64, 1000).map(|v| v.len())
    );
    pool.close();
    pool.join().unwrap();
    println!("{:?}", pool.apply(sq, (1,)));
}
