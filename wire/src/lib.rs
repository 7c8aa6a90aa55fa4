//! What the gateway, the embedded simulator and the load tester share on the wire: which
//! generation of the Realtime protocol a path speaks ([`Flavour`]) and the socket options
//! every WebSocket uses ([`net`]). Nothing here knows about sessions or configuration.

pub mod net;

/// Which generation of the Realtime protocol an endpoint speaks (event names differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    /// `/openai/realtime` (Azure preview, `api-version=…`): `response.text.delta`, `response.audio.delta` …
    Preview,
    /// `/v1/realtime`, `/openai/v1/realtime`: `response.output_text.delta`, `response.output_audio.delta` …
    Ga,
}

impl Flavour {
    /// The flavour a client or server path implies.
    pub fn of_path(path: &str) -> Flavour {
        if path.trim_end_matches('/').ends_with("/openai/realtime") {
            Flavour::Preview
        } else {
            Flavour::Ga
        }
    }

    /// The path a simulator serves this flavour on.
    pub fn simulator_path(self) -> &'static str {
        match self {
            Flavour::Preview => "/openai/realtime",
            Flavour::Ga => "/v1/realtime",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Flavour;

    #[test]
    fn paths_map_to_flavours_and_back() {
        assert_eq!(Flavour::of_path("/openai/realtime"), Flavour::Preview);
        assert_eq!(Flavour::of_path("/openai/realtime/"), Flavour::Preview);
        assert_eq!(Flavour::of_path("/v1/realtime"), Flavour::Ga);
        assert_eq!(Flavour::of_path("/openai/v1/realtime"), Flavour::Ga);
        for flavour in [Flavour::Preview, Flavour::Ga] {
            assert_eq!(Flavour::of_path(flavour.simulator_path()), flavour);
        }
    }
}
