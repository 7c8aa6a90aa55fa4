//! Text frames between the two sockets without copies: the client side (axum) and the upstream
//! side (tungstenite) each wrap a reference-counted `Bytes`; a frame the gateway does not change
//! moves from one to the other as the same buffer.

use axum::extract::ws::Utf8Bytes as ClientText;
use tokio_tungstenite::tungstenite::Utf8Bytes as UpstreamText;

/// A client text frame as an upstream one (no copy).
pub fn to_upstream(text: ClientText) -> UpstreamText {
    let bytes = axum::body::Bytes::from(text);
    // Valid UTF-8 already (the type says so); the check is a fast scan, not a copy.
    UpstreamText::try_from(bytes.clone())
        .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned().into())
}

/// An upstream text frame as a client one (no copy).
pub fn to_client(text: UpstreamText) -> ClientText {
    let bytes = axum::body::Bytes::from(text);
    ClientText::try_from(bytes.clone())
        .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_cross_without_a_copy() {
        let original = UpstreamText::from("{\"type\":\"response.output_audio.delta\"}");
        let address = original.as_str().as_ptr();
        let client = to_client(original);
        assert_eq!(client.as_str().as_ptr(), address, "the same buffer");
        let back = to_upstream(client);
        assert_eq!(back.as_str().as_ptr(), address);
        assert_eq!(back.as_str(), "{\"type\":\"response.output_audio.delta\"}");
    }
}
