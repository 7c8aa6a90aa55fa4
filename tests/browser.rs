//! The gateway's pages in a real headless Chromium: the try-it page asks a question and shows
//! the streamed answer quoting the sample knowledge base, with the search it made; the ops
//! console shows a plugin swap and a breaker opening as they happen, ends a session, and its
//! rollback button rolls back. Screenshots: `VOXGATE_SCREENSHOTS=docs/screenshots cargo test
//! --test browser` writes the README's pictures.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::{Browser, browser_available};
use serde_json::{Value, json};
use std::time::Duration;
use support::*;

const ADMIN: &str = "console-admin-token";
const CLIENT_TOKEN: &str = "browser-demo-0123456789";

#[tokio::test]
async fn the_try_it_page_answers_from_the_knowledge_base_through_a_client_token() {
    if !browser_available() {
        return;
    }
    let mut config = test_config();
    config.limits.tokens =
        voxgate::config::ClientTokens::parse([format!("try-page:{CLIENT_TOKEN}").as_str()])
            .unwrap();
    let (_sim, gw) = gateway_on_sim(config).await;
    let browser = Browser::start(1100, 820).await;
    let page = &browser.client;
    page.goto(&format!("http://{}/", gw.addr)).await.unwrap();
    // Tokens are on: the page asks for one, and its socket is admitted with it.
    let token = browser.find("#client-token:not([hidden])").await;
    token.send_keys(CLIENT_TOKEN).await.unwrap();
    browser.text_until("#conn", |t| t == "disconnected").await;
    browser.find("#kb").await;
    let kb = page
        .execute("return document.querySelector('#kb').value", vec![])
        .await
        .unwrap();
    assert_eq!(kb, json!("voxgate-docs"), "the default knowledge base");
    browser.click("#connect").await;
    browser.text_until("#conn", |t| t == "connected").await;
    browser
        .text_until("#session-line", |t| t.starts_with("session sess_"))
        .await;

    let question = browser.find("#question").await;
    question
        .send_keys("What happens when knowledge-base search fails?")
        .await
        .unwrap();
    browser.click("#send").await;
    let answer = browser
        .text_until(".msg.assistant", |t| {
            t.starts_with("According to the knowledge base")
        })
        .await;
    assert!(
        answer.contains("retried with backoff") || answer.contains("Search"),
        "the answer quotes the sample KB: {answer}"
    );
    let searched = browser
        .text_until(".msg.search", |t| t.contains("searched the knowledge base"))
        .await;
    assert!(searched.contains("search fails"), "{searched}");
    let hits = browser
        .text_until(".msg.search ol", |t| !t.is_empty())
        .await;
    assert!(
        hits.contains("faq.md"),
        "the hits name their chunks: {hits}"
    );
    browser.screenshot("try-it.png").await;
    browser.close().await;
}

async fn admin(gw: &TestGateway, path: &str) -> Value {
    gw.admin_get(ADMIN, path).await
}

#[tokio::test]
async fn the_console_shows_swaps_and_breakers_live_ends_sessions_and_rolls_back() {
    if !browser_available() {
        return;
    }
    let sim = Sim::start().await;
    let mut config = test_config();
    config.upstream = sim.upstream("/v1/realtime", None);
    config.admin_token = Some(voxgate::secret::Secret::new(ADMIN));
    config.upstream_breaker = breaker(3, Duration::from_secs(60));
    config.retry = retry(3, Duration::from_millis(10), Duration::from_millis(50));
    let gw = TestGateway::start(config).await;
    let mut talking = talking_client(&gw).await;
    let shipped = admin(&gw, "/admin/plugins").await["backoff"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();

    let browser = Browser::start(1280, 1000).await;
    let page = &browser.client;
    page.goto(&format!("http://{}/console", gw.addr))
        .await
        .unwrap();
    let token = browser.find("#token").await;
    token.send_keys("wrong-token").await.unwrap();
    browser.click("#login-form button").await;
    browser
        .text_until("#login-error", |t| t.contains("admin token"))
        .await;
    let token = browser.find("#token").await;
    token.send_keys(ADMIN).await.unwrap();
    browser.click("#login-form button").await;
    browser
        .text_until("#feed-state", |t| t == "feed: live")
        .await;
    browser
        .text_until("#plugins tr[data-slot=backoff]", |t| {
            t.contains(&shipped[..12])
        })
        .await;
    browser
        .text_until("#sessions tbody", |t| t.contains("sess_"))
        .await;

    // A swap, as it happens.
    let fixed = std::fs::read(plugin_file("test-backoff-fixed")).unwrap();
    let swapped_to = voxgate::plugins::slot::sha256_hex(&fixed);
    voxgate::plugins::write_atomically(
        &gw.gateway.config().plugins.dir.join("backoff.wasm"),
        &fixed,
    )
    .unwrap();
    browser
        .text_until("#events", |t| t.contains("plugin.swapped slot=backoff"))
        .await;
    browser
        .text_until("#plugins tr[data-slot=backoff]", |t| {
            t.contains(&swapped_to[..12])
        })
        .await;

    // The upstream refuses every connect: a new session fails and the breaker opens.
    sim.faults(json!({"refuse": {"status": 503, "count": 1000}}))
        .await;
    let mut refused = Client::connect(&gw.url("/v1/realtime")).await;
    refused.until_close().await;
    browser
        .text_until("#events", |t| {
            t.contains("breaker breaker=azure state=open")
        })
        .await;
    browser
        .text_until("#breakers tr[data-breaker=azure]", |t| t.contains("open"))
        .await;
    browser.screenshot("console.png").await;

    // End the talking session from its row.
    browser.click("#sessions tr[data-session] button").await;
    let (close, _) = talking.until_close().await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1001));

    // Roll back from the plugins table.
    browser
        .click("#plugins tr[data-slot=backoff] button[title^='back to']")
        .await;
    browser
        .text_until("#events", |t| t.contains("plugin.rolled_back slot=backoff"))
        .await;
    browser
        .text_until("#plugins tr[data-slot=backoff]", |t| {
            t.contains(&shipped[..12])
        })
        .await;
    assert_eq!(
        admin(&gw, "/admin/plugins").await["backoff"]["sha256"],
        shipped.as_str()
    );
    browser.close().await;
}

#[tokio::test]
async fn pages_are_served_from_the_binary_with_a_strict_policy() {
    let (_sim, gw) = gateway_on_sim(test_config()).await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/console", "text/html"),
        ("/assets/console.js", "text/javascript"),
        ("/assets/try.js", "text/javascript"),
        ("/assets/style.css", "text/css"),
    ] {
        let response = gw.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert!(
            headers["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path}: nothing fetched from elsewhere"
        );
    }
    let info: Value = gw.get("/try/info").await.json().await.unwrap();
    assert_eq!(
        info,
        json!({"client_token_required": false, "default_kb": "voxgate-docs"})
    );
}
