//! forkpool-std
