//! glint: a Linux monitoring daemon serving the Glances REST API v3.
//!
//! `collect` measures, `actors` moves samples through the mesh, `http`
//! serves them.

pub mod actions;
pub mod cli;
pub mod collect;
pub mod config;
pub mod daemon;
pub mod http;
pub mod json;
pub mod limits;
pub mod memory;
pub mod text;
pub mod timefmt;
pub mod views;

#[path = "../actors/mod.rs"]
pub mod actors;
