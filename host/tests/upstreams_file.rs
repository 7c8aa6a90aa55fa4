//! `voxgate serve` refuses a bad `UPSTREAMS_FILE` at start, naming the entry and the field,
//! and never printing a key.

use std::process::Command;

fn start_with(file: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("upstreams.toml");
    std::fs::write(&path, file).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_voxgate"))
        .arg("serve")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("UPSTREAMS_FILE", &path)
        .env("SWEDEN_KEY", "sk-very-secret-key-0123")
        .env("PLUGIN_DIR", dir.path().join("plugins"))
        .output()
        .expect("voxgate serve");
    let text = String::from_utf8_lossy(&output.stderr).to_string()
        + &String::from_utf8_lossy(&output.stdout);
    (output.status.code(), text)
}

#[test]
fn a_bad_upstreams_file_is_refused_by_entry_and_field() {
    let (code, text) = start_with(
        r#"
[[upstream]]
name = "sweden"
azure_endpoint = "https://sweden.openai.azure.com"
deployment = "gpt-realtime"
api_key_env = "SWEDEN_KEY"

[[upstream]]
name = "openai"
openai_model = "gpt-realtime"
api_key_env = "OPENAI_KEY_THAT_IS_NOT_SET"
"#,
    );
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.contains("upstream 2 (\"openai\")") && text.contains("OPENAI_KEY_THAT_IS_NOT_SET"),
        "{text}"
    );
    assert!(!text.contains("sk-very-secret"), "{text}");
    let (code, text) = start_with(
        "[[upstream]]\nname = \"a\"\nurl = \"ws://127.0.0.1:1/v1/realtime\"\npriorty = 2\n",
    );
    assert_ne!(code, Some(0));
    assert!(
        text.contains("UPSTREAMS_FILE") && text.contains("priorty"),
        "{text}"
    );
}
