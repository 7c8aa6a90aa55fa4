//! The accept loop and each connection until it is upgraded (or closed): what no client may
//! hold for long. A connection over the pending bounds is closed at once; one that sends
//! nothing, or not a whole request, within `HANDSHAKE_TIMEOUT` is closed. When the process runs
//! out of file descriptors the loop first closes the oldest connections not yet upgraded (the
//! silent and slow ones), so the request arriving now is served; with none to close it sheds the
//! waiting connection (a reserved descriptor makes room to accept and close it) and backs off
//! instead of spinning, so `/health` and existing sessions keep being served. On shutdown the
//! loop stops accepting and connections that have not upgraded are closed (a finished
//! request's response may complete within a second).

use crate::admission::PendingConnections;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

/// How many pending connections are closed at once when descriptors run out.
const SHED_AT_ONCE: usize = 16;

/// How long a connection that was asked to close may take to finish its response.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Serve `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    handshake_timeout: Duration,
    pending: Arc<PendingConnections>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (closing, closed) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut reserve = reserve_descriptor();
    let mut backoff = Duration::from_millis(10);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next() => continue,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::from_millis(10);
                let Some(place) = pending.enter(peer.ip()) else {
                    tracing::debug!("closing a connection from {peer}: too many pending");
                    continue;
                };
                let (router, closed) = (router.clone(), closed.clone());
                connections.spawn(async move {
                    tokio::select! {
                        () = connection(router, stream, peer, handshake_timeout, closed) => {}
                        () = place.shed() => {
                            tracing::debug!("closed a connection from {peer} not yet upgraded: out of file descriptors");
                        }
                    }
                    drop(place);
                });
            }
            Err(error) => {
                if is_out_of_descriptors(&error) && shed(&pending, &mut connections).await {
                    continue;
                }
                if is_out_of_descriptors(&error) {
                    // Make room, take the waiting connection and close it, keep the reserve.
                    drop(reserve.take());
                    if let Ok(Ok((stream, _))) =
                        tokio::time::timeout(Duration::from_millis(10), listener.accept()).await
                    {
                        drop(stream);
                    }
                    reserve = reserve_descriptor();
                }
                tracing::warn!("accepting a connection failed ({error}); retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
    closing.send_replace(true);
    // Connections not upgraded yet are closing; wait for them briefly, then drop the rest.
    let _ = tokio::time::timeout(CLOSE_GRACE * 2, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
    Ok(())
}

/// Out of descriptors: close the oldest connections not yet upgraded (slow or silent clients)
/// and let them finish, so the connection waiting now can be taken. False if none was pending.
async fn shed(pending: &PendingConnections, connections: &mut tokio::task::JoinSet<()>) -> bool {
    let shed = pending.shed_oldest(SHED_AT_ONCE);
    if shed == 0 {
        return false;
    }
    tracing::warn!(
        "out of file descriptors: closed the {shed} oldest connection(s) not yet upgraded"
    );
    for _ in 0..shed {
        if !matches!(
            tokio::time::timeout(Duration::from_millis(100), connections.join_next()).await,
            Ok(Some(_))
        ) {
            break;
        }
    }
    true
}

async fn connection(
    router: Router,
    mut stream: TcpStream,
    peer: SocketAddr,
    handshake_timeout: Duration,
    mut closed: watch::Receiver<bool>,
) {
    voxgate_wire::net::no_delay(&mut stream);
    // Silent connections end here (hyper's header timeout starts with the first byte).
    match tokio::time::timeout(handshake_timeout, stream.readable()).await {
        Ok(Ok(())) => {}
        _ => return,
    }
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(handshake_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!("connection from {peer} ended: {error}");
            }
        }
        () = closing(&mut closed) => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(CLOSE_GRACE, connection).await;
        }
    }
}

/// Resolves when the listener starts closing connections.
async fn closing(closed: &mut watch::Receiver<bool>) {
    let _ = closed.wait_for(|closing| *closing).await;
}

fn is_out_of_descriptors(error: &std::io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE)
    )
}

/// One descriptor held in reserve for the moment the process runs out.
fn reserve_descriptor() -> Option<std::fs::File> {
    std::fs::File::open("/dev/null").ok()
}
