//! Socket options shared by every WebSocket voxgate opens or accepts.
//!
//! Tungstenite's defaults (128 KiB to read, 128 KiB before a write is flushed) would cost
//! ~0.5 MiB per session (two sockets); Realtime frames are small and must go out at once, so
//! sockets read in 4 KiB steps, write every frame immediately and disable Nagle's algorithm.
//! (Tungstenite zeroes its read step before each read: at 8 KiB that memset was the largest
//! user-space cost of forwarding audio in a profile; a 20 ms audio frame is ~1.4 KB.)
//!
//! What a socket may hold unwritten is bounded too (tungstenite's default is unbounded): one
//! message of at most [`MAX_MESSAGE`] plus [`CONTROL_BACKLOG`] of control frames. A peer that
//! floods pings and never reads gets its pongs queued up to that bound, then one pending pong
//! replaces the next, and a write that cannot fit fails instead of growing memory.

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Read buffer of every WebSocket.
pub const READ_BUFFER: usize = 4 * 1024;

/// The largest message voxgate reads from an upstream or relays to a client.
pub const MAX_MESSAGE: usize = 16 << 20;

/// Bytes of control frames (pongs above all) a socket may queue beyond one message.
pub const CONTROL_BACKLOG: usize = 64 * 1024;

/// The most a socket may hold unwritten.
pub const MAX_WRITE_BUFFER: usize = MAX_MESSAGE + CONTROL_BACKLOG;

/// The WebSocket configuration of client-side sockets (upstream connections, load clients).
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE))
}

/// Realtime traffic is many small frames: send each at once (no Nagle delay).
pub fn no_delay(stream: &mut tokio::net::TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!("cannot set TCP_NODELAY: {error}");
    }
}
