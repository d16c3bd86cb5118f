//! Shared pieces of the benchmarks: the fixed message workload of the
//! in-process benchmarks (criterion and the callgrind loop).

pub mod workload;
