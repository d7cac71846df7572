//! Nothing here: the benchmarks are the `compare` and `pool` bench targets of this package.
