//! `now`: the local time as a string (spec §8.19).

use serde_json::Value;

use super::{Env, Plugin};
use crate::timefmt::strftime;

pub struct Now {
    format: String,
}

impl Now {
    /// `--strftime`, else `[global] strftime_format`, else Glances' default.
    pub fn new(env: &Env) -> Now {
        let configured = env.config.get("global", "strftime_format").unwrap_or("");
        let format = [env.strftime.as_str(), configured]
            .into_iter()
            .find(|f| !f.is_empty())
            .map(str::to_string)
            .unwrap_or_else(default_format);
        Now { format }
    }
}

/// `%Z` unless the zone abbreviation is longer than 6 characters.
fn default_format() -> String {
    let zone = strftime("%Z", crate::timefmt::now_micros() / 1_000_000);
    if zone.chars().count() > 6 {
        "%Y-%m-%d %H:%M:%S %z".into()
    } else {
        "%Y-%m-%d %H:%M:%S %Z".into()
    }
}

impl Plugin for Now {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "now"
    }

    fn collect(&mut self) -> Value {
        Value::from(strftime(&self.format, crate::timefmt::now_micros() / 1_000_000))
    }
}
