#![doc = include_str!("../README.md")]

pub mod engine;
pub mod modules;
pub mod sip;
pub mod transport;
