//! Which upstream the options choose: `UPSTREAMS_FILE` (a pool), else `UPSTREAM_URL`, else
//! Azure, else OpenAI, else the embedded simulator. Errors name the variable.

use super::UpstreamConfig;
use super::args::{ServeArgs, non_empty};
use crate::resilience::BreakerSettings;
use crate::secret::Secret;
use crate::upstream::Endpoint;
use anyhow::Context;

impl ServeArgs {
    /// Upstream selection; `breaker`: the default breaker of a pool's upstreams.
    pub(super) fn upstream(&self, breaker: BreakerSettings) -> anyhow::Result<UpstreamConfig> {
        if let Some(path) = &self.upstreams_file {
            let specs = super::upstreams_file::load(path, breaker, |var| std::env::var(var).ok())?;
            return Ok(UpstreamConfig::Pool(specs));
        }
        if let Some(url) = non_empty(&self.upstream_url) {
            let key = non_empty(&self.upstream_api_key).map(Secret::new);
            return Ok(UpstreamConfig::Fixed(
                Endpoint::custom(url, key).context("UPSTREAM_URL")?,
            ));
        }
        let azure_host = match (
            non_empty(&self.azure_resource),
            non_empty(&self.azure_openai_endpoint),
        ) {
            (Some(resource), _) => {
                Some(Endpoint::azure_host_from_resource(resource).context("AZURE_RESOURCE")?)
            }
            (None, Some(endpoint)) => Some(
                Endpoint::azure_host_from_endpoint(endpoint).context("AZURE_OPENAI_ENDPOINT")?,
            ),
            (None, None) => None,
        };
        if let Some(host) = azure_host {
            let deployment = non_empty(&self.azure_openai_deployment_name).context(
                "AZURE_OPENAI_DEPLOYMENT_NAME: required when AZURE_RESOURCE or AZURE_OPENAI_ENDPOINT is set",
            )?;
            let key = non_empty(&self.azure_openai_api_key)
                .context("AZURE_OPENAI_API_KEY: required when AZURE_RESOURCE or AZURE_OPENAI_ENDPOINT is set")?;
            let endpoint = Endpoint::azure(
                &host,
                deployment,
                non_empty(&self.azure_openai_api_version),
                Secret::new(key),
            )?;
            return Ok(UpstreamConfig::Fixed(endpoint));
        }
        if let Some(key) = non_empty(&self.openai_api_key) {
            return Ok(UpstreamConfig::Fixed(Endpoint::openai(
                &self.openai_realtime_model,
                Secret::new(key),
            )?));
        }
        Ok(UpstreamConfig::Simulator)
    }
}
