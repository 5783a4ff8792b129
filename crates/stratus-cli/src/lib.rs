//! The stratus commands. Each command is a module with its clap definition
//! and its `run`; the binaries in `src/bin` only call [`common::main`] with
//! one of them. Man pages and shell completions are generated from the same
//! clap definitions (see [`commands::all`]), so `--help` and the man page
//! never disagree.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod commands;
pub mod common;
pub mod listing;
pub mod signing;
pub mod site_args;
pub mod vm;
