//! Tauri build script: generates the context (config, icons) for the shell, and the permissions of
//! the app's own commands (`allow-<command>`), which the capabilities the shell adds at start
//! (pinned to the embedded server's exact origin, or the hub's in terminal mode) grant to the POS and display windows.

fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "open_customer_display",
            "list_monitors",
            "get_shell_settings",
            "save_shell_settings",
            "remember_sale_choice",
            "session_token",
            "push_key",
            "attach_to_hub",
            "detach_from_hub",
        ]),
    ))
    .expect("tauri build script");
}
