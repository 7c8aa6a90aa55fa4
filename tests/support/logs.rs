//! Every log line of this test binary, captured for assertions (the secret scan, session ids).

use std::sync::Arc;

static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

struct LogWriter(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Capture every log line of this test binary: every crate at TRACE (so the secret scan sees
/// what the most verbose operator would), except the compiler's own chatter, through the
/// gateway's own filter (which caps the crates that log raw handshakes).
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let filter = voxgate::logging::filter(
            "trace,cranelift=info,cranelift_codegen=info,wasmtime=info,wasmtime_cranelift=info,regalloc2=info,notify=info,mio=info",
        );
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let _ = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || LogWriter(sink.clone())),
            )
            .with(filter)
            .try_init();
        buffer
    });
}

/// Everything logged so far by this test binary (all tests share it).
pub fn logs() -> String {
    LOGS.get()
        .map(|b| String::from_utf8_lossy(&b.lock().unwrap_or_else(|p| p.into_inner())).into_owned())
        .unwrap_or_default()
}
