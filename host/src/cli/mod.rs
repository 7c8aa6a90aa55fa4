//! The bodies of the `voxgate` subcommands, one file each; `main.rs` only dispatches.

pub mod kb;
pub mod new;
pub mod plugin;
pub mod serve;
