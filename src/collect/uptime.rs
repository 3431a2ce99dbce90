//! `uptime`: time since boot as Python's `timedelta` prints it (spec §8.30).

use serde_json::Value;

use super::{Env, Plugin};

pub struct Uptime {
    env: Env,
}

impl Uptime {
    pub fn new(env: &Env) -> Uptime {
        Uptime { env: env.clone() }
    }
}

/// `"H:MM:SS"`, `"1 day, H:MM:SS"`, `"N days, H:MM:SS"`.
pub fn timedelta_text(seconds: u64) -> String {
    let (days, rest) = (seconds / 86400, seconds % 86400);
    let hms = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        n => format!("{n} days, {hms}"),
    }
}

impl Plugin for Uptime {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "uptime"
    }

    fn collect(&mut self) -> Value {
        let secs = self
            .env
            .read_logged("uptime", "proc/uptime")
            .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0);
        Value::from(timedelta_text(secs as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::timedelta_text;

    #[test]
    fn formats_like_python() {
        assert_eq!(timedelta_text(320), "0:05:20");
        assert_eq!(timedelta_text(86400 + 2 * 3600 + 3 * 60 + 4), "1 day, 2:03:04");
        assert_eq!(timedelta_text(3 * 86400 + 36000), "3 days, 10:00:00");
    }
}
