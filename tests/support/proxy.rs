//! A fault-injecting TCP proxy for the wire between the gateway and the simulator: what a real
//! network does to a live connection (black hole, reset in the middle of a frame, trickle,
//! half-close, delay), injected into the connections open now or into the ones accepted next.
//! Bytes are relayed as they come; the proxy knows nothing of WebSocket framing.

use socket2::SockRef;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the network does to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Bytes flow both ways as they come.
    Pass,
    /// The TCP connection stays open and nothing flows either way: what is sent vanishes.
    BlackHole,
    /// Each chunk waits this long before it is passed on, both ways.
    Delay(Duration),
    /// One byte at a time, this long apart, both ways.
    Trickle(Duration),
    /// The next chunk towards the gateway is cut after its first bytes (inside the first
    /// frame: a header and the start of its payload), then the connection is reset (RST).
    ResetMidFrame,
    /// The connection is reset (RST) now.
    Reset,
    /// The upstream's side is shut for writing (the gateway reads EOF, without a close frame);
    /// what the gateway sends still arrives.
    HalfClose,
}

#[derive(Default)]
struct Connections {
    /// The fault of each live connection.
    live: Vec<watch::Sender<Fault>>,
    /// The fault connections accepted from now on start with.
    for_new: Option<Fault>,
    accepted: usize,
}

/// A proxy on a loopback port relaying to `target`.
pub struct Proxy {
    pub addr: SocketAddr,
    connections: Arc<Mutex<Connections>>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(Mutex::new(Connections::default()));
        let accepting = connections.clone();
        tokio::spawn(async move {
            while let Ok((gateway_side, _)) = listener.accept().await {
                let fault = {
                    let mut connections = accepting.lock().expect("proxy lock");
                    connections.accepted += 1;
                    connections.live.retain(|fault| !fault.is_closed());
                    let (tx, rx) = watch::channel(connections.for_new.unwrap_or(Fault::Pass));
                    connections.live.push(tx);
                    rx
                };
                tokio::spawn(async move {
                    let Ok(upstream_side) = TcpStream::connect(target).await else {
                        return;
                    };
                    relay(gateway_side, upstream_side, fault).await;
                });
            }
        });
        Proxy { addr, connections }
    }

    /// Inject `fault` into every connection open now.
    pub fn inject(&self, fault: Fault) {
        let connections = self.connections.lock().expect("proxy lock");
        for live in &connections.live {
            let _ = live.send(fault);
        }
    }

    /// Connections accepted from now on start with `fault`.
    pub fn inject_new(&self, fault: Fault) {
        self.connections.lock().expect("proxy lock").for_new = Some(fault);
    }

    /// How many connections are open (neither side has closed both ways, nor been reset).
    pub fn open(&self) -> usize {
        let connections = self.connections.lock().expect("proxy lock");
        connections.live.iter().filter(|f| !f.is_closed()).count()
    }

    /// How many connections the proxy has accepted.
    pub fn accepted(&self) -> usize {
        self.connections.lock().expect("proxy lock").accepted
    }
}

/// One direction of a connection.
struct Pipe {
    from: OwnedReadHalf,
    to: OwnedWriteHalf,
    open: bool,
}

impl Pipe {
    /// Pass `bytes` on as `fault` says; false if the far side is gone.
    async fn pass(&mut self, bytes: &[u8], fault: Fault) -> bool {
        match fault {
            Fault::Delay(delay) => tokio::time::sleep(delay).await,
            Fault::Trickle(gap) => {
                for byte in bytes {
                    if self.to.write_all(&[*byte]).await.is_err() {
                        return false;
                    }
                    tokio::time::sleep(gap).await;
                }
                return true;
            }
            _ => {}
        }
        self.to.write_all(bytes).await.is_ok()
    }
}

/// Relay between the two sides until both are closed or a fault ends the connection.
async fn relay(
    gateway_side: TcpStream,
    upstream_side: TcpStream,
    mut fault: watch::Receiver<Fault>,
) {
    let (from_gateway, to_gateway) = gateway_side.into_split();
    let (from_upstream, to_upstream) = upstream_side.into_split();
    let mut up = Pipe {
        from: from_gateway,
        to: to_upstream,
        open: true,
    };
    let mut down = Pipe {
        from: from_upstream,
        to: to_gateway,
        open: true,
    };
    let mut up_buffer = vec![0u8; 16 * 1024];
    let mut down_buffer = vec![0u8; 16 * 1024];
    while up.open || down.open {
        let current = *fault.borrow_and_update();
        match current {
            Fault::Reset => return reset(down.to),
            Fault::HalfClose if down.open => {
                let _ = down.to.shutdown().await;
                down.open = false;
            }
            _ => {}
        }
        let black_hole = current == Fault::BlackHole;
        tokio::select! {
            changed = fault.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            read = up.from.read(&mut up_buffer), if up.open => match read {
                Ok(n) if n > 0 && black_hole => {}
                Ok(n) if n > 0 => up.open = up.pass(&up_buffer[..n], current).await,
                _ => {
                    let _ = up.to.shutdown().await;
                    up.open = false;
                }
            },
            read = down.from.read(&mut down_buffer), if down.open => match read {
                Ok(n) if n > 0 && black_hole => {}
                Ok(n) if n > 0 && current == Fault::ResetMidFrame => {
                    let _ = down.to.write_all(&down_buffer[..(n - 1).min(10)]).await;
                    return reset(down.to);
                }
                Ok(n) if n > 0 => down.open = down.pass(&down_buffer[..n], current).await,
                _ => {
                    let _ = down.to.shutdown().await;
                    down.open = false;
                }
            },
        }
    }
}

/// Reset the gateway's side of the connection: RST, not FIN.
fn reset(to_gateway: OwnedWriteHalf) {
    let _ = SockRef::from(to_gateway.as_ref()).set_linger(Some(Duration::ZERO));
    // Not a FIN first: the socket closes (with linger 0, a reset) when the caller's read half drops.
    to_gateway.forget();
}
