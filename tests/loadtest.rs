//! `voxgate loadtest` briefly against an in-test gateway and simulator: the report's counts
//! (not its speed).

mod support;

use std::time::Duration;
use support::*;
use voxgate_loadtest::{Mode, Options, run};

fn options(gw: &TestGateway, mode: Mode, path: &str) -> Options {
    let mut options = Options::new("voxgate-docs", mode, &format!("ws://{}", gw.addr));
    options.path = path.into();
    options.sessions = 4;
    options.duration = Duration::from_secs(2);
    options.rate = 2.0;
    options
}

#[tokio::test]
async fn load_reports_every_turn_answered() {
    let gw = TestGateway::start(test_config()).await;
    for path in ["/ws", "/v1/realtime"] {
        let report = run(&options(&gw, Mode::Load, path)).await.unwrap();
        assert_eq!(
            (report.connections, report.succeeded, report.failed),
            (4, 4, 0),
            "{path}: {report:?}"
        );
        assert!(report.turns.sent >= 4, "{report:?}");
        assert_eq!(report.turns.answered, report.turns.sent);
        assert_eq!(report.turns.unanswered, 0);
        assert_eq!(report.latency_ms.count as u64, report.turns.answered);
        // Per session: (kb_id on /ws) + session.update + 2 events per turn.
        let init = if path == "/ws" { 2 } else { 1 };
        assert_eq!(report.events_sent, 4 * init + 2 * report.turns.sent);
        assert!(report.events_received > report.turns.answered * 5);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }
}

#[tokio::test]
async fn stress_counts_reconnects_and_loses_no_turn() {
    let gw = TestGateway::start(test_config()).await;
    let (_, sim) = gw.gateway.simulator().expect("embedded simulator");
    let mut options = options(&gw, Mode::Stress, "/v1/realtime");
    options.duration = Duration::from_secs(3);
    options.cut_every = Duration::from_millis(700);
    options.sim_url = Some(format!("http://{sim}"));
    let report = run(&options).await.unwrap();
    assert!(report.upstream_cuts >= 2, "{report:?}");
    assert_eq!(
        report.reconnects,
        report.upstream_cuts * 4,
        "every session saw every cut: {report:?}"
    );
    assert_eq!((report.succeeded, report.failed), (4, 0), "{report:?}");
    assert_eq!(report.turns.unanswered, 0);
    assert_eq!(report.turns.answered, report.turns.sent);
}

#[tokio::test]
async fn idle_holds_sessions_and_failures_are_reported() {
    let gw = TestGateway::start(test_config()).await;
    let mut idle = options(&gw, Mode::Idle, "/v1/realtime");
    idle.duration = Duration::from_secs(1);
    let report = run(&idle).await.unwrap();
    assert_eq!(
        (report.connections, report.succeeded, report.turns.sent),
        (4, 4, 0)
    );

    let mut wrong = options(&gw, Mode::Load, "/ws");
    wrong.kb_id = "no-such-kb".into();
    let report = run(&wrong).await.unwrap();
    assert_eq!(report.failed, 4, "{report:?}");
    assert_eq!(report.errors.get("refused"), Some(&4));
}

#[tokio::test]
async fn audio_streams_both_ways_with_no_frame_lost_or_reordered() {
    let gw = TestGateway::start(test_config()).await;
    let (_, sim) = gw.gateway.simulator().expect("embedded simulator");
    let mut options = options(&gw, Mode::Audio, "/v1/realtime");
    options.duration = Duration::from_secs(3);
    options.sim_url = Some(format!("http://{sim}"));
    options.gateway_pid = Some(std::process::id());
    let report = run(&options).await.unwrap();
    assert_eq!((report.succeeded, report.failed), (4, 0), "{report:?}");
    let audio = report.audio.as_ref().expect("audio figures");
    // One 2 s turn per session: 100 frames in before its commit, a 90-frame answer out.
    assert!(audio.frames_sent >= 4 * 100, "{audio:?}");
    assert_eq!(report.turns.answered, 4, "{report:?}");
    assert_eq!(
        audio.frames_received,
        90 * report.turns.answered,
        "{audio:?}"
    );
    assert_eq!(
        (
            audio.frames_lost,
            audio.frames_reordered,
            audio.input_frames_lost
        ),
        (0, 0, 0),
        "{audio:?}"
    );
    assert_eq!(audio.frame_latency_ms.count as u64, audio.frames_received);
    let gateway = report.gateway.as_ref().expect("process figures");
    assert!(
        gateway.cpu_seconds > 0.0 && gateway.rss_mib > 0.0,
        "{gateway:?}"
    );
}
