//! Socket options shared by every WebSocket voxgate opens or accepts.
//!
//! Tungstenite's defaults (128 KiB to read, 128 KiB before a write is flushed) would cost
//! ~0.5 MiB per session (two sockets); Realtime frames are small and must go out at once, so
//! sockets read in 8 KiB steps, write every frame immediately and disable Nagle's algorithm.

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Read buffer of every WebSocket.
pub const READ_BUFFER: usize = 8 * 1024;

/// The WebSocket configuration of client-side sockets (upstream connections, load clients).
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
}

/// Realtime traffic is many small frames: send each at once (no Nagle delay).
pub fn no_delay(stream: &mut tokio::net::TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!("cannot set TCP_NODELAY: {error}");
    }
}
