//! The alert actor owns the single events list served at `/api/3/alert`
//! (spec §10): created on WARNING/CRITICAL, updated on each evaluation,
//! ended on OK/CAREFUL, dropped when 6 s or shorter, at most 10, newest first.

use actix::prelude::*;
use serde_json::Value;

use super::aggregator::{Aggregator, AlertStats};
use crate::json::float;
use crate::limits::Level;
use crate::views::Evaluation;

/// The logged evaluations of one plugin update.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Evaluated {
    pub plugin: &'static str,
    pub evaluations: Vec<Evaluation>,
}

const MAX_EVENTS: usize = 10;
/// Events that end within this many seconds of their start are deleted.
const MIN_EVENT_SECONDS: i64 = 6;

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub begin: i64,
    pub end: Option<i64>,
    pub state: Level,
    pub kind: String,
    pub max: f64,
    pub min: f64,
    pub sum: f64,
    pub count: u64,
    pub sort_key: &'static str,
}

impl Event {
    fn to_json(&self) -> Value {
        Value::Array(vec![
            float(self.begin as f64),
            self.end.map_or(Value::from(-1), |e| float(e as f64)),
            self.state.as_str().into(),
            self.kind.clone().into(),
            float(self.max),
            float(self.sum / self.count as f64),
            float(self.min),
            float(self.sum),
            self.count.into(),
            Value::Array(Vec::new()),
            "".into(),
            self.sort_key.into(),
        ])
    }
}

/// The process sort key Glances attaches to an event type.
fn sort_key(kind: &str) -> &'static str {
    if kind.starts_with("MEM") {
        "memory_percent"
    } else if kind.starts_with("CPU_IOWAIT") {
        "io_counters"
    } else {
        "cpu_percent"
    }
}

/// The events list and its lifecycle rules, independent of actors.
#[derive(Debug, Default)]
pub struct Events {
    pub list: Vec<Event>,
}

impl Events {
    /// Apply one evaluation at `now` (epoch seconds). Returns whether the
    /// list changed.
    pub fn apply(&mut self, e: &Evaluation, now: i64) -> bool {
        let ongoing = self.list.iter().position(|ev| ev.end.is_none() && ev.kind == e.kind);
        let alarming = e.level >= Level::Warning;
        match (ongoing, alarming) {
            (None, false) => false,
            (None, true) => {
                self.list.insert(
                    0,
                    Event {
                        begin: now,
                        end: None,
                        state: e.level,
                        kind: e.kind.clone(),
                        max: e.value,
                        min: e.value,
                        sum: e.value,
                        count: 1,
                        sort_key: sort_key(&e.kind),
                    },
                );
                self.list.truncate(MAX_EVENTS);
                true
            }
            (Some(i), false) => {
                if now - self.list[i].begin > MIN_EVENT_SECONDS {
                    self.list[i].end = Some(now);
                } else {
                    self.list.remove(i);
                }
                true
            }
            (Some(i), true) => {
                let ev = &mut self.list[i];
                if e.level == Level::Critical {
                    ev.state = Level::Critical;
                }
                ev.max = ev.max.max(e.value);
                ev.min = ev.min.min(e.value);
                ev.sum += e.value;
                ev.count += 1;
                true
            }
        }
    }

    pub fn to_json(&self) -> Value {
        Value::Array(self.list.iter().map(Event::to_json).collect())
    }
}

pub struct AlertActor {
    events: Events,
    aggregator: Addr<Aggregator>,
}

impl AlertActor {
    pub fn new(aggregator: Addr<Aggregator>) -> AlertActor {
        AlertActor {
            events: Events::default(),
            aggregator,
        }
    }
}

impl Actor for AlertActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Context<Self>) {
        self.aggregator.do_send(AlertStats(self.events.to_json()));
    }
}

impl Handler<Evaluated> for AlertActor {
    type Result = ();

    fn handle(&mut self, msg: Evaluated, _ctx: &mut Context<Self>) {
        let now = crate::timefmt::now_micros() / 1_000_000;
        let mut changed = false;
        for e in &msg.evaluations {
            changed |= self.events.apply(e, now);
        }
        if changed {
            tracing::debug!(plugin = msg.plugin, events = self.events.list.len(), "events updated");
            self.aggregator.do_send(AlertStats(self.events.to_json()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(kind: &str, level: Level, value: f64) -> Evaluation {
        Evaluation {
            kind: kind.into(),
            level,
            value,
        }
    }

    #[test]
    fn lifecycle_create_update_escalate_end() {
        let mut ev = Events::default();
        assert!(!ev.apply(&eval("MEM", Level::Ok, 10.0), 100));
        assert!(ev.apply(&eval("MEM", Level::Warning, 75.0), 100));
        ev.apply(&eval("MEM", Level::Critical, 95.0), 102);
        ev.apply(&eval("MEM", Level::Warning, 71.0), 104);
        let e = &ev.list[0];
        assert_eq!((e.state, e.count, e.max, e.min), (Level::Critical, 3, 95.0, 71.0));
        ev.apply(&eval("MEM", Level::Ok, 10.0), 110);
        assert_eq!(ev.list[0].end, Some(110));
        let json = ev.to_json();
        assert_eq!(json[0].as_array().unwrap().len(), 12);
        assert_eq!(json[0][11], "memory_percent");
        assert_eq!(json[0][5], float((75.0 + 95.0 + 71.0) / 3.0));
    }

    #[test]
    fn short_events_vanish_and_list_is_bounded() {
        let mut ev = Events::default();
        ev.apply(&eval("LOAD", Level::Warning, 1.2), 100);
        ev.apply(&eval("LOAD", Level::Careful, 0.8), 105);
        assert!(ev.list.is_empty());
        for i in 0..11 {
            ev.apply(&eval(&format!("FS_/{i}"), Level::Critical, 99.0), 200 + i);
        }
        assert_eq!(ev.list.len(), 10);
        assert_eq!(ev.list[0].kind, "FS_/10");
        assert!(ev.list.iter().all(|e| e.kind != "FS_/0"));
    }
}
