//! The plugin slots on their own: containment of untrusted components (traps, loops, memory,
//! sandbox), validation of bad files, and `plugin check` — through the real slots.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use support::*;
use voxgate::metrics::{Count, Metrics};
use voxgate::plugins::backoff::{self, Backoff, probe_context};
use voxgate::plugins::rag::Rag;
use voxgate::plugins::slot::{CallFault, Slot};
use voxgate::plugins::{ArtifactCache, SlotLimits};
use voxgate::resilience::{Decision, ErrorClass, RetryContext};

fn check(file: &Path) -> voxgate::plugins::check::Report {
    voxgate::plugins::check::check(file, &voxgate::Config::default().plugins)
}

/// One decision, from synchronous test code.
fn decide(slot: &Slot<Backoff>, ctx: &RetryContext) -> Result<Decision, CallFault> {
    voxgate::plugins::run_to_completion(backoff::decide(slot, ctx)).expect("a runtime")
}

fn built(name: &str) -> PathBuf {
    plugin_file(name)
}

fn backoff_slot(plugin: &str, deadline: Duration, memory_mib: usize) -> Slot<Backoff> {
    let dir = tempfile::tempdir().unwrap().keep();
    let limits = SlotLimits {
        deadline,
        memory_bytes: memory_mib << 20,
        ..voxgate::Config::default().plugins.backoff
    };
    let slot = Slot::<Backoff>::new(
        &dir,
        limits,
        None,
        None,
        Arc::new(Metrics::new()),
        Arc::default(),
    )
    .unwrap();
    let bytes = std::fs::read(built(plugin)).unwrap();
    let (version, _) = slot.prepare(&bytes, plugin.into()).unwrap();
    slot.install(version);
    slot
}

#[test]
fn default_policy_gives_the_seed_delays() {
    let slot = backoff_slot("backoff-exponential", Duration::from_millis(10), 16);
    let delays: Vec<Decision> = (1..=5)
        .map(|n| decide(&slot, &probe_context(n, ErrorClass::Timeout)).unwrap())
        .collect();
    let secs: Vec<u64> = delays
        .iter()
        .map(|d| match d {
            Decision::RetryAfter(d) => d.as_secs(),
            Decision::GiveUp => 999,
        })
        .collect();
    assert_eq!(secs, [1, 2, 4, 8, 10]);
}

#[test]
fn a_trapping_plugin_fails_one_call_and_the_next_works_on_a_fresh_instance() {
    let slot = backoff_slot("test-backoff-trap", Duration::from_millis(50), 16);
    for _ in 0..3 {
        match decide(&slot, &probe_context(2, ErrorClass::Other)) {
            Err(CallFault::Trap(message)) => assert!(!message.is_empty()),
            other => panic!("expected a trap, got {other:?}"),
        }
    }
    assert_eq!(slot.health_json()["faults"], 3);
    // Attempt 1 still answers: a trapped store was thrown away, a fresh instance serves.
    assert!(decide(&slot, &probe_context(1, ErrorClass::Other)).is_ok());
}

#[test]
fn a_looping_plugin_is_stopped_near_its_deadline() {
    let slot = backoff_slot("test-backoff-loop", Duration::from_millis(50), 16);
    let started = std::time::Instant::now();
    assert_eq!(
        decide(&slot, &probe_context(2, ErrorClass::Other)),
        Err(CallFault::Timeout)
    );
    // Generous bound: the point is that it ends at all, not how fast this machine is.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped after {:?}",
        started.elapsed()
    );
}

#[test]
fn an_allocating_plugin_hits_its_memory_cap() {
    let slot = backoff_slot("test-backoff-oom", Duration::from_secs(5), 16);
    assert_eq!(
        decide(&slot, &probe_context(2, ErrorClass::Other)),
        Err(CallFault::Oom)
    );
}

#[test]
fn a_plugin_sees_no_files_environment_arguments_or_real_clock() {
    let slot = backoff_slot("test-backoff-sneaky", Duration::from_secs(1), 16);
    let decision = decide(&slot, &probe_context(1, ErrorClass::Other)).unwrap();
    // 1000 + bitmask of what it could reach: exactly 1000 means everything was denied.
    assert_eq!(decision, Decision::RetryAfter(Duration::from_millis(1000)));
}

#[test]
fn bad_files_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let slot = Slot::<Backoff>::new(
        dir.path(),
        voxgate::Config::default().plugins.backoff,
        None,
        None,
        Arc::new(Metrics::new()),
        Arc::default(),
    )
    .unwrap();
    let garbage = slot
        .prepare(b"\0asm garbage that is not a component", "garbage".into())
        .err()
        .unwrap();
    assert!(
        garbage.contains("not a valid WebAssembly component"),
        "{garbage}"
    );
    let wrong = std::fs::read(built("rag-bm25")).unwrap();
    let wrong = slot.prepare(&wrong, "rag".into()).err().unwrap();
    assert!(wrong.contains("backoff-policy"), "{wrong}");
}

#[test]
fn plugin_check_reports_worlds_imports_and_problems() {
    for (plugin, world) in [
        ("backoff-exponential", "backoff-policy"),
        ("backoff-decorrelated-jitter", "backoff-policy"),
        ("rag-bm25", "rag-search"),
        ("test-routing-reverse", "routing-policy"),
    ] {
        let report = check(&built(plugin));
        assert!(report.passed(), "{plugin}: {report:?}");
        assert_eq!(report.world.as_deref(), Some(world));
    }
    let trap = check(&built("test-backoff-trap"));
    assert!(!trap.passed());
    assert!(trap.problems.iter().any(|p| p.contains("trap")), "{trap:?}");
    let rag_fail = check(&built("test-rag-fail"));
    assert!(!rag_fail.passed(), "{rag_fail:?}");
    let garbage = check(Path::new("Cargo.toml"));
    assert!(!garbage.passed());
}

// ---- through a running gateway --------------------------------------------------------

fn with_limits(
    plugin: &str,
    limits: SlotLimits,
    cache: Option<ArtifactCache>,
) -> Result<Slot<Backoff>, String> {
    let dir = tempfile::tempdir().unwrap().keep();
    let slot = Slot::<Backoff>::new(
        &dir,
        limits,
        cache,
        None,
        Arc::new(Metrics::new()),
        Arc::default(),
    )
    .unwrap();
    let bytes = std::fs::read(built(plugin)).unwrap();
    let (version, _) = slot.prepare(&bytes, plugin.into())?;
    slot.install(version);
    Ok(slot)
}

#[test]
fn a_plugin_sleeping_in_a_host_call_is_stopped_at_its_deadline() {
    let slot = backoff_slot("test-backoff-sleep", Duration::from_millis(100), 16);
    let started = std::time::Instant::now();
    assert_eq!(
        decide(&slot, &probe_context(2, ErrorClass::Other)),
        Err(CallFault::Timeout)
    );
    eprintln!(
        "a 15 s sleep in a host call, deadline 100 ms: stopped after {:?}",
        started.elapsed()
    );
    // It asked to sleep 15 s; generous bound for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        decide(&slot, &probe_context(1, ErrorClass::Other)).is_ok(),
        "a fresh instance serves"
    );
}

#[test]
fn a_first_call_sleeping_in_a_host_call_is_refused_within_the_start_budget() {
    let dir = tempfile::tempdir().unwrap();
    let limits = SlotLimits {
        deadline: Duration::from_millis(500),
        ..voxgate::Config::default().plugins.rag
    };
    let slot = Slot::<Rag>::new(
        dir.path(),
        limits,
        None,
        None,
        Arc::new(Metrics::new()),
        Arc::default(),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let refused = slot
        .prepare(
            &std::fs::read(built("test-rag-smoke-sleep")).unwrap(),
            "sleeper".into(),
        )
        .err()
        .expect("refused");
    assert!(refused.contains("PLUGIN_START_TIMEOUT"), "{refused}");
    eprintln!(
        "a 30 s sleep in an instance's first call, start budget 1 s: refused after {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_slow_first_call_is_paid_when_an_instance_starts_not_in_a_call() {
    // Like a Python or JavaScript policy: the first call on an instance is slow (300 ms here,
    // over the 50 ms call deadline, inside the 1 s start budget), later ones are instant.
    let slot = backoff_slot("test-backoff-slow-start", Duration::from_millis(50), 16);
    assert!(slot.health_json()["idle_instances"].as_u64() >= Some(1));
    assert!(decide(&slot, &probe_context(1, ErrorClass::Other)).is_ok());
    // A trap throws its instance away; the replacement starts in the background ...
    assert!(matches!(
        decide(&slot, &probe_context(99, ErrorClass::Other)),
        Err(CallFault::Trap(_))
    ));
    let waited = std::time::Instant::now();
    while slot.health_json()["idle_instances"].as_u64() < Some(1) {
        assert!(waited.elapsed() < Duration::from_secs(30), "no replacement");
        std::thread::sleep(Duration::from_millis(20));
    }
    // ... so the next call finds one ready instead of paying the 300 ms start itself.
    assert!(decide(&slot, &probe_context(1, ErrorClass::Other)).is_ok());
    assert_eq!(slot.health_json()["faults"], 1);
}

#[test]
fn a_log_flood_is_held_to_the_budget_and_cannot_forge_lines() {
    capture_logs();
    let slot = backoff_slot("test-backoff-logflood", Duration::from_millis(500), 16);
    let started = std::time::Instant::now();
    assert_eq!(
        decide(&slot, &probe_context(2, ErrorClass::Other)),
        Err(CallFault::Timeout)
    );
    let seconds = started.elapsed().as_secs_f64();
    let logs = logs();
    let flood: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("[PLUGIN backoff] flood"))
        .collect();
    let lines = flood.len();
    eprintln!(
        "log flood for {seconds:.2} s: {lines} lines, {} bytes logged; {} dropped",
        flood.iter().map(|l| l.len()).sum::<usize>(),
        slot.metrics().get(Count::PluginLogDropped)
    );
    // The budget: a burst of 100, then 20 a second.
    assert!(
        lines > 0 && lines as f64 <= 100.0 + 20.0 * seconds + 1.0,
        "{lines} lines in {seconds}s"
    );
    assert!(
        slot.metrics().get(Count::PluginLogDropped) > 0,
        "the excess is counted"
    );
    assert!(
        !logs.lines().any(|l| l.starts_with("2026-11-29T00:00:00Z")),
        "no forged line"
    );
    assert!(
        logs.lines()
            .filter(|l| l.contains("[PLUGIN backoff] flood"))
            .all(|l| l.len() < 4200)
    );
}

#[test]
fn imports_outside_the_world_are_refused_at_load_naming_them() {
    let refused = with_limits(
        "test-backoff-sockets",
        voxgate::Config::default().plugins.backoff,
        None,
    )
    .err()
    .expect("refused");
    assert!(refused.contains("wasi:sockets"), "{refused}");
    let report = check(&built("test-backoff-sockets"));
    assert!(!report.passed());
    assert!(
        report.problems.iter().any(|p| p.contains("wasi:sockets")),
        "{:?}",
        report.problems
    );
}

#[test]
fn compiles_have_a_budget_and_only_loaded_components_are_cached() {
    let engine = voxgate::plugins::engine::PluginEngine::shared().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = || Some(engine.cache(cache_dir.path().to_path_buf(), 1 << 30));
    let defaults = voxgate::Config::default().plugins.backoff;
    let over_budget = SlotLimits {
        compile_timeout: Duration::from_micros(1),
        ..defaults.clone()
    };
    let refused = with_limits("backoff-decorrelated-jitter", over_budget, cache())
        .err()
        .expect("over its compile budget");
    assert!(refused.contains("PLUGIN_COMPILE_TIMEOUT"), "{refused}");
    assert!(with_limits("test-backoff-sockets", defaults.clone(), cache()).is_err());
    let size = |dir: &Path| std::fs::read_dir(dir).map_or(0, |d| d.count());
    assert_eq!(size(cache_dir.path()), 0, "refused files leave no artifact");
    let too_big = SlotLimits {
        max_file_bytes: 1000,
        ..defaults.clone()
    };
    let refused = with_limits("backoff-exponential", too_big, cache())
        .err()
        .expect("too big");
    assert!(refused.contains("PLUGIN_MAX_BYTES"), "{refused}");
    // A component that loads is cached when installed through a reload.
    let dir = tempfile::tempdir().unwrap();
    let slot = Slot::<Backoff>::new(
        dir.path(),
        defaults,
        cache(),
        None,
        Arc::new(Metrics::new()),
        Arc::default(),
    )
    .unwrap();
    voxgate::plugins::write_atomically(
        slot.path(),
        &std::fs::read(built("backoff-exponential")).unwrap(),
    )
    .unwrap();
    slot.reload().unwrap();
    assert_eq!(size(cache_dir.path()), 1);
}

#[test]
fn a_search_sleeping_in_a_host_call_is_stopped_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let limits = SlotLimits {
        deadline: Duration::from_millis(300),
        ..voxgate::Config::default().plugins.rag
    };
    let slot = Slot::<Rag>::new(
        dir.path(),
        limits,
        None,
        None,
        Arc::new(Metrics::new()),
        Arc::default(),
    )
    .unwrap();
    let (version, _) = slot
        .prepare(
            &std::fs::read(built("test-rag-sleep")).unwrap(),
            "sleeper".into(),
        )
        .unwrap();
    slot.install(version);
    let started = std::time::Instant::now();
    let searched = voxgate::plugins::run_to_completion(voxgate::plugins::rag::search(
        &slot, "docs", "anything", 3,
    ))
    .unwrap();
    eprintln!(
        "a 30 s sleep in a search, deadline 300 ms: stopped after {:?}",
        started.elapsed()
    );
    assert_eq!(
        searched,
        Err(voxgate::plugins::rag::SearchError::Fault(
            CallFault::Timeout
        ))
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
