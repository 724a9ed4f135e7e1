//! Other systems' protocols StablePay speaks, each over the ordinary payments: `epusdt.rs`, the
//! epusdt / BEpusdt order API that many shop systems already use.

pub mod epusdt;
