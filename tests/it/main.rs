//! All integration tests in one binary: each test binary links polars and candle, so one binary
//! instead of nine saves minutes of linking on a cold build. They drive the real `rhetor` binary
//! on real files; see each module.

mod bad_input;
mod common;
mod compare;
mod determinism;
mod encoder;
mod entities;
mod inputs;
mod outputs;
mod properties;
mod recommend;
mod reference;
mod stance;
mod web;
