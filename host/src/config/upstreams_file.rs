//! `UPSTREAMS_FILE`: several named upstreams (TOML), each with what one upstream takes (a
//! `url`, or Azure `azure_endpoint`/`azure_resource` + `deployment` [+ `api_version`], or
//! `openai_model`), its API key *from a named environment variable* (never in the file), and
//! `priority` (1 = preferred), `weight` (among equal priorities), `max_sessions` (0 = no limit)
//! and an optional `[upstream.breaker]` (defaults: the `AZURE_CIRCUIT_*` values).
//! A bad file is refused at start, naming the entry and the field.

use crate::resilience::BreakerSettings;
use crate::secret::Secret;
use crate::upstream::{Endpoint, UpstreamSpec};
use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    upstream: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    url: Option<String>,
    azure_endpoint: Option<String>,
    azure_resource: Option<String>,
    deployment: Option<String>,
    api_version: Option<String>,
    openai_model: Option<String>,
    api_key_env: Option<String>,
    #[serde(default = "one")]
    priority: u32,
    #[serde(default = "one")]
    weight: u32,
    #[serde(default)]
    max_sessions: usize,
    breaker: Option<Breaker>,
    /// Session settings of this upstream's own (model, voice …).
    session: Option<toml::Table>,
    /// Labels for routing policies (region, provider …).
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Breaker {
    failure_threshold: Option<u32>,
    timeout: Option<f64>,
    half_open_max_calls: Option<u32>,
    success_threshold: Option<u32>,
}

fn one() -> u32 {
    1
}

/// Names the gateway's own breakers use.
const RESERVED: [&str; 2] = ["azure", "rag"];

/// Read and validate `path`; `env` looks up the API key variables (the process environment
/// in production), `breaker` is the default breaker.
pub fn load(
    path: &Path,
    breaker: BreakerSettings,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Vec<UpstreamSpec>> {
    let what = format!("UPSTREAMS_FILE {}", path.display());
    let text = std::fs::read_to_string(path).with_context(|| format!("{what}: cannot read"))?;
    parse(&text, &what, breaker, env)
}

fn parse(
    text: &str,
    what: &str,
    default_breaker: BreakerSettings,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Vec<UpstreamSpec>> {
    let file: File = toml::from_str(text).with_context(|| what.to_string())?;
    if file.upstream.is_empty() {
        bail!("{what}: no [[upstream]] entry");
    }
    let mut specs: Vec<UpstreamSpec> = Vec::new();
    for (i, entry) in file.upstream.into_iter().enumerate() {
        let at = format!("{what}: upstream {} ({:?})", i + 1, entry.name);
        let name_ok = !entry.name.is_empty()
            && entry.name.len() <= 32
            && entry
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(&b))
            && !RESERVED.contains(&entry.name.as_str());
        if !name_ok {
            bail!("{at}: name must be 1 to 32 of a-z 0-9 - _ and not azure or rag");
        }
        if specs.iter().any(|s| s.name == entry.name) {
            bail!("{at}: name given twice");
        }
        if entry.tags.len() > 16 || entry.tags.iter().any(|t| t.is_empty() || t.len() > 64) {
            bail!("{at}: tags: at most 16, each 1 to 64 characters");
        }
        if entry.weight == 0 {
            bail!("{at}: weight must be at least 1");
        }
        let key = match &entry.api_key_env {
            Some(var) => Some(Secret::new(
                env(var)
                    .filter(|k| !k.is_empty())
                    .with_context(|| format!("{at}: api_key_env names {var}, which is not set"))?,
            )),
            None => None,
        };
        let endpoint = endpoint(&entry, key).with_context(|| at.clone())?;
        let breaker = match &entry.breaker {
            None => default_breaker,
            Some(b) => {
                let timeout = b
                    .timeout
                    .map_or(Ok(default_breaker.timeout()), |s| {
                        Duration::try_from_secs_f64(s).map_err(|_| s)
                    })
                    .map_err(|s| anyhow::anyhow!("{at}: breaker.timeout {s} is not a duration"))?;
                BreakerSettings::new(
                    b.failure_threshold
                        .unwrap_or(default_breaker.failure_threshold()),
                    timeout,
                    b.half_open_max_calls
                        .unwrap_or(default_breaker.half_open_max_calls()),
                    b.success_threshold
                        .unwrap_or(default_breaker.success_threshold()),
                )
                .with_context(|| format!("{at}: breaker"))?
            }
        };
        let session = match &entry.session {
            Some(table) => {
                Some(serde_json::to_value(table).with_context(|| format!("{at}: session"))?)
            }
            None => None,
        };
        specs.push(UpstreamSpec {
            session,
            tags: entry.tags,
            name: entry.name,
            endpoint,
            priority: entry.priority,
            weight: entry.weight,
            max_sessions: entry.max_sessions,
            breaker,
        });
    }
    Ok(specs)
}

fn endpoint(entry: &Entry, key: Option<Secret>) -> anyhow::Result<Endpoint> {
    let azure = entry.azure_endpoint.is_some() || entry.azure_resource.is_some();
    let kinds = [entry.url.is_some(), azure, entry.openai_model.is_some()];
    if kinds.iter().filter(|k| **k).count() != 1 {
        bail!("give exactly one of url, azure_endpoint / azure_resource, openai_model");
    }
    if let Some(url) = &entry.url {
        return Endpoint::custom(url, key).context("url");
    }
    if let Some(model) = &entry.openai_model {
        let key = key.context("api_key_env: required with openai_model")?;
        return Endpoint::openai(model, key).context("openai_model");
    }
    let host = match (&entry.azure_resource, &entry.azure_endpoint) {
        (Some(resource), None) => {
            Endpoint::azure_host_from_resource(resource).context("azure_resource")?
        }
        (None, Some(endpoint)) => {
            Endpoint::azure_host_from_endpoint(endpoint).context("azure_endpoint")?
        }
        _ => bail!("give azure_endpoint or azure_resource, not both"),
    };
    let deployment = entry
        .deployment
        .as_deref()
        .context("deployment: required with azure_endpoint / azure_resource")?;
    let key = key.context("api_key_env: required with Azure")?;
    Endpoint::azure(&host, deployment, entry.api_version.as_deref(), key).context("azure")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> BreakerSettings {
        BreakerSettings::new(5, Duration::from_secs(60), 1, 1).unwrap()
    }

    fn env(var: &str) -> Option<String> {
        (var == "SWEDEN_API_KEY" || var == "OPENAI_KEY").then(|| "sk-test-key".to_string())
    }

    fn error(text: &str) -> String {
        format!(
            "{:#}",
            parse(text, "UPSTREAMS_FILE u.toml", breaker(), env).unwrap_err()
        )
    }

    #[test]
    fn a_pool_of_two() {
        let specs = parse(
            r#"
[[upstream]]
name = "sweden"
azure_endpoint = "https://sweden.openai.azure.com"
deployment = "gpt-realtime"
api_key_env = "SWEDEN_API_KEY"
max_sessions = 500
[upstream.breaker]
failure_threshold = 2
[upstream.session]
voice = "verse"

[[upstream]]
name = "openai"
openai_model = "gpt-realtime"
api_key_env = "OPENAI_KEY"
priority = 2
weight = 3
"#,
            "u",
            breaker(),
            env,
        )
        .expect("valid");
        assert_eq!(specs.len(), 2);
        assert_eq!((specs[0].priority, specs[0].max_sessions), (1, 500));
        assert_eq!(specs[0].breaker.failure_threshold(), 2);
        assert_eq!(
            specs[0].session,
            Some(serde_json::json!({ "voice": "verse" }))
        );
        assert_eq!(specs[1].session, None);
        assert_eq!(specs[0].endpoint.host(), "sweden.openai.azure.com");
        assert_eq!((specs[1].priority, specs[1].weight), (2, 3));
        assert_eq!(
            specs[1].breaker.failure_threshold(),
            5,
            "the AZURE_CIRCUIT_* default"
        );
        assert!(
            !format!("{specs:?}").contains("sk-test-key"),
            "keys stay secret"
        );
    }

    #[test]
    fn bad_files_name_the_entry_and_field() {
        let missing_key =
            error("[[upstream]]\nname = \"a\"\nopenai_model = \"m\"\napi_key_env = \"NOPE\"\n");
        assert!(
            missing_key.contains("upstream 1 (\"a\")") && missing_key.contains("NOPE"),
            "{missing_key}"
        );
        let two = error("[[upstream]]\nname = \"a\"\nurl = \"ws://x\"\nopenai_model = \"m\"\n");
        assert!(two.contains("exactly one of"), "{two}");
        let typo = error("[[upstream]]\nname = \"a\"\nurl = \"ws://x\"\nprority = 2\n");
        assert!(typo.contains("prority"), "{typo}");
        let twice = error(
            "[[upstream]]\nname = \"a\"\nurl = \"ws://x\"\n[[upstream]]\nname = \"a\"\nurl = \"ws://y\"\n",
        );
        assert!(
            twice.contains("upstream 2 (\"a\"): name given twice"),
            "{twice}"
        );
        let reserved = error("[[upstream]]\nname = \"azure\"\nurl = \"ws://x\"\n");
        assert!(reserved.contains("not azure or rag"), "{reserved}");
        let weight = error("[[upstream]]\nname = \"a\"\nurl = \"ws://x\"\nweight = 0\n");
        assert!(weight.contains("weight"), "{weight}");
        assert!(error("").contains("upstream"), "empty file");
    }
}
