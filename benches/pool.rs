//! In-process figures with criterion: `apply` round trip, `map` throughput, and a `Connection`
//! round trip for comparison. `cargo bench --bench pool`.

use criterion::{Criterion, Throughput, criterion_main};
use forkpool::{Pool, Process, pipe};

fn inc(x: u64) -> u64 {
    x + 1
}

fn bench(c: &mut Criterion) {
    let pool = Pool::new(4).unwrap();
    c.bench_function("apply round trip", |b| {
        b.iter(|| pool.apply(inc, (1,)).unwrap())
    });

    let deep = Pool::builder()
        .processes(4)
        .pipeline_depth(64)
        .build()
        .unwrap();
    let mut g = c.benchmark_group("map 10k x+1");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("chunk 1, depth 8", |b| {
        b.iter(|| deep.map_chunked(inc, 0..10_000u64, 1).unwrap())
    });
    g.bench_function("default chunk", |b| {
        b.iter(|| pool.map(inc, 0..10_000u64).unwrap())
    });
    g.finish();

    let (ours, theirs) = pipe::<u64>().unwrap();
    let echo = Process::spawn(move || {
        while let Ok(v) = theirs.recv() {
            if theirs.send(&v).is_err() {
                break;
            }
        }
    })
    .unwrap();
    c.bench_function("connection round trip", |b| {
        b.iter(|| {
            ours.send(&7).unwrap();
            ours.recv().unwrap()
        })
    });
    drop(ours);
    let _ = echo.join();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;
criterion_main!(benches);
