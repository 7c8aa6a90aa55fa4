//! The log filter every voxgate process uses: `RUST_LOG` (or the default), with the crates that
//! log raw handshakes and headers at TRACE capped at DEBUG, whatever the spec says —
//! tungstenite, for one, logs the whole upgrade request (the upstream `api-key` included) at
//! TRACE. Secrets never reach a log line at any level.

use tracing_subscriber::EnvFilter;

/// Crates that log request or handshake bytes at TRACE.
const HEADER_LOGGERS: &[&str] = &[
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
];

/// `spec` (an `EnvFilter` directive list) with the header-logging crates capped at DEBUG.
pub fn filter(spec: &str) -> EnvFilter {
    let capped: Vec<String> = HEADER_LOGGERS
        .iter()
        .map(|c| format!("{c}=debug"))
        .collect();
    let spec = if spec.trim().is_empty() {
        capped.join(",")
    } else {
        format!("{spec},{}", capped.join(","))
    };
    EnvFilter::try_new(&spec).unwrap_or_else(|error| {
        eprintln!("RUST_LOG: {error}; using 'info'");
        EnvFilter::new(format!("info,{}", capped.join(",")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_loggers_are_capped_even_when_asked_for_trace() {
        let filter = filter("trace,tungstenite=trace").to_string();
        assert!(filter.contains("tungstenite=debug"), "{filter}");
        assert!(filter.contains("trace"), "{filter}");
    }
}
