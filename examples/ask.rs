//! A minimal voxgate client: ask one question over the seed protocol and print the answer.
//!
//! `cargo run --example ask -- "Which states does a circuit breaker go through?"`
//! (options: `--url ws://127.0.0.1:8003`, `--kb voxgate-docs`)

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut kb, mut question) = (
        "ws://127.0.0.1:8003".to_string(),
        "voxgate-docs".to_string(),
        None,
    );
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => url = args.next().unwrap_or(url),
            "--kb" => kb = args.next().unwrap_or(kb),
            _ => question = Some(arg),
        }
    }
    let question =
        question.unwrap_or_else(|| "What does voxgate do when the upstream drops?".into());
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{}/ws", url.trim_end_matches('/'))).await?;
    let mut send = async |event: Value| ws.send(Message::text(event.to_string())).await;
    send(json!({ "kb_id": kb })).await?;
    send(json!({ "type": "session.update", "session": { "modalities": ["text"] } })).await?;
    send(
        json!({ "type": "conversation.item.create", "item": { "type": "message", "role": "user",
        "content": [{ "type": "input_text", "text": question }] } }),
    )
    .await?;
    send(json!({ "type": "response.create" })).await?;
    println!("> {question}");
    let mut answer = String::new();
    while let Some(frame) = ws.next().await {
        let Message::Text(text) = frame? else {
            continue;
        };
        let event: Value = serde_json::from_str(&text)?;
        match event["type"].as_str().unwrap_or_default() {
            "response.function_call_arguments.done" => {
                println!(
                    "  (the model calls {} with {})",
                    event["name"], event["arguments"]
                );
            }
            "response.text.delta"
            | "response.output_text.delta"
            | "response.audio_transcript.delta" => {
                answer.push_str(event["delta"].as_str().unwrap_or_default());
            }
            "response.done" if !answer.is_empty() => {
                println!("< {answer}");
                break;
            }
            "error" => println!("  error: {}", event["error"]),
            _ if event.get("error").is_some_and(Value::is_string) => {
                println!("  error: {}", event["error"]);
                break;
            }
            _ => {}
        }
    }
    Ok(())
}
