//! Models: the cache and fetching of packaged models (`store`), a BERT encoder in candle (`bert`)
//! and the shared windowed encoder every model stage reads from (`encoder`).

pub mod bert;
pub mod encoder;
pub mod fast;
pub mod quant;
pub mod store;
pub mod train;

pub use encoder::{Encoder, Subwords};
pub use store::{PackagedModel, MINILM, PACKAGED_MODELS};
