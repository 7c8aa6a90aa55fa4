//! The deployment files agree with the gateway: every variable they set is one voxgate reads,
//! the probe paths answer on a running gateway as the manifests expect, the grace period is
//! above SHUTDOWN_GRACE plus the preStop pause, and the Dockerfile copies files that exist and
//! runs as a non-root user. (The schemas are checked by `kubernetes-validate` in `.ci/run`.)

mod support;

use std::collections::BTreeSet;
use support::*;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_path(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every variable name of the README's configuration table.
fn known_variables() -> BTreeSet<String> {
    read("README.md")
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(name, _)| name.to_string()))
        .filter(|name| name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect()
}

/// The number after `key:` on the first line that has it.
fn number_after(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(key))
        .and_then(|rest| rest.trim().trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("no number for {key}"))
}

#[test]
fn manifests_and_dockerfile_set_only_variables_voxgate_reads() {
    let known = known_variables();
    assert!(
        known.contains("SHUTDOWN_GRACE") && known.len() > 50,
        "{known:?}"
    );
    let deployment = read("deploy/k8s/deployment.yaml");
    let configmap = read("deploy/k8s/configmap.yaml");
    let mut set = Vec::new();
    for line in deployment.lines() {
        if let Some(name) = line.trim().strip_prefix("- name: ")
            && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        {
            set.push(name.to_string());
        }
    }
    let mut in_data = false;
    for line in configmap.lines() {
        if line.starts_with("data:") {
            in_data = true;
        } else if in_data
            && let Some((key, _)) = line.trim().split_once(':')
            && !line.trim_start().starts_with('#')
        {
            set.push(key.to_string());
        }
    }
    let dockerfile = read("deploy/Dockerfile");
    let env_block = dockerfile
        .split("ENV ")
        .nth(1)
        .expect("an ENV instruction")
        .split("\nUSER")
        .next()
        .unwrap();
    set.extend(
        env_block
            .split_whitespace()
            .filter_map(|word| word.split_once('=').map(|(k, _)| k.to_string())),
    );
    assert!(set.len() >= 10, "{set:?}");
    for name in &set {
        assert!(known.contains(name), "{name} is not a voxgate variable");
    }
}

#[test]
fn the_grace_period_covers_the_drain() {
    let deployment = read("deploy/k8s/deployment.yaml");
    let grace = number_after(&deployment, "terminationGracePeriodSeconds:");
    let pause = number_after(&deployment, "seconds:");
    let shutdown_grace = number_after(&read("deploy/k8s/configmap.yaml"), "SHUTDOWN_GRACE:");
    assert!(
        grace > shutdown_grace + pause,
        "terminationGracePeriodSeconds {grace} ≤ SHUTDOWN_GRACE {shutdown_grace} + preStop {pause}"
    );
}

#[test]
fn the_dockerfile_copies_what_exists_and_runs_unprivileged() {
    let dockerfile = read("deploy/Dockerfile");
    let stages =
        dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM "));
    assert!(stages >= 2, "multi-stage");
    for line in dockerfile.lines().filter(|l| l.starts_with("COPY ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.iter().any(|w| w.starts_with("--from=")) {
            continue;
        }
        let source = words[words.len() - 2];
        if source != "." {
            assert!(repo_path(source).exists(), "{line}: no {source}");
        }
    }
    let user = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("a USER");
    assert!(
        !user.starts_with('0') && !user.starts_with("root"),
        "{user}"
    );
    let ignore = read(".dockerignore");
    assert!(
        ignore.lines().any(|l| l == "target/"),
        "the build context leaves target/ out"
    );
}

#[tokio::test]
async fn the_probe_paths_answer_as_the_manifests_expect() {
    let deployment = read("deploy/k8s/deployment.yaml");
    let paths: BTreeSet<&str> = deployment
        .lines()
        .filter_map(|l| l.trim().strip_prefix("path: "))
        .collect();
    assert_eq!(paths, BTreeSet::from(["/livez", "/readyz"]));
    let (_sim, gw) = gateway_on_sim(test_config()).await;
    for path in &paths {
        assert_eq!(gw.get(path).await.status(), 200, "{path}");
    }
    gw.gateway.begin_shutdown();
    assert_eq!(
        gw.get("/readyz").await.status(),
        503,
        "unready at once on SIGTERM"
    );
    assert_eq!(
        gw.get("/livez").await.status(),
        200,
        "but alive: no restart"
    );
}
