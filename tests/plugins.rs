//! Plugins in a running gateway: hot swaps under open sessions, refused files, misbehaving
//! policies while sessions talk, the admin routes and the watcher — through the real watcher
//! and the real admin routes.

mod support;

use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use support::*;

fn built(name: &str) -> PathBuf {
    plugin_file(name)
}

const ADMIN: &str = "test-admin-token";

async fn gateway_with(sim: &Sim) -> TestGateway {
    let mut config = test_config();
    config.upstream = sim.upstream("/v1/realtime", None);
    config.admin_token = Some(voxgate::secret::Secret::new(ADMIN));
    config.upstream_breaker = breaker(1000, Duration::from_secs(60));
    config.retry = retry(3, Duration::from_millis(10), Duration::from_secs(1));
    TestGateway::start(config).await
}

async fn admin(gw: &TestGateway, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("http://{}{path}", gw.addr);
    let mut request = if method == "POST" {
        client.post(url)
    } else {
        client.get(url)
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

fn install(gw: &TestGateway, slot: &str, plugin: &str) {
    let bytes = std::fs::read(built(plugin)).unwrap();
    voxgate::plugins::write_atomically(
        &gw.gateway.config().plugins.dir.join(format!("{slot}.wasm")),
        &bytes,
    )
    .unwrap();
}

fn sha(plugin: &str) -> String {
    voxgate::plugins::slot::sha256_hex(&std::fs::read(built(plugin)).unwrap())
}

/// Make the session's upstream drop once and come back, forcing one retry with backoff.
async fn one_retry(sim: &Sim, client: &mut Client) {
    sim.faults(json!({"refuse": {"status": 503, "count": 1}}))
        .await;
    sim.faults(json!({"close": {"code": 1001, "reason": "session_expired"}}))
        .await;
    client.recv_type("voxgate.upstream.reconnected").await;
}

#[tokio::test]
async fn hot_swap_under_open_sessions_changes_the_next_retry() {
    let sim = Sim::start().await;
    let gw = gateway_with(&sim).await;
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("session.created").await;
    client.text_only().await;
    let before = gw.health().await["plugins"]["backoff"].clone();
    assert_eq!(before["sha256"], sha("backoff-exponential"));

    install(&gw, "backoff", "test-backoff-fixed");
    eventually("the watcher loads the new backoff.wasm", || async {
        gw.health().await["plugins"]["backoff"]["sha256"] == sha("test-backoff-fixed")
    })
    .await;
    one_retry(&sim, &mut client).await;
    assert!(
        logs().contains("[RETRY] Attempt 1 failed, retrying in 0.037s"),
        "the new policy decided the delay"
    );
    let events = client.turn("still the same session").await;
    assert_eq!(response_text(&events), "You said: still the same session");
    let after = gw.health().await["plugins"]["backoff"].clone();
    assert_eq!(after["reloads"], 1);
    assert!(after["calls"].as_u64().unwrap() >= 1);
    assert_eq!(
        gw.health().await["metrics"]["counters"]["ws_connections"],
        1,
        "no session was restarted"
    );

    // Roll back through the admin route.
    let (status, body) = admin(&gw, "POST", "/admin/plugins/backoff/rollback", Some(ADMIN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        gw.health().await["plugins"]["backoff"]["sha256"],
        sha("backoff-exponential")
    );
    // The rollback stays: the watcher does not take the slot's own reads of its file for
    // changes (it used to reload after them, undoing a rollback made soon after a swap).
    let reloads = gw.health().await["plugins"]["backoff"]["reloads"].clone();
    tokio::time::sleep(voxgate::plugins::watcher::DEBOUNCE * 5).await;
    let backoff = gw.health().await["plugins"]["backoff"].clone();
    assert_eq!(backoff["sha256"], sha("backoff-exponential"));
    assert_eq!(backoff["reloads"], reloads);
}

#[tokio::test]
async fn invalid_files_leave_the_current_version_serving() {
    let sim = Sim::start().await;
    let gw = gateway_with(&sim).await;
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("session.created").await;
    client.text_only().await;
    let good = sha("backoff-exponential");
    let path = gw.gateway.config().plugins.dir.join("backoff.wasm");
    for (bytes, says) in [
        (
            b"garbage bytes".to_vec(),
            "not a valid WebAssembly component",
        ),
        (std::fs::read(built("rag-bm25")).unwrap(), "backoff-policy"),
    ] {
        voxgate::plugins::write_atomically(&path, &bytes).unwrap();
        let (status, body) = admin(&gw, "POST", "/admin/plugins/backoff/reload", Some(ADMIN)).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"].as_str().unwrap().contains(says), "{body}");
        let health = gw.health().await;
        assert_eq!(health["plugins"]["backoff"]["sha256"], good);
        assert!(
            health["plugins"]["backoff"]["last_error"]
                .as_str()
                .unwrap()
                .contains(says)
        );
    }
    assert!(
        gw.health().await["metrics"]["errors"]["plugin_reload_failed"]
            .as_u64()
            .unwrap()
            >= 2
    );
    let events = client.turn("still served").await;
    assert_eq!(response_text(&events), "You said: still served");
}

/// A session whose upstream needs two retries, under `plugin` as the backoff policy.
/// `bystander` is another session, connected before the outage (it does not reconnect: only
/// the first session's upstream is cut).
async fn two_retries_under(plugin: &str, deadline: Duration) -> (TestGateway, Sim, Client, Client) {
    let sim = Sim::start().await;
    let mut config = test_config();
    config.upstream = sim.upstream("/v1/realtime", None);
    config.admin_token = Some(voxgate::secret::Secret::new(ADMIN));
    config.upstream_breaker = breaker(1000, Duration::from_secs(60));
    config.plugins.backoff.deadline = deadline;
    let gw = TestGateway::start(config).await;
    let mut client = Client::connect(&gw.url("/v1/realtime")).await;
    client.recv_type("session.created").await;
    client.text_only().await;
    let mut bystander = Client::connect(&gw.url("/v1/realtime")).await;
    bystander.recv_type("session.created").await;
    bystander.text_only().await;
    install(&gw, "backoff", plugin);
    let (status, body) = admin(&gw, "POST", "/admin/plugins/backoff/reload", Some(ADMIN)).await;
    assert!(status == 200, "{body}");
    sim.faults(json!({"refuse": {"status": 503, "count": 2}}))
        .await;
    sim.faults(json!({"close": {"code": 1001, "reason": "session_expired", "session": "sess_1"}}))
        .await;
    client.recv_type("voxgate.upstream.reconnecting").await;
    (gw, sim, client, bystander)
}

#[tokio::test]
async fn a_trapping_policy_falls_back_to_exponential_and_the_session_continues() {
    let (gw, _sim, mut client, _) =
        two_retries_under("test-backoff-trap", Duration::from_millis(100)).await;
    client.recv_type("voxgate.upstream.reconnected").await;
    let events = client.turn("after the fault").await;
    assert_eq!(response_text(&events), "You said: after the fault");
    let health = gw.health().await;
    assert_eq!(health["metrics"]["errors"]["plugin_trap"], 1);
    assert_eq!(health["plugins"]["backoff"]["faults"], 1);
}

#[tokio::test]
async fn a_looping_policy_times_out_while_other_sessions_keep_flowing() {
    let (gw, _sim, mut looping, mut other) =
        two_retries_under("test-backoff-loop", Duration::from_secs(3)).await;
    // While that session's backoff plugin spins on a blocking thread, another session talks.
    let events = other.turn("timers and traffic flow").await;
    assert_eq!(response_text(&events), "You said: timers and traffic flow");
    assert_eq!(
        gw.health().await["metrics"]["errors"]["plugin_timeout"],
        0,
        "the conversation did not wait for the loop"
    );
    looping.recv_type("voxgate.upstream.reconnected").await;
    assert_eq!(gw.health().await["metrics"]["errors"]["plugin_timeout"], 1);
}

/// Three sessions' backoff decisions loop at once on a two-worker runtime: more loops than
/// workers. Each yields at every epoch tick, so another session's turns are answered while all
/// three are still looping (none has reached its deadline yet), then each loop is stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looping_policies_on_every_worker_at_once_leave_other_sessions_flowing() {
    let sim = Sim::start().await;
    let mut config = test_config();
    config.upstream = sim.upstream("/v1/realtime", None);
    config.admin_token = Some(voxgate::secret::Secret::new(ADMIN));
    config.upstream_breaker = breaker(1000, Duration::from_secs(60));
    config.plugins.backoff.deadline = Duration::from_secs(4);
    let gw = TestGateway::start(config).await;
    let mut looping = Vec::new();
    for _ in 0..3 {
        let mut client = Client::connect(&gw.url("/v1/realtime")).await;
        client.recv_type("session.created").await;
        looping.push(client);
    }
    let mut other = talking_client(&gw).await;
    install(&gw, "backoff", "test-backoff-loop");
    let (status, body) = admin(&gw, "POST", "/admin/plugins/backoff/reload", Some(ADMIN)).await;
    assert!(status == 200, "{body}");
    // Each looping session's first two reconnects are refused: the decision after the second
    // refusal is the plugin's, and it loops.
    sim.faults(json!({"refuse": {"status": 503, "count": 6}}))
        .await;
    for n in 1..=3 {
        sim.faults(json!({"close": {"code": 1001, "reason": "session_expired", "session": format!("sess_{n}")}}))
            .await;
    }
    for client in &mut looping {
        client.recv_type("voxgate.upstream.reconnecting").await;
    }
    eventually("three looping decisions have started", || async {
        gw.health().await["plugins"]["backoff"]["calls"]
            .as_u64()
            .is_some_and(|calls| calls >= 3)
    })
    .await;
    for n in 1..=5 {
        let events = other.turn(&format!("flowing {n}")).await;
        assert_eq!(response_text(&events), format!("You said: flowing {n}"));
    }
    assert_eq!(
        gw.health().await["metrics"]["errors"]["plugin_timeout"],
        0,
        "every turn was answered while the three loops were still running"
    );
    for client in &mut looping {
        client.recv_type("voxgate.upstream.reconnected").await;
    }
    assert_eq!(gw.health().await["metrics"]["errors"]["plugin_timeout"], 3);
}

#[tokio::test]
async fn an_allocating_policy_is_an_oom_fault_not_a_crash() {
    let (gw, _sim, mut client, _) =
        two_retries_under("test-backoff-oom", Duration::from_secs(2)).await;
    client.recv_type("voxgate.upstream.reconnected").await;
    assert_eq!(gw.health().await["metrics"]["errors"]["plugin_oom"], 1);
}

#[tokio::test]
async fn admin_routes_need_the_token() {
    let sim = Sim::start().await;
    let gw = gateway_with(&sim).await;
    assert_eq!(admin(&gw, "GET", "/admin/plugins", None).await.0, 401);
    assert_eq!(
        admin(&gw, "GET", "/admin/plugins", Some("wrong")).await.0,
        401
    );
    let (status, body) = admin(&gw, "GET", "/admin/plugins", Some(ADMIN)).await;
    assert_eq!(status, 200);
    assert_eq!(body["backoff"]["world"], "backoff-policy");
    assert_eq!(body["rag"]["world"], "rag-search");
    assert_eq!(
        admin(&gw, "POST", "/admin/plugins/nope/reload", Some(ADMIN))
            .await
            .0,
        404
    );
    assert_eq!(
        admin(&gw, "POST", "/admin/plugins/rag/rollback", Some(ADMIN))
            .await
            .0,
        409
    );

    let open = TestGateway::start(test_config()).await;
    let (status, body) = admin(&open, "GET", "/admin/plugins", Some("anything")).await;
    assert_eq!(status, 403);
    assert!(body["error"].as_str().unwrap().contains("ADMIN_TOKEN"));
}

/// The ways a slot file gets replaced in production, each picked up by the watcher:
/// delete-then-create, and a Kubernetes ConfigMap volume's `..data` symlink swap.
#[tokio::test]
async fn the_watcher_follows_delete_then_create_and_configmap_swaps() {
    let dir = tempfile::tempdir().unwrap().keep();
    // A ConfigMap volume: versioned directories, `..data` pointing at the live one, and the
    // visible files as symlinks through `..data`.
    let first = dir.join("..2026_11_29_a");
    std::fs::create_dir_all(&first).unwrap();
    std::fs::write(
        first.join("backoff.wasm"),
        std::fs::read(built("backoff-exponential")).unwrap(),
    )
    .unwrap();
    std::fs::write(
        first.join("rag.wasm"),
        std::fs::read(built("rag-bm25")).unwrap(),
    )
    .unwrap();
    std::os::unix::fs::symlink("..2026_11_29_a", dir.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/backoff.wasm", dir.join("backoff.wasm")).unwrap();
    std::os::unix::fs::symlink("..data/rag.wasm", dir.join("rag.wasm")).unwrap();
    let mut config = test_config();
    config.plugins.dir = dir.clone();
    config.plugins.cache_dir = Some(tempfile::tempdir().unwrap().keep());
    let gw = TestGateway::start(config).await;
    let backoff_sha = || async {
        gw.health().await["plugins"]["backoff"]["sha256"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(backoff_sha().await, sha("backoff-exponential"));

    // The kubelet's update: a new directory, a temporary link, renamed over `..data`.
    let second = dir.join("..2026_11_29_b");
    std::fs::create_dir_all(&second).unwrap();
    std::fs::write(
        second.join("backoff.wasm"),
        std::fs::read(built("test-backoff-fixed")).unwrap(),
    )
    .unwrap();
    std::fs::write(
        second.join("rag.wasm"),
        std::fs::read(built("rag-bm25")).unwrap(),
    )
    .unwrap();
    std::os::unix::fs::symlink("..2026_11_29_b", dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    eventually("the ConfigMap swap is loaded", || async {
        backoff_sha().await == sha("test-backoff-fixed")
    })
    .await;

    // Delete, then create the file again (an editor, or `rm && cp`).
    std::fs::remove_file(dir.join("backoff.wasm")).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    std::fs::write(
        dir.join("backoff.wasm"),
        std::fs::read(built("backoff-decorrelated-jitter")).unwrap(),
    )
    .unwrap();
    eventually("the re-created file is loaded", || async {
        backoff_sha().await == sha("backoff-decorrelated-jitter")
    })
    .await;
    let health = gw.health().await;
    assert_eq!(health["plugins"]["backoff"]["reloads"], 2);
    assert_eq!(
        health["plugins"]["rag"]["last_error"],
        Value::Null,
        "an unchanged rag.wasm is not reloaded"
    );
}
