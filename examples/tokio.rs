//! forkpool in async code: `AsyncResult` is a future, so a tokio program awaits pool calls
//! without blocking its runtime's threads (no `spawn_blocking`), and handles results of
//! many calls as they finish.
//!
//! `cargo run --example tokio`

use forkpool::{Pool, TaskError};
use std::time::Duration;

/// CPU-bound work for a worker process.
fn collatz_steps(mut n: u64) -> u64 {
    let mut steps = 0;
    while n != 1 {
        n = if n.is_multiple_of(2) {
            n / 2
        } else {
            3 * n + 1
        };
        steps += 1;
    }
    steps
}

/// A task that may fail: it returns its failure as a value (`TaskError`).
fn checked(n: u64) -> Result<u64, TaskError> {
    if n == 0 {
        return Err(TaskError::msg("0 has no Collatz sequence"));
    }
    Ok(collatz_steps(n))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::new(4)?;

    // One call, awaited.
    let steps = pool.apply_async(collatz_steps, (27,))?.await?;
    println!("27 takes {steps} steps");

    // Many calls as tokio tasks: the runtime keeps serving other work meanwhile.
    let ticker = tokio::spawn(async {
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        "the runtime stayed free"
    });
    let mut handles = Vec::new();
    for n in [0, 97, 871, 6171, 77031] {
        let call = pool.apply_async(checked, (n,))?;
        handles.push(tokio::spawn(async move { (n, call.await) }));
    }
    for h in handles {
        match h.await? {
            (n, Ok(Ok(steps))) => println!("{n} takes {steps} steps"),
            (n, Ok(Err(e))) => println!("{n}: the task failed: {e}"),
            (n, Err(e)) => println!("{n}: the pool failed: {e}"),
        }
    }
    println!("{}", ticker.await?);

    // Or take results as they finish, from a blocking thread.
    let calls = (1..=4)
        .map(|k| pool.apply_async(collatz_steps, (k * 1_000_003,)))
        .collect::<Result<Vec<_>, _>>()?;
    let finished = tokio::task::spawn_blocking(move || {
        forkpool::as_completed(calls)
            .map(|(i, r)| (i, r.map_err(|e| e.to_string())))
            .collect::<Vec<_>>()
    })
    .await?;
    for (i, steps) in finished {
        println!("call {i} finished: {:?}", steps);
    }
    Ok(())
}
