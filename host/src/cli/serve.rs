//! `voxgate serve` (the default) and `voxgate simulate`: the long-running services, each until
//! SIGTERM or SIGINT.

use voxgate::config::ServeArgs;

/// `voxgate serve`: listen, serve until SIGTERM/SIGINT, then drain the open sessions.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.into_config()?;
    voxgate::process::raise_open_files();
    let addr = format!("{}:{}", config.host, config.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("HOST/PORT: cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
    let gateway = voxgate::Gateway::start(config).await?;
    tracing::info!(
        "voxgate listening on http://{bound} (/ws, /v1/realtime, /openai/realtime, /openai/v1/realtime, /health, /metrics)"
    );
    let still_open =
        voxgate::http::serve_until_drained(gateway, listener, shutdown_signal()).await?;
    tracing::info!("stopped ({still_open} session(s) still open at exit)");
    Ok(())
}

/// `voxgate simulate`: the Realtime simulator alone, until SIGTERM/SIGINT.
pub async fn simulate(host: &str, port: u16) -> anyhow::Result<()> {
    let addr = format!("{host}:{port}");
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let (_simulator, bound) = voxgate_sim::Simulator::spawn(listener).await?;
    tracing::info!(
        "Realtime simulator on ws://{bound} (/v1/realtime, /openai/realtime, /openai/v1/realtime; /_sim/sessions, /_sim/faults)"
    );
    shutdown_signal().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
