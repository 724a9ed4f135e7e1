//! Tauri build script: generates the context (config, icons, capabilities) for the shell.
fn main() {
    tauri_build::build()
}
