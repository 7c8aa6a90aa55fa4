//! The upstream socket as the session drives it: frames to send wait in a queue and go out one
//! at a time, each within the send timeout, while the session keeps reading — so a restore of
//! megabytes never stalls because nobody reads the upstream's echoes (its writes, then ours,
//! would block). The queue is bounded in bytes; a send that fails or times out leaves the
//! frames not yet written here for the session to account for.

use crate::upstream::UpstreamSocket;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use sync_wrapper::SyncWrapper;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

type Sink = SplitSink<UpstreamSocket, Message>;
/// The write in flight. Only ever touched through `&mut` (so the session stays `Sync`).
type Sending = SyncWrapper<Pin<Box<dyn Future<Output = (Sink, Result<(), String>)> + Send>>>;

/// What happened on the upstream socket.
pub enum Event {
    /// A frame arrived (`None`: the connection ended).
    Frame(Option<Result<Message, WsError>>),
    /// The frame in flight was written, or its send failed (the reason).
    Sent(Result<(), String>),
}

/// Frames queued beyond this mean the upstream stopped reading.
pub const MAX_QUEUED_BYTES: usize = 64 << 20;

pub struct UpstreamIo {
    stream: SplitStream<UpstreamSocket>,
    /// `None` while a send is in flight (the send owns it).
    sink: Option<Sink>,
    sending: Option<Sending>,
    /// A copy of the frame being written (frames share their bytes: no copy of the payload).
    in_flight: Option<Message>,
    queue: VecDeque<Message>,
    queued_bytes: usize,
    send_timeout: Duration,
}

fn size(frame: &Message) -> usize {
    frame.len()
}

impl UpstreamIo {
    pub fn new(socket: UpstreamSocket, send_timeout: Duration) -> UpstreamIo {
        let (sink, stream) = socket.split();
        UpstreamIo {
            stream,
            sink: Some(sink),
            sending: None,
            in_flight: None,
            queue: VecDeque::new(),
            queued_bytes: 0,
            send_timeout,
        }
    }

    /// Queue a frame; an error when the queue is over its bound (the upstream is not reading).
    pub fn queue(&mut self, frame: Message) -> Result<(), String> {
        self.queued_bytes += size(&frame);
        self.queue.push_back(frame);
        if self.queued_bytes > MAX_QUEUED_BYTES {
            return Err(format!(
                "the upstream is not reading: {} bytes waiting to be sent",
                self.queued_bytes
            ));
        }
        self.start_next();
        Ok(())
    }

    /// Start writing the next queued frame if none is in flight.
    fn start_next(&mut self) {
        if self.sending.is_some() || self.sink.is_none() {
            return;
        }
        let Some(frame) = self.queue.pop_front() else {
            return;
        };
        let Some(mut sink) = self.sink.take() else {
            return;
        };
        self.queued_bytes -= size(&frame);
        self.in_flight = Some(frame.clone());
        let timeout = self.send_timeout;
        self.sending = Some(SyncWrapper::new(Box::pin(async move {
            let result = match tokio::time::timeout(timeout, sink.send(frame)).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(format!("send failed: {error}")),
                Err(_) => Err("send timed out".to_string()),
            };
            (sink, result)
        })));
    }

    /// The next thing that happens on the socket: a frame arrives, or the frame in flight is
    /// written (the next one starts) or fails.
    pub async fn event(&mut self) -> Event {
        let Some(sending) = self.sending.as_mut().map(SyncWrapper::get_mut) else {
            return Event::Frame(self.stream.next().await);
        };
        tokio::select! {
            frame = self.stream.next() => Event::Frame(frame),
            (sink, result) = sending => {
                self.sending = None;
                self.sink = Some(sink);
                if result.is_ok() {
                    self.in_flight = None;
                    self.start_next();
                }
                Event::Sent(result)
            }
        }
    }

    /// Frames not known to be written, oldest first: the one in flight (or whose send
    /// failed) and the queue.
    pub fn unsent(&mut self) -> Vec<Message> {
        self.queued_bytes = 0;
        self.in_flight
            .take()
            .into_iter()
            .chain(self.queue.drain(..))
            .collect()
    }

    /// Close the socket (within the send timeout), after what is in flight.
    pub async fn close(mut self) {
        if let Some(sending) = self.sending.take() {
            let (sink, _) = sending.into_inner().await;
            self.sink = Some(sink);
        }
        if let Some(mut sink) = self.sink.take() {
            let _ = tokio::time::timeout(self.send_timeout, sink.close()).await;
        }
    }
}
