//! `load`: load averages from /proc/loadavg (spec §8.15).

use serde_json::{Map, Value};

use super::{Env, Plugin, logical_cpus};
use crate::json::float;
use crate::limits::Limits;
use crate::views::Decorator;

pub struct Load {
    env: Env,
}

impl Load {
    pub fn new(env: &Env) -> Load {
        Load { env: env.clone() }
    }
}

/// `min1 min5 min15 ...` → the three averages.
pub fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut cols = text.split_whitespace().map(|c| c.parse::<f64>().ok());
    Some([cols.next()??, cols.next()??, cols.next()??])
}

impl Plugin for Load {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "load"
    }

    fn collect(&mut self) -> Value {
        let Some([min1, min5, min15]) = self
            .env
            .read_logged("load", "proc/loadavg")
            .as_deref()
            .and_then(parse_loadavg)
        else {
            return Value::Object(Map::new());
        };
        let mut m = Map::with_capacity(4);
        m.insert("min1".into(), float(min1));
        m.insert("min5".into(), float(min5));
        m.insert("min15".into(), float(min15));
        m.insert("cpucore".into(), logical_cpus(&self.env.root).into());
        Value::Object(m)
    }

    fn history_fields(&self) -> &'static [&'static str] {
        &["min1", "min5", "min15"]
    }

    /// min15 and min5 are judged per core against `load_*` (ratios).
    fn decorate(&self, stats: &Value, limits: &Limits, d: &mut Decorator) {
        let Some(cores) = stats.get("cpucore").and_then(Value::as_f64) else {
            return;
        };
        for (field, log) in [("min15", true), ("min5", false)] {
            if let Some(v) = stats.get(field).and_then(Value::as_f64) {
                d.evaluate(limits, "load", "", "", field, v, 100.0 * cores, log);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_loadavg() {
        assert_eq!(
            super::parse_loadavg("2.24 2.20 1.29 3/120 4567\n"),
            Some([2.24, 2.2, 1.29])
        );
        assert_eq!(super::parse_loadavg("garbage"), None);
    }
}
