//! forkpool
