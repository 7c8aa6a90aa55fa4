//! `voxgate plugin test`: the shipped plugins hold every property; misbehaving ones fail the
//! property they break, with a counterexample; the same seed probes with the same inputs.

mod support;

use support::plugin_file;
use voxgate::plugins::conformance::{Options, TestReport, test};

fn probe(name: &str, runs: u32) -> TestReport {
    let options = Options { runs, seed: 7 };
    test(
        &plugin_file(name),
        &voxgate::Config::default().plugins,
        options,
    )
}

fn failed<'a>(report: &'a TestReport, property_contains: &str) -> &'a str {
    let property = report
        .properties
        .iter()
        .find(|p| p.name.contains(property_contains))
        .unwrap_or_else(|| panic!("no property '{property_contains}' in {report:#?}"));
    assert!(
        property.failures > 0,
        "'{}' held: {report:#?}",
        property.name
    );
    property.first_failure.as_deref().expect("a counterexample")
}

#[test]
fn the_shipped_plugins_hold_every_property() {
    for name in [
        "backoff-exponential",
        "backoff-decorrelated-jitter",
        "rag-bm25",
        "test-routing-reverse",
    ] {
        let report = probe(name, 300);
        assert!(report.passed(), "{name}: {report:#?}");
        assert!(report.properties.len() >= 3, "{name}: {report:#?}");
        assert!(
            report.properties.iter().all(|p| p.checked > 0),
            "{name}: {report:#?}"
        );
        assert!(report.timing.calls >= 300, "{name}: {:?}", report.timing);
        assert!(report.timing.p50_us > 0.0 && report.timing.p50_us <= report.timing.p99_us);
        assert!(
            report.memory_peak_bytes > 0
                && report.memory_peak_bytes <= report.memory_cap_bytes as u64
        );
    }
}

#[test]
fn a_trapping_policy_fails_with_the_context_that_trapped() {
    let report = probe("test-backoff-trap", 100);
    assert!(!report.passed());
    let counterexample = failed(&report, "every call answers");
    assert!(
        counterexample.contains("trapped") && counterexample.contains("attempt"),
        "{counterexample}"
    );
}

#[test]
fn a_looping_policy_fails_on_its_deadline() {
    let report = probe("test-backoff-loop", 20);
    assert!(
        failed(&report, "every call answers").contains("deadline"),
        "{report:#?}"
    );
}

#[test]
fn a_policy_beyond_max_delay_is_caught() {
    // 37 ms · attempt, whatever max-delay says.
    let report = probe("test-backoff-fixed", 300);
    let counterexample = failed(&report, "within [0, max-delay]");
    assert!(counterexample.contains("RetryAfter"), "{counterexample}");
}

#[test]
fn a_search_that_always_errs_fails_and_says_why() {
    let report = probe("test-rag-fail", 100);
    assert!(failed(&report, "KB words succeeds").contains("embedding service unavailable"));
    assert!(failed(&report, "unknown KB").contains("Internal"));
}

#[test]
fn the_same_seed_probes_with_the_same_inputs() {
    let (a, b) = (
        probe("backoff-decorrelated-jitter", 50),
        probe("backoff-decorrelated-jitter", 50),
    );
    let checked = |r: &TestReport| {
        r.properties
            .iter()
            .map(|p| (p.name.clone(), p.checked))
            .collect::<Vec<_>>()
    };
    assert_eq!(checked(&a), checked(&b));
    assert_eq!(a.observations, b.observations);
}
