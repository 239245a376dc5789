//! rhetor: read political commentary and turn it into tables scholars can compare.
//!
//! Data flows one way: `corpus` reads inputs into [`document::Document`]s carrying clean text and
//! metadata; `pipeline` runs components (sentence segmentation, tokenisation, ...) that each declare
//! which document layers they read and write; `tables` turns documents into polars frames and writes them.

pub mod analyze;
pub mod bench;
pub mod cli;
pub mod compare;
pub mod corpus;
pub mod document;
pub mod entities;
pub mod errors;
pub mod eval_extraction;
pub mod fuzzing;
pub mod kwic;
pub mod manifest;
pub mod model;
pub mod pipeline;
pub mod recommend;
pub mod report;
pub mod sample;
pub mod stance;
pub mod stats;
pub mod tables;
pub mod text;

/// The crate version written into every output's provenance.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
