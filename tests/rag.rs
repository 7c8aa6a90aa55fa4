//! RAG search as a hot-swappable plugin: the tool-call round trip over real sockets, knowledge
//! bases (isolation, edits on disk), plugin swaps mid-session, and seed scenario 3 (search
//! failure → retries → fallback → the rag breaker opens, fails fast, recovers).

mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use support::*;
use voxgate::Config;

const ADMIN: &str = "rag-admin";

/// Ask a question (the simulator turns it into a `search_knowledge_base` call), and return
/// the answer the model gives once the gateway has answered the call.
async fn ask(client: &mut Client, question: &str) -> String {
    let first = client.turn(question).await;
    assert!(
        first
            .iter()
            .any(|e| e["type"] == "response.function_call_arguments.done"),
        "the model called the tool: {:?}",
        types(&first)
    );
    response_text(&client.response().await)
}

async fn text_client(gw: &TestGateway, path: &str) -> Client {
    let mut client = Client::connect(&gw.url(path)).await;
    client.recv_type("session.created").await;
    client.text_only().await;
    client
}

fn kb_dir_with(kbs: &[(&str, &[(&str, &str)])]) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    for (kb, docs) in kbs {
        for (name, text) in *docs {
            let path = dir.join(kb).join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }
    dir
}

fn built(name: &str) -> Vec<u8> {
    std::fs::read(plugin_file(name)).unwrap()
}

async fn reload_rag(gw: &TestGateway, plugin: &str) {
    voxgate::plugins::write_atomically(
        &gw.gateway.config().plugins.dir.join("rag.wasm"),
        &built(plugin),
    )
    .unwrap();
    let response = reqwest::Client::new()
        .post(format!("http://{}/admin/plugins/rag/reload", gw.addr))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn a_question_is_answered_from_the_sample_knowledge_base() {
    let gw = TestGateway::start(test_config()).await;
    let mut client = gw.seed_client("voxgate-docs").await;
    client.text_only().await;
    let answer = ask(
        &mut client,
        "Which states does a circuit breaker go through?",
    )
    .await;
    assert!(
        answer.starts_with("According to the knowledge base: [operations/circuit-breakers.md#"),
        "{answer}"
    );
    let health = gw.health().await;
    assert_eq!(health["metrics"]["counters"]["rag_searches"], 1);
    assert_eq!(health["metrics"]["errors"]["rag_search_failed"], 0);
    assert!(
        health["metrics"]["avg_latencies"]["rag_search"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let rag_init = health["metrics"]["avg_latencies"]["rag_init"]
        .as_f64()
        .unwrap();
    assert!(rag_init > 0.0, "the index build was timed: {health}");
}

#[tokio::test]
async fn several_calls_in_one_response_are_all_answered_before_the_model_goes_on() {
    let (sim, gw) = gateway_on_sim(test_config()).await;
    let mut client = text_client(&gw, "/v1/realtime").await;
    let answer = ask(
        &mut client,
        "How do retries back off?; What does the health endpoint show?",
    )
    .await;
    let parts: Vec<&str> = answer
        .trim_start_matches("According to the knowledge base: ")
        .split(" | ")
        .collect();
    assert_eq!(parts.len(), 2, "{answer}");
    assert!(parts.iter().all(|p| p.starts_with('[')), "{answer}");
    let items = sim.sessions().await[0]["items"].clone();
    let kinds: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "message",
            "function_call",
            "function_call",
            "function_call_output",
            "function_call_output",
            "message"
        ]
    );
    let received: Vec<String> = sim.sessions().await[0]["received"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        received.iter().filter(|t| *t == "response.create").count(),
        2,
        "one response.create for both calls: {received:?}"
    );
}

#[tokio::test]
async fn no_hits_tell_the_model_so() {
    let gw = TestGateway::start(test_config()).await;
    let mut client = text_client(&gw, "/openai/realtime").await;
    let answer = ask(&mut client, "xylophone quasar?").await;
    assert_eq!(
        answer,
        "According to the knowledge base: No relevant information found."
    );
}

#[tokio::test]
async fn sessions_on_different_knowledge_bases_never_see_each_other() {
    let kb_dir = kb_dir_with(&[
        (
            "alpha",
            &[(
                "animals.md",
                "# Aardvark\n\nThe aardvark digs burrows at night.",
            )],
        ),
        (
            "beta",
            &[("animals.md", "# Bison\n\nThe bison grazes on the plains.")],
        ),
    ]);
    let mut config = test_config();
    config.kb_dir = kb_dir;
    config.default_kb_id = "alpha".into();
    let gw = TestGateway::start(config).await;
    let mut a = text_client(&gw, "/v1/realtime?kb=alpha").await;
    let mut b = Client::connect_with(&gw.url("/v1/realtime"), &[("x-kb-id", "beta")]).await;
    b.recv_type("session.created").await;
    b.text_only().await;
    let (answer_a, answer_b) = tokio::join!(
        ask(&mut a, "aardvark or bison?"),
        ask(&mut b, "aardvark or bison?")
    );
    assert!(
        answer_a.contains("aardvark digs") && !answer_a.contains("bison"),
        "{answer_a}"
    );
    assert!(
        answer_b.contains("bison grazes") && !answer_b.contains("aardvark"),
        "{answer_b}"
    );
}

#[tokio::test]
async fn a_document_edited_during_a_session_is_seen_by_the_next_search() {
    let kb_dir = kb_dir_with(&[("live", &[("a.md", "# Start\n\nNothing about that yet.")])]);
    let mut config = test_config();
    config.kb_dir = kb_dir.clone();
    let gw = TestGateway::start(config).await;
    let mut client = text_client(&gw, "/v1/realtime?kb=live").await;
    assert!(
        ask(&mut client, "zeppelin?")
            .await
            .ends_with("No relevant information found.")
    );
    std::fs::write(
        kb_dir.join("live/new.md"),
        "# Zeppelins\n\nA zeppelin is a rigid airship.",
    )
    .unwrap();
    let mut seen = String::new();
    for _ in 0..50 {
        seen = ask(&mut client, "zeppelin?").await;
        if seen.contains("[new.md#0]") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        seen.contains("[new.md#0] Zeppelins: A zeppelin is a rigid airship."),
        "{seen}"
    );
}

fn config_with_admin() -> Config {
    let mut config = test_config();
    config.admin_token = Some(voxgate::secret::Secret::new(ADMIN));
    config
}

#[tokio::test]
async fn a_rag_plugin_swapped_during_a_session_serves_the_next_search() {
    let mut config = config_with_admin();
    config.rag_breaker = breaker(100, Duration::from_secs(30)); // about the swap, not the breaker
    let gw = TestGateway::start(config).await;
    let mut client = text_client(&gw, "/v1/realtime").await;
    assert!(
        ask(&mut client, "What is the default port?")
            .await
            .contains("[faq.md#0]")
    );
    reload_rag(&gw, "test-rag-fail").await;
    assert_eq!(
        ask(&mut client, "What is the default port?").await,
        "According to the knowledge base: Search temporarily unavailable."
    );
    reload_rag(&gw, "rag-bm25").await;
    assert!(
        ask(&mut client, "What is the default port?")
            .await
            .contains("[faq.md#0]")
    );
    assert_eq!(
        gw.health().await["metrics"]["counters"]["ws_connections"],
        1
    );
}

#[tokio::test]
async fn scenario_3_rag_failure_retries_falls_back_opens_the_breaker_and_recovers() {
    let mut config = config_with_admin();
    config.rag_breaker = breaker(3, Duration::from_millis(2000)); // long enough that a loaded CI machine reads "open" before it turns half_open
    let gw = TestGateway::start(config).await;
    let mut client = text_client(&gw, "/v1/realtime").await;
    reload_rag(&gw, "test-rag-fail").await;

    // 1. Retried with backoff, then the fallback message reaches the model.
    let answer = ask(&mut client, "What is a breaker?").await;
    assert_eq!(
        answer,
        "According to the knowledge base: Search temporarily unavailable."
    );
    assert!(logs().contains("[RETRY] Attempt 2 failed, retrying in 0.02s"));
    // 2. Three consecutive failures opened the rag breaker.
    let health = gw.health().await;
    assert_eq!(health["circuit_breakers"]["rag"], "open");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["metrics"]["errors"]["rag_search_failed"], 1);
    let calls = health["plugins"]["rag"]["calls"].as_u64().unwrap();

    // 3. Later searches fail fast: the plugin is not even called.
    let answer = ask(&mut client, "What is a breaker?").await;
    assert_eq!(
        answer,
        "According to the knowledge base: Search temporarily unavailable."
    );
    let health = gw.health().await;
    assert_eq!(
        health["plugins"]["rag"]["calls"].as_u64().unwrap(),
        calls,
        "rejected before the plugin"
    );
    assert_eq!(health["metrics"]["errors"]["rag_search_failed"], 2);

    // 4. After RAG_CIRCUIT_TIMEOUT it is half open; a good search closes it.
    eventually("rag breaker half_open", || async {
        gw.health().await["circuit_breakers"]["rag"] == "half_open"
    })
    .await;
    reload_rag(&gw, "rag-bm25").await;
    let answer = ask(&mut client, "What is a breaker?").await;
    assert!(
        answer.contains("[operations/circuit-breakers.md#"),
        "{answer}"
    );
    assert_eq!(gw.health().await["circuit_breakers"]["rag"], "closed");
}

#[tokio::test]
async fn operators_can_search_through_the_admin_route() {
    let gw = TestGateway::start(config_with_admin()).await;
    let response = reqwest::Client::new()
        .get(format!(
            "http://{}/admin/kb/voxgate-docs/search?q=circuit%20breaker%20half%20open&k=3",
            gw.addr
        ))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let hits = body["hits"].as_array().unwrap();
    assert!(!hits.is_empty() && hits.len() <= 3);
    assert!(
        hits[0]["chunk_id"]
            .as_str()
            .unwrap()
            .starts_with("operations/circuit-breakers.md#")
    );
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "ranked: {scores:?}"
    );
    let missing = reqwest::Client::new()
        .get(format!("http://{}/admin/kb/nope/search?q=x", gw.addr))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_slow_search_never_stalls_sessions_that_do_not_search() {
    let mut config = config_with_admin();
    config.plugins.rag.deadline = Duration::from_secs(30);
    let gw = TestGateway::start(config).await;
    reload_rag(&gw, "test-rag-slow").await;
    // Sessions whose questions make the model search, each search computing for a long time.
    let mut searching = Vec::new();
    for _ in 0..4 {
        let mut client = text_client(&gw, "/v1/realtime").await;
        client
            .send(serde_json::json!({"type": "conversation.item.create", "item": {"type": "message",
                "role": "user", "content": [{"type": "input_text", "text": "What is the default port?"}]}}))
            .await;
        client
            .send(serde_json::json!({"type": "response.create"}))
            .await;
        searching.push(client);
    }
    // Meanwhile a session that never searches talks turn after turn.
    let mut plain = text_client(&gw, "/v1/realtime").await;
    let mut slowest = Duration::ZERO;
    for n in 0..10 {
        let started = tokio::time::Instant::now();
        let events = plain.turn(&format!("plain turn {n}")).await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(response_text(&events), format!("You said: plain turn {n}"));
    }
    eprintln!("slowest plain turn while searches computed: {slowest:?}");
    let health = gw.health().await;
    assert!(
        health["plugins"]["rag"]["calls"].as_u64().unwrap_or(0) >= 1,
        "the slow searches ran: {health}"
    );
}
