//! Configuration values (as flags): every bad value is an error naming the variable, never a panic.
#![no_main]

use clap::Parser;
use libfuzzer_sys::fuzz_target;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    serve: voxgate::config::ServeArgs,
}

const FLAGS: &[&str] = &[
    "--port", "--max-retry-attempts", "--retry-base-delay", "--retry-max-delay", "--azure-circuit-timeout",
    "--azure-circuit-failure-threshold", "--rag-circuit-timeout", "--ping-interval", "--pong-timeout",
    "--send-timeout", "--upstream-url", "--azure-resource", "--azure-openai-endpoint", "--max-message-bytes",
    "--backoff-plugin-memory-mib", "--idle-timeout", "--client-tokens", "--notify-reconnect",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut args = vec!["voxgate".to_string()];
    for (n, value) in text.split('\u{1f}').take(8).enumerate() {
        args.push(FLAGS[(n * 7 + value.len()) % FLAGS.len()].to_string());
        args.push(value.to_string());
    }
    if let Ok(cli) = Cli::try_parse_from(&args) {
        let _ = cli.serve.into_config();
    }
});
