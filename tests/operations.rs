//! What operators see and do: every live session with its counters (`/admin/sessions`),
//! one session, and ending one (the client is told and closed 1001; the others go on); client
//! token names; usage and its cost; each plugin slot in `/health`.

mod support;

use serde_json::Value;
use support::*;

const ADMIN: &str = "ops-admin-token";

async fn admin(gw: &TestGateway, method: reqwest::Method, path: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .request(method, format!("http://{}{path}", gw.addr))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("admin request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn operators_list_sessions_with_their_counters_and_end_one() {
    let mut config = test_config();
    config.admin_token = Some(voxgate::secret::Secret::new(ADMIN));
    let (_sim, gw) = gateway_on_sim(config).await;
    let mut ended = talking_client(&gw).await;
    let mut other = talking_client(&gw).await;
    other.turn("a second turn").await;
    assert_eq!(
        gw.get("/admin/sessions").await.status(),
        401,
        "the token is needed"
    );

    let (status, listed) = admin(&gw, reqwest::Method::GET, "/admin/sessions").await;
    assert_eq!(status, 200);
    assert_eq!(listed["count"], 2, "{listed}");
    let sessions = listed["sessions"].as_array().unwrap();
    for session in sessions {
        assert!(
            session["id"].as_str().unwrap().starts_with("sess_"),
            "{session}"
        );
        assert_eq!(session["path"], "/v1/realtime");
        assert!(
            session["client"]
                .as_str()
                .unwrap()
                .starts_with("127.0.0.1:")
        );
        assert!(session["events_in"].as_u64().unwrap() >= 3, "{session}");
        assert!(session["bytes_out"].as_u64().unwrap() > 0, "{session}");
    }
    // Oldest first: `ended` connected first and had one turn, `other` two.
    assert_eq!(sessions[0]["turns"], 1, "{listed}");
    assert_eq!(sessions[1]["turns"], 2, "{listed}");
    let id = sessions[0]["id"].as_str().unwrap().to_string();
    // The client was told its id first of all.
    assert_eq!(ended.seen[0]["type"], "voxgate.session");
    assert_eq!(ended.seen[0]["session_id"], id.as_str());

    let (status, one) = admin(&gw, reqwest::Method::GET, &format!("/admin/sessions/{id}")).await;
    assert_eq!((status, one["id"].as_str()), (200, Some(id.as_str())));
    let (status, missing) = admin(&gw, reqwest::Method::GET, "/admin/sessions/sess_nope").await;
    assert_eq!(status, 404, "{missing}");

    let (status, _) = admin(
        &gw,
        reqwest::Method::DELETE,
        &format!("/admin/sessions/{id}"),
    )
    .await;
    assert_eq!(status, 202);
    let (close, events) = ended.until_close().await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1001));
    let notice = events
        .iter()
        .find(|e| e["type"] == "voxgate.shutdown")
        .unwrap_or_else(|| panic!("told: {events:?}"));
    assert_eq!(notice["reason"], "ended by operator");
    eventually("one session left", || async {
        admin(&gw, reqwest::Method::GET, "/admin/sessions").await.1["count"] == 1
    })
    .await;
    let events = other.turn("still here").await;
    assert_eq!(response_text(&events), "You said: still here");
}

#[tokio::test]
async fn sessions_carry_the_name_of_their_token_never_the_token() {
    let mut config = test_config();
    config.admin_token = Some(voxgate::secret::Secret::new(ADMIN));
    config.limits.tokens = voxgate::config::ClientTokens::parse([
        "mobile:mobile-secret-0123456789",
        "web-secret-0123456789",
    ])
    .expect("valid tokens");
    let (_sim, gw) = gateway_on_sim(config).await;
    let url = gw.url("/v1/realtime");
    let mut mobile = Client::connect_with(
        &url,
        &[("authorization", "Bearer mobile-secret-0123456789")],
    )
    .await;
    mobile.recv_type("session.created").await;
    let mut web = Client::connect_with(&url, &[("api-key", "web-secret-0123456789")]).await;
    web.recv_type("session.created").await;
    let (_, listed) = admin(&gw, reqwest::Method::GET, "/admin/sessions").await;
    let names: Vec<&str> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["client_name"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(names, ["mobile", "token-2"], "{listed}");
    assert!(
        !listed.to_string().contains("secret-0123456789"),
        "{listed}"
    );
}

#[tokio::test]
async fn a_client_correlation_id_follows_the_session() {
    let mut config = test_config();
    config.admin_token = Some(voxgate::secret::Secret::new(ADMIN));
    let (_sim, gw) = gateway_on_sim(config).await;
    let url = gw.url("/v1/realtime");
    let mut client = Client::connect_with(&url, &[("x-correlation-id", "call-42")]).await;
    let hello = client.recv_type("voxgate.session").await;
    assert_eq!(hello["correlation"], "call-42", "{hello}");
    client.recv_type("session.created").await;
    let (_, listed) = admin(&gw, reqwest::Method::GET, "/admin/sessions").await;
    assert_eq!(listed["sessions"][0]["correlation"], "call-42", "{listed}");
    assert_eq!(
        listed["sessions"][0]["client_name"],
        Value::Null,
        "no client auth"
    );
    // Not an id: refused before the upgrade, saying why.
    let request = {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("x-correlation-id", "x".repeat(200).parse().unwrap());
        request
    };
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
        }
        other => panic!("a 200-character correlation id: {other:?}"),
    }
}

/// Input and output tokens a client saw in its `response.done` events.
fn reported_usage(events: &[Value]) -> (u64, u64) {
    events
        .iter()
        .filter(|e| e["type"] == "response.done")
        .map(|e| &e["response"]["usage"])
        .fold((0, 0), |(i, o), u| {
            (
                i + u["input_tokens"].as_u64().unwrap(),
                o + u["output_tokens"].as_u64().unwrap(),
            )
        })
}

#[tokio::test]
async fn usage_is_counted_per_session_kb_and_client_and_priced() {
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.toml");
    std::fs::write(
        &prices,
        r#"taken = "2026-11-30 (test)"
[models."voxgate-simulator"]
input_text = 1000.0
cached_text = 100.0
output_text = 2000.0
input_audio = 0.0
cached_audio = 0.0
output_audio = 4000.0
"#,
    )
    .unwrap();
    let mut config = test_config();
    config.admin_token = Some(voxgate::secret::Secret::new(ADMIN));
    config.prices = voxgate::usage::PriceTable::from_file(&prices).expect("valid prices");
    config.limits.tokens =
        voxgate::config::ClientTokens::parse(["mobile:mobile-secret-0123456789"]).unwrap();
    let (_sim, gw) = gateway_on_sim(config).await;
    let url = gw.url("/v1/realtime");
    let mut client = Client::connect_with(
        &url,
        &[("authorization", "Bearer mobile-secret-0123456789")],
    )
    .await;
    client.recv_type("session.created").await;
    let mut seen = Vec::new();
    let long = "a first question long enough to be cached when reread. ".repeat(8);
    for turn in [long.as_str(), "second", "third"] {
        seen.extend(client.turn(turn).await);
    }
    let (input, output) = reported_usage(&seen);
    assert!(input > 0 && output > 0, "the simulator reports usage");

    let (_, listed) = admin(&gw, reqwest::Method::GET, "/admin/sessions").await;
    let session = &listed["sessions"][0];
    assert_eq!(session["model"], "voxgate-simulator", "{session}");
    assert_eq!(session["tokens"]["input"], input, "{session}");
    assert_eq!(session["tokens"]["output"], output, "{session}");
    assert!(
        session["tokens"]["cached_text"].as_u64().unwrap() > 0,
        "later turns reread the conversation: {session}"
    );

    let (status, usage) = admin(&gw, reqwest::Method::GET, "/admin/usage").await;
    assert_eq!(status, 200);
    assert_eq!(usage["prices"]["taken"], "2026-11-30 (test)");
    assert_eq!(usage["total"]["responses"], 3, "{usage}");
    assert_eq!(usage["by_client"]["mobile"]["tokens"]["input"], input);
    assert_eq!(usage["by_kb"]["voxgate-docs"]["tokens"]["output"], output);
    let tokens = &usage["total"]["tokens"];
    let expected = (tokens["input_text"].as_f64().unwrap() * 1000.0
        + tokens["cached_text"].as_f64().unwrap() * 100.0
        + tokens["output_text"].as_f64().unwrap() * 2000.0
        + tokens["output_audio"].as_f64().unwrap() * 4000.0)
        / 1e6;
    let cost = usage["total"]["estimated_cost"].as_f64().unwrap();
    assert!((cost - expected).abs() < 1e-6, "{cost} vs {expected}");
    assert_eq!(
        usage["by_model"]["voxgate-simulator"]["priced_as"],
        "voxgate-simulator"
    );

    let metrics = gw.get("/metrics").await.text().await.unwrap();
    let counted: u64 = metrics
        .lines()
        .filter(|l| {
            l.starts_with("voxgate_tokens_total{")
                && l.contains(r#"client="mobile""#)
                && l.contains(r#"direction="output""#)
                && l.contains(r#"kb="voxgate-docs""#)
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(counted, output, "{metrics}");
}

#[tokio::test]
async fn health_shows_each_slot() {
    let gw = TestGateway::start(test_config()).await;
    // One search: the rag slot's memory high-water mark is that of a store holding an index.
    let mut client = gw.seed_client("voxgate-docs").await;
    client.turn("How do circuit breakers work?").await;
    // The turn ends with the call; the search and the answer follow.
    client.recv_type("response.done").await;
    let health = gw.health().await;
    let plugins = &health["plugins"];
    let peak = plugins["rag"]["memory_peak_bytes"].as_u64().unwrap();
    let cap = voxgate::Config::default().plugins.rag.memory_bytes as u64;
    assert!(
        peak > 0 && peak <= cap,
        "rag memory peak {peak} within its cap {cap}"
    );
    assert_eq!(
        plugins["routing"]["sha256"],
        serde_json::Value::Null,
        "no routing.wasm: empty"
    );
    for slot in ["backoff", "rag"] {
        let p = &plugins[slot];
        assert_eq!(p["sha256"].as_str().unwrap().len(), 64, "{p}");
        for key in [
            "path",
            "loaded_at",
            "reloads",
            "calls",
            "faults",
            "last_error",
            "memory_peak_bytes",
        ] {
            assert!(p.get(key).is_some(), "{slot}.{key}");
        }
    }
}
