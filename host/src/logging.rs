//! The log filter every voxgate process uses: `RUST_LOG` (or the default), with the crates that
//! log raw handshakes and headers at TRACE capped at DEBUG, whatever the spec says —
//! tungstenite, for one, logs the whole upgrade request (the upstream `api-key` included) at
//! TRACE. Secrets never reach a log line at any level. Capped, not raised: at `info` those
//! crates log at `info` (tungstenite's DEBUG lines come with every frame and close).

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

/// Levels, quietest first.
const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
const DEBUG: usize = 4;

fn rank(level: &str) -> Option<usize> {
    LEVELS
        .iter()
        .position(|l| l.eq_ignore_ascii_case(level.trim()))
}

/// `spec` (an `EnvFilter` directive list) with each header-logging crate at the level the spec
/// gives it (its own directive, else the global one), but never above DEBUG.
pub fn filter(spec: &str) -> EnvFilter {
    let mut global = 1; // EnvFilter's default: errors only
    let mut by_target = std::collections::HashMap::new();
    for directive in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        match directive.split_once('=') {
            None => global = rank(directive).unwrap_or(global),
            Some((target, level)) => {
                if let Some(level) = rank(level) {
                    by_target.insert(target.trim(), level);
                }
            }
        }
    }
    let capped: Vec<String> = HEADER_LOGGERS
        .iter()
        .map(|krate| {
            let level = by_target.get(krate).copied().unwrap_or(global).min(DEBUG);
            format!("{krate}={}", LEVELS[level])
        })
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

    #[test]
    fn header_loggers_are_never_raised() {
        let quiet = filter("warn").to_string();
        assert!(quiet.contains("tungstenite=warn"), "{quiet}");
        assert!(!quiet.contains("debug"), "{quiet}");
        let mixed = filter("info,hyper=trace,reqwest=error").to_string();
        assert!(mixed.contains("hyper=debug"), "{mixed}");
        assert!(mixed.contains("reqwest=error"), "{mixed}");
        assert!(mixed.contains("tungstenite=info"), "{mixed}");
    }
}
