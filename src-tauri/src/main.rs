//! Entry point of the StablePay POS desktop app; everything happens in the library crate.
// Prevents an extra console window on Windows in release; harmless elsewhere.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    stablepay_pos_lib::run()
}
