//! The pure core: every decision of the init, with no system call in it.
#![deny(unsafe_code)]

pub mod assembler;
pub mod config;
pub mod control;
pub mod line;
pub mod machine;
pub mod privilege;
pub mod report;
pub mod restart;
pub mod routing;
pub mod signals;
pub mod slot;
pub mod trouble;
pub mod words;
