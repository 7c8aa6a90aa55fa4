//! `/health` keeps answering when the gateway runs out of file descriptors: `voxgate serve` in
//! a child process limited to 128 descriptors, hundreds of silent connections from several
//! addresses (each under the per-address bound), then a health check from another address.
//! A child process because the limit is per process (and the test's own sockets must not
//! count against it).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: u32 = 128;

/// The gateway, killed when dropped.
struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A TCP connection to `gateway` from the loopback address `source`.
fn connect_from(source: &str, gateway: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    let from: SocketAddr = format!("{source}:0").parse().expect("address");
    socket.bind(&from.into())?;
    socket.connect_timeout(&gateway.into(), Duration::from_secs(5))?;
    Ok(socket.into())
}

/// `GET /health` from `source`: the status line, within `timeout`.
fn health(source: &str, gateway: SocketAddr, timeout: Duration) -> std::io::Result<String> {
    let mut stream = connect_from(source, gateway)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: voxgate\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer.lines().next().unwrap_or_default().to_string())
}

#[test]
fn health_answers_when_silent_connections_exhaust_the_descriptors() {
    let port = free_port();
    let gateway: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let plugins = tempfile::tempdir().expect("tempdir");
    let log = tempfile::NamedTempFile::new().expect("log file");
    let _child = Gateway(
        Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {LIMIT} && exec \"$0\" serve"))
            .arg(env!("CARGO_BIN_EXE_voxgate"))
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("PLUGIN_DIR", plugins.path())
            .env(
                "KB_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/kb"),
            )
            .env("HANDSHAKE_TIMEOUT", "60")
            .env("RUST_LOG", "info")
            .stdout(log.reopen().expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("voxgate serve"),
    );
    let started = Instant::now();
    while health("127.0.0.1", gateway, Duration::from_secs(5)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the gateway did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // 300 silent connections, 50 from each of six addresses (under the 64 per address):
    // more than the gateway has descriptors for.
    let mut silent = Vec::new();
    for source in 2..8 {
        for _ in 0..50 {
            silent.push(connect_from(&format!("127.0.0.{source}"), gateway).expect("connect"));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let asked = Instant::now();
    let status = health("127.0.0.1", gateway, Duration::from_secs(10));
    let took = asked.elapsed();
    let mut logged = String::new();
    std::fs::File::open(log.path())
        .and_then(|mut f| f.read_to_string(&mut logged))
        .expect("log");
    eprintln!(
        "/health with {} silent connections: {status:?} in {took:?}",
        silent.len()
    );
    assert_eq!(
        status.as_deref().ok(),
        Some("HTTP/1.1 200 OK"),
        "gateway log:\n{logged}"
    );
    assert!(
        logged.contains("out of file descriptors: closed the"),
        "the oldest silent connections were shed: {logged}"
    );
}
