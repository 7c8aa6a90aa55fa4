//! How option values are read: seconds, whole numbers ≥ 1, booleans, MiB. Each parser's error
//! says what is wrong with the value; clap adds the variable's name.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A non-negative, finite number of seconds (`1`, `0.25`), shown the same way in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl FromStr for Seconds {
    type Err = String;

    fn from_str(raw: &str) -> Result<Seconds, String> {
        let value: f64 = raw
            .trim()
            .parse()
            .map_err(|_| format!("'{raw}' is not a number of seconds"))?;
        if !value.is_finite() || value < 0.0 {
            return Err(format!("'{raw}' must be a non-negative number of seconds"));
        }
        if value > 1e9 {
            return Err(format!("'{raw}' is too large"));
        }
        Ok(Seconds(Duration::from_secs_f64(value)))
    }
}

/// `value`, refused when zero: a timeout or deadline of 0 would refuse everything.
pub fn positive_seconds(value: Seconds, variable: &str) -> anyhow::Result<Duration> {
    if value.0.is_zero() {
        anyhow::bail!("{variable}: must be greater than 0");
    }
    Ok(value.0)
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs_f64();
        if secs.fract() == 0.0 {
            write!(f, "{}", self.0.as_secs())
        } else {
            write!(f, "{secs}")
        }
    }
}

pub fn parse_positive(raw: &str) -> Result<u32, String> {
    match raw.trim().parse::<u32>() {
        Ok(0) => Err(format!("'{raw}' must be at least 1")),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{raw}' is not a whole number ≥ 1")),
    }
}

/// A message size limit: at least 1 byte, at most the largest message voxgate relays.
pub fn parse_message_bytes(raw: &str) -> Result<u32, String> {
    let bytes = parse_positive(raw)?;
    let most = voxgate_wire::net::MAX_MESSAGE;
    if bytes as usize > most {
        return Err(format!(
            "'{raw}' is over {most}, the largest message voxgate relays"
        ));
    }
    Ok(bytes)
}

pub fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("'{raw}' is not true/false")),
    }
}

/// MiB of plugin memory: 1 ..= 4096 (what a 32-bit plugin can address).
pub fn parse_mib(raw: &str) -> Result<u32, String> {
    let mib = parse_positive(raw)?;
    if mib > 4096 {
        return Err(format!(
            "'{raw}' MiB is more than a 32-bit plugin can address (4096)"
        ));
    }
    Ok(mib)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parser_rejects_bad_values() {
        let parse = |raw: &str| raw.parse::<Seconds>();
        assert!(parse("abc").unwrap_err().contains("not a number"));
        assert!(parse("-1").unwrap_err().contains("non-negative"));
        assert!(parse("NaN").is_err());
        assert!(parse("inf").is_err());
        assert_eq!(parse("1.5").unwrap().0, Duration::from_millis(1500));
        assert_eq!(parse(" 0 ").unwrap().0, Duration::ZERO);
    }

    #[test]
    fn seconds_display_round_trips() {
        for raw in ["0", "0.01", "1", "2.5", "1800"] {
            assert_eq!(raw.parse::<Seconds>().unwrap().to_string(), raw);
        }
    }

    #[test]
    fn positive_and_mib_parsers() {
        assert!(parse_positive("0").is_err());
        assert!(parse_positive("-3").is_err());
        assert!(parse_positive("x").is_err());
        assert_eq!(parse_positive("5").unwrap(), 5);
        assert!(parse_mib("4097").unwrap_err().contains("4096"));
        assert_eq!(parse_mib("16").unwrap(), 16);
    }
}
