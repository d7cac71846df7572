//! Pool configuration is checked in one place, the core's scheduler, and a refused one is
//! an `InvalidArgument` that names the limit.

use forkpool::{Error, Pool};
use std::time::Duration;

fn refused(r: forkpool::Result<Pool>) -> &'static str {
    match r {
        Err(Error::InvalidArgument(why)) => why,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn each_limit_is_named() {
    assert!(refused(Pool::new(0)).contains("between 1 and 256 processes"));
    assert!(refused(Pool::new(257)).contains("between 1 and 256 processes"));
    for depth in [0, 65] {
        let r = Pool::builder().processes(1).pipeline_depth(depth).build();
        assert!(refused(r).contains("between 1 and 64"));
    }
    let r = Pool::builder().processes(1).maxtasksperchild(0).build();
    assert!(refused(r).contains("maxtasksperchild"));
    let r = Pool::builder()
        .processes(1)
        .max_restarts(0, Duration::from_secs(1))
        .build();
    assert!(refused(r).contains("max_restarts"));
    // The limits themselves are accepted.
    assert!(
        Pool::builder()
            .processes(1)
            .pipeline_depth(64)
            .build()
            .is_ok()
    );
}
