//! Upstream endpoints: Azure OpenAI (preview and GA paths), OpenAI, or any Realtime URL.

use crate::secret::Secret;
use anyhow::{Context, bail};
use url::Url;
pub use voxgate_wire::Flavour;

/// How the gateway authenticates upstream.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    None,
    /// Azure: `api-key: <key>`.
    ApiKey(Secret),
    /// OpenAI: `Authorization: Bearer <key>`.
    Bearer(Secret),
    /// A custom URL: both headers, so either kind of server accepts it.
    Both(Secret),
}

/// A Realtime endpoint with its credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    url: Url,
    auth: Auth,
}

fn parse_ws_url(raw: &str) -> anyhow::Result<Url> {
    let url =
        Url::parse(raw.trim()).map_err(|e| anyhow::anyhow!("'{raw}' is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "ws" | "wss") {
        bail!("'{raw}' must start with ws:// or wss://");
    }
    if url.host_str().is_none_or(str::is_empty) {
        bail!("'{raw}' has no host");
    }
    Ok(url)
}

impl Endpoint {
    /// Any Realtime-compatible server.
    pub fn custom(raw: &str, key: Option<Secret>) -> anyhow::Result<Endpoint> {
        Ok(Endpoint {
            url: parse_ws_url(raw)?,
            auth: key.map_or(Auth::None, Auth::Both),
        })
    }

    /// A plain URL with no credentials (the embedded simulator).
    pub fn unauthenticated(url: Url) -> Endpoint {
        Endpoint {
            url,
            auth: Auth::None,
        }
    }

    /// `<resource>.openai.azure.com` from a resource name.
    pub fn azure_host_from_resource(resource: &str) -> anyhow::Result<String> {
        let valid = !resource.is_empty()
            && resource
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !resource.starts_with('-');
        if !valid {
            bail!("'{resource}' is not a valid Azure resource name (letters, digits and '-')");
        }
        Ok(format!("{resource}.openai.azure.com"))
    }

    /// The host of an `https://<name>.openai.azure.com/` endpoint.
    pub fn azure_host_from_endpoint(endpoint: &str) -> anyhow::Result<String> {
        let url = Url::parse(endpoint.trim())
            .map_err(|e| anyhow::anyhow!("'{endpoint}' is not a valid URL ({e})"))?;
        if !matches!(url.scheme(), "https" | "wss" | "http" | "ws") {
            bail!("'{endpoint}' must be an https:// URL");
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .context("the URL has no host")?;
        Ok(match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        })
    }

    /// Azure OpenAI: preview path when an API version is given, GA path otherwise.
    pub fn azure(
        host: &str,
        deployment: &str,
        api_version: Option<&str>,
        key: Secret,
    ) -> anyhow::Result<Endpoint> {
        let mut url =
            Url::parse(&format!("wss://{host}/")).context("AZURE_RESOURCE: cannot form a URL")?;
        match api_version {
            Some(version) => {
                url.set_path("/openai/realtime");
                url.query_pairs_mut()
                    .append_pair("api-version", version)
                    .append_pair("deployment", deployment);
            }
            None => {
                url.set_path("/openai/v1/realtime");
                url.query_pairs_mut().append_pair("model", deployment);
            }
        }
        Ok(Endpoint {
            url,
            auth: Auth::ApiKey(key),
        })
    }

    /// OpenAI's Realtime API.
    pub fn openai(model: &str, key: Secret) -> anyhow::Result<Endpoint> {
        let mut url = Url::parse("wss://api.openai.com/v1/realtime")?;
        url.query_pairs_mut().append_pair("model", model);
        Ok(Endpoint {
            url,
            auth: Auth::Bearer(key),
        })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn flavour(&self) -> Flavour {
        Flavour::of_path(self.url.path())
    }

    /// The host name alone (for log spans).
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or("")
    }

    pub fn is_openai(&self) -> bool {
        self.url.host_str() == Some("api.openai.com")
    }

    /// Where logs may say we connect: scheme, host and path, never the query (it may carry a key).
    pub fn display(&self) -> String {
        let port = self.url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let host = self.url.host_str().unwrap_or("");
        format!("{}://{host}{port}{}", self.url.scheme(), self.url.path())
    }

    /// The headers that carry the gateway's credentials.
    pub fn auth_headers(&self) -> Vec<(&'static str, Secret)> {
        match &self.auth {
            Auth::None => vec![],
            Auth::ApiKey(key) => vec![("api-key", key.clone())],
            Auth::Bearer(key) => vec![(
                "authorization",
                Secret::new(format!("Bearer {}", key.expose())),
            )],
            Auth::Both(key) => vec![
                ("api-key", key.clone()),
                (
                    "authorization",
                    Secret::new(format!("Bearer {}", key.expose())),
                ),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_preview_and_ga_paths() {
        let key = Secret::new("k");
        let preview = Endpoint::azure(
            "r.openai.azure.com",
            "gpt-rt",
            Some("2024-10-01-preview"),
            key.clone(),
        )
        .unwrap();
        assert_eq!(
            preview.url().as_str(),
            "wss://r.openai.azure.com/openai/realtime?api-version=2024-10-01-preview&deployment=gpt-rt"
        );
        assert_eq!(preview.flavour(), Flavour::Preview);
        let ga = Endpoint::azure("r.openai.azure.com", "gpt-rt", None, key).unwrap();
        assert_eq!(
            ga.url().as_str(),
            "wss://r.openai.azure.com/openai/v1/realtime?model=gpt-rt"
        );
        assert_eq!(ga.flavour(), Flavour::Ga);
        assert_eq!(ga.auth_headers()[0].0, "api-key");
    }

    #[test]
    fn openai_uses_bearer() {
        let e = Endpoint::openai("gpt-realtime", Secret::new("sk")).unwrap();
        assert_eq!(
            e.url().as_str(),
            "wss://api.openai.com/v1/realtime?model=gpt-realtime"
        );
        assert_eq!(e.auth_headers()[0].1.expose(), "Bearer sk");
    }

    #[test]
    fn bad_urls_are_explained() {
        assert!(
            Endpoint::custom("http://x", None)
                .unwrap_err()
                .to_string()
                .contains("ws://")
        );
        assert!(
            Endpoint::custom("not a url", None)
                .unwrap_err()
                .to_string()
                .contains("not a valid URL")
        );
        assert!(Endpoint::azure_host_from_resource("bad/name").is_err());
        assert_eq!(
            Endpoint::azure_host_from_endpoint("https://r.openai.azure.com/").unwrap(),
            "r.openai.azure.com"
        );
    }

    #[test]
    fn display_hides_the_query() {
        let e = Endpoint::custom("wss://h.example/v1/realtime?key=secret", None).unwrap();
        assert_eq!(e.display(), "wss://h.example/v1/realtime");
        let e = Endpoint::custom("ws://127.0.0.1:9000/v1/realtime", None).unwrap();
        assert_eq!(e.display(), "ws://127.0.0.1:9000/v1/realtime");
    }
}
