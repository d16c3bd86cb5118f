//! Shared pieces of the benchmarks: the message workload and the engine
//! set-up of the in-process benchmarks (criterion and the callgrind loop).

pub mod setup;
pub mod workload;
