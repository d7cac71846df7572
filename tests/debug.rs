//! Every public type implements `Debug`, and shows what a user wants to see.

use forkpool::{Pool, Process};
use std::fmt::Debug;

fn is_debug<T: Debug>() {}

#[test]
fn every_public_type_is_debug() {
    is_debug::<forkpool::Pool>();
    is_debug::<forkpool::PoolBuilder>();
    is_debug::<forkpool::PoolStats>();
    is_debug::<forkpool::AsyncOptions<u8>>();
    is_debug::<forkpool::AsyncResult<u8>>();
    is_debug::<forkpool::ResultFuture<u8>>();
    is_debug::<forkpool::Completions<u8>>();
    is_debug::<forkpool::IMapOrdered<forkpool::OneArg<std::ops::Range<u8>>, (u8,), u8>>();
    is_debug::<forkpool::IMapUnordered<forkpool::OneArg<std::ops::Range<u8>>, (u8,), u8>>();
    is_debug::<forkpool::InOrder>();
    is_debug::<forkpool::AsCompleted>();
    is_debug::<forkpool::Process<u8>>();
    is_debug::<forkpool::ProcessBuilder>();
    is_debug::<forkpool::Connection<u8>>();
    is_debug::<forkpool::Error>();
    is_debug::<forkpool::ExitCause>();
    is_debug::<forkpool::TaskError>();
}

fn double(x: u32) -> u32 {
    x * 2
}

#[test]
fn a_pool_and_its_results_show_their_state() {
    let pool = Pool::new(2).unwrap();
    let shown = format!("{pool:?}");
    assert!(
        shown.contains("processes: 2") && shown.contains("Running"),
        "{shown}"
    );
    let r = pool.apply_async(double, (4,)).unwrap();
    r.wait();
    let shown = format!("{r:?}");
    assert!(shown.contains("ready: true"), "{shown}");
    let it = pool.imap(double, vec![1, 2]).unwrap();
    assert!(format!("{it:?}").contains("IMap"));
    pool.close();
    assert!(format!("{pool:?}").contains("Closed"));
    let p = Process::spawn(|| 1u8).unwrap();
    assert!(format!("{p:?}").contains(&p.pid().to_string()));
}
