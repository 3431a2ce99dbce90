//! The alert actor owns the single events list served at `/api/3/alert`
//! (spec §10): created on WARNING/CRITICAL, updated on each evaluation,
//! ended on OK/CAREFUL, dropped when 6 s or shorter, at most 10, newest first.
//! It also runs threshold actions (§9.5) and, beyond Glances and only when
//! configured, applies `[alert] min_duration` and `[alert] hysteresis`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use serde_json::Value;

use super::aggregator::{Aggregator, AlertStats};
use crate::collect::ProcessTable;
use crate::json::float;
use crate::limits::{Level, Limits};
use crate::views::{Evaluation, Trigger};

/// The evaluations of one plugin update, with the stats they were made on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Evaluated {
    pub plugin: &'static str,
    pub evaluations: Vec<Evaluation>,
    pub triggers: Vec<Trigger>,
    pub stats: Arc<Value>,
}

const MAX_EVENTS: usize = 10;
/// Events that end within this many seconds of their start are deleted.
const MIN_EVENT_SECONDS: i64 = 6;
const TOP_PROCESSES: usize = 3;

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
    pub top: Vec<Value>,
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
            Value::Array(self.top.clone()),
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

/// A process's weight under `key` (io_counters: bytes read+written since
/// the previous scan).
fn process_weight(p: &Value, key: &str) -> f64 {
    match key {
        "io_counters" => p["io_counters"].as_array().map_or(0.0, |io| {
            let n = |i: usize| io.get(i).and_then(Value::as_f64).unwrap_or(0.0);
            (n(0) - n(2)) + (n(1) - n(3))
        }),
        _ => p[key].as_f64().unwrap_or(-1.0),
    }
}

/// The `TOP_PROCESSES` heaviest processes by `key`.
fn top_processes(table: &ProcessTable, key: &str) -> Vec<Value> {
    let Ok(table) = table.read() else {
        return Vec::new();
    };
    let mut procs: Vec<&Value> = crate::collect::process_list(&table).iter().collect();
    procs.sort_by(|a, b| process_weight(b, key).total_cmp(&process_weight(a, key)));
    procs.into_iter().take(TOP_PROCESSES).cloned().collect()
}

/// Opt-in smoothing beyond Glances (`[alert]` section); zero means off.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Smoothing {
    /// Seconds a level must hold before an event is created.
    pub min_duration: f64,
    /// Percent below a threshold a value must fall before its level drops.
    pub hysteresis: f64,
}

impl Smoothing {
    pub fn from_config(config: &crate::config::Config) -> Smoothing {
        Smoothing {
            min_duration: config.get_f64("alert", "min_duration").unwrap_or(0.0).max(0.0),
            hysteresis: config.get_f64("alert", "hysteresis").unwrap_or(0.0).clamp(0.0, 100.0),
        }
    }
}

/// The level an ongoing event keeps under hysteresis: thresholds lowered by
/// `pct` percent of themselves.
fn sticky_level(e: &Evaluation, pct: f64) -> Level {
    let Some([careful, warning, critical]) = e.thresholds else {
        return e.level;
    };
    let relax = |t: f64| t - t.abs() * pct / 100.0;
    let relaxed = if e.value >= relax(critical) {
        Level::Critical
    } else if e.value >= relax(warning) {
        Level::Warning
    } else if e.value >= relax(careful) {
        Level::Careful
    } else {
        Level::Ok
    };
    relaxed.max(e.level)
}

/// The events list and its lifecycle rules, independent of actors.
#[derive(Debug, Default)]
pub struct Events {
    pub list: Vec<Event>,
    pub smoothing: Smoothing,
    /// The automatic process sort key to switch during events (§10.4);
    /// `None` when `[processlist] sort_key` fixes it.
    pub process_sort: Option<crate::collect::ProcessSort>,
    /// When each alarming type was first seen without an event (min_duration).
    pending: HashMap<String, i64>,
}

impl Events {
    pub fn new(smoothing: Smoothing, process_sort: Option<crate::collect::ProcessSort>) -> Events {
        Events {
            smoothing,
            process_sort,
            ..Events::default()
        }
    }

    /// Apply one evaluation at `now` (epoch seconds); `top` gives the
    /// heaviest processes for a sort key. Returns whether the list changed.
    pub fn apply(&mut self, e: &Evaluation, now: i64, top: impl Fn(&str) -> Vec<Value>) -> bool {
        let ongoing = self.list.iter().position(|ev| ev.end.is_none() && ev.kind == e.kind);
        let level = match ongoing {
            Some(_) if self.smoothing.hysteresis > 0.0 => sticky_level(e, self.smoothing.hysteresis),
            _ => e.level,
        };
        let alarming = level >= Level::Warning;
        if !alarming {
            self.pending.remove(&e.kind);
        }
        // Glances switches the process sort while an event is active and
        // back to CPU when any event ends.
        let switch_to = match (ongoing, alarming) {
            (_, true) => Some(sort_key(&e.kind)),
            (Some(_), false) => Some("cpu_percent"),
            (None, false) => None,
        };
        if let (Some(key), Some(shared)) = (switch_to, &self.process_sort)
            && let Ok(mut current) = shared.lock()
        {
            *current = key;
        }
        match (ongoing, alarming) {
            (None, false) => false,
            (None, true) => {
                if self.smoothing.min_duration > 0.0 {
                    let since = *self.pending.entry(e.kind.clone()).or_insert(now);
                    if ((now - since) as f64) < self.smoothing.min_duration {
                        return false;
                    }
                    self.pending.remove(&e.kind);
                }
                let key = sort_key(&e.kind);
                self.list.insert(
                    0,
                    Event {
                        begin: now,
                        end: None,
                        state: level,
                        kind: e.kind.clone(),
                        max: e.value,
                        min: e.value,
                        sum: e.value,
                        count: 1,
                        top: Vec::new(),
                        sort_key: key,
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
                if level == Level::Critical {
                    ev.state = Level::Critical;
                    ev.sort_key = sort_key(&ev.kind);
                    ev.top = top(ev.sort_key);
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

/// Runs `<stat>_<level>_action` commands once per level change (or on every
/// evaluation for `_repeat`), never during the first two refresh periods.
pub struct Actions {
    limits: HashMap<&'static str, Arc<Limits>>,
    last_level: HashMap<String, Level>,
    quiet_until: Instant,
}

impl Actions {
    pub fn new(limits: HashMap<&'static str, Arc<Limits>>, quiet_until: Instant) -> Actions {
        Actions {
            limits,
            last_level: HashMap::new(),
            quiet_until,
        }
    }

    /// The commands to run for these triggers, as (stat, steps).
    pub fn due(
        &mut self,
        plugin: &str,
        triggers: &[Trigger],
        stats: &Value,
    ) -> Vec<(String, Vec<crate::actions::Step>)> {
        let Some(limits) = self.limits.get(plugin) else {
            return Vec::new();
        };
        let mut due = Vec::new();
        for t in triggers {
            let changed = self.last_level.insert(t.stat.clone(), t.level) != Some(t.level);
            if Instant::now() < self.quiet_until {
                continue;
            }
            let Some((command, repeat)) = crate::actions::lookup(limits, plugin, &t.stat, t.level) else {
                continue;
            };
            if changed || repeat {
                let fields = element(stats, &t.item);
                due.push((t.stat.clone(), crate::actions::plan(&command, fields)));
            }
        }
        due
    }
}

/// The stats a template sees: the list element whose key value is `item`,
/// or the whole object.
fn element<'a>(stats: &'a Value, item: &str) -> Option<&'a Value> {
    match stats {
        Value::Array(items) => items.iter().find(|e| {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            crate::views::key_text(e.get(key)) == item
        }),
        other => Some(other),
    }
}

pub struct AlertActor {
    events: Events,
    actions: Actions,
    processes: ProcessTable,
    aggregator: Addr<Aggregator>,
}

impl AlertActor {
    pub fn new(aggregator: Addr<Aggregator>, events: Events, actions: Actions, processes: ProcessTable) -> AlertActor {
        AlertActor {
            events,
            actions,
            processes,
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
        let processes = &self.processes;
        for e in &msg.evaluations {
            changed |= self.events.apply(e, now, |key| top_processes(processes, key));
        }
        if changed {
            tracing::debug!(plugin = msg.plugin, events = self.events.list.len(), "events updated");
            self.aggregator.do_send(AlertStats(self.events.to_json()));
        }
        for (stat, steps) in self.actions.due(msg.plugin, &msg.triggers, &msg.stats) {
            tracing::info!(%stat, "running threshold action");
            crate::actions::spawn(stat, steps);
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
            thresholds: Some([50.0, 70.0, 90.0]),
        }
    }

    impl Events {
        fn apply_now(&mut self, e: &Evaluation, now: i64) -> bool {
            self.apply(e, now, |_| vec![serde_json::json!({"pid": 1})])
        }
    }

    #[test]
    fn lifecycle_create_update_escalate_end() {
        let mut ev = Events::default();
        assert!(!ev.apply_now(&eval("MEM", Level::Ok, 10.0), 100));
        assert!(ev.apply_now(&eval("MEM", Level::Warning, 75.0), 100));
        ev.apply_now(&eval("MEM", Level::Critical, 95.0), 102);
        ev.apply_now(&eval("MEM", Level::Warning, 71.0), 104);
        let e = &ev.list[0];
        assert_eq!((e.state, e.count, e.max, e.min), (Level::Critical, 3, 95.0, 71.0));
        ev.apply_now(&eval("MEM", Level::Ok, 10.0), 110);
        assert_eq!(ev.list[0].end, Some(110));
        let json = ev.to_json();
        assert_eq!(json[0].as_array().unwrap().len(), 12);
        assert_eq!(json[0][11], "memory_percent");
        assert_eq!(json[0][5], float((75.0 + 95.0 + 71.0) / 3.0));
        assert_eq!(
            json[0][9].as_array().unwrap().len(),
            1,
            "top processes filled on CRITICAL"
        );
    }

    #[test]
    fn events_switch_the_automatic_process_sort() {
        let shared: crate::collect::ProcessSort = Arc::new(std::sync::Mutex::new("cpu_percent"));
        let mut ev = Events::new(Smoothing::default(), Some(shared.clone()));
        ev.apply_now(&eval("MEM", Level::Warning, 75.0), 100);
        assert_eq!(*shared.lock().unwrap(), "memory_percent");
        ev.apply_now(&eval("MEM", Level::Ok, 10.0), 110);
        assert_eq!(*shared.lock().unwrap(), "cpu_percent");
        ev.apply_now(&eval("CPU_IOWAIT", Level::Critical, 60.0), 120);
        assert_eq!(*shared.lock().unwrap(), "io_counters");
    }

    #[test]
    fn min_duration_delays_creation() {
        let mut ev = Events::new(
            Smoothing {
                min_duration: 10.0,
                hysteresis: 0.0,
            },
            None,
        );
        assert!(!ev.apply_now(&eval("MEM", Level::Warning, 75.0), 100));
        assert!(!ev.apply_now(&eval("MEM", Level::Warning, 75.0), 105));
        assert!(ev.apply_now(&eval("MEM", Level::Warning, 75.0), 110));
        assert_eq!(ev.list[0].begin, 110);
        // A blip that clears resets the clock.
        ev.apply_now(&eval("LOAD", Level::Warning, 2.0), 100);
        ev.apply_now(&eval("LOAD", Level::Ok, 0.1), 101);
        assert!(!ev.apply_now(&eval("LOAD", Level::Warning, 2.0), 111));
    }

    #[test]
    fn hysteresis_keeps_an_event_near_its_threshold() {
        let mut ev = Events::new(
            Smoothing {
                min_duration: 0.0,
                hysteresis: 10.0,
            },
            None,
        );
        ev.apply_now(&eval("MEM", Level::Warning, 71.0), 100);
        // 68 is CAREFUL by the thresholds but within 10 % of warning (70 → 63).
        ev.apply_now(&eval("MEM", Level::Careful, 68.0), 110);
        assert_eq!(ev.list[0].end, None);
        ev.apply_now(&eval("MEM", Level::Careful, 60.0), 120);
        assert_eq!(ev.list[0].end, Some(120));
    }

    #[test]
    fn actions_run_once_per_level_change_after_the_quiet_period() {
        let config = crate::config::Config::parse(
            "[mem]\nwarning_action=touch /tmp/{{percent}}\ncritical_action_repeat=echo {{percent}}\n",
            std::path::Path::new("t.conf"),
        )
        .unwrap();
        let limits = HashMap::from([("mem", Arc::new(Limits::from_config("mem", &config)))]);
        let trig = |level| Trigger {
            stat: "mem".into(),
            item: String::new(),
            level,
        };
        let stats = serde_json::json!({"percent": 75.5});
        let mut quiet = Actions::new(limits.clone(), Instant::now() + std::time::Duration::from_secs(60));
        assert!(quiet.due("mem", &[trig(Level::Warning)], &stats).is_empty());
        let mut actions = Actions::new(limits, Instant::now());
        let due = actions.due("mem", &[trig(Level::Warning)], &stats);
        assert_eq!(due[0].1[0].argv, ["touch", "/tmp/75.5"]);
        assert!(
            actions.due("mem", &[trig(Level::Warning)], &stats).is_empty(),
            "same level: once"
        );
        assert_eq!(actions.due("mem", &[trig(Level::Critical)], &stats).len(), 1);
        assert_eq!(
            actions.due("mem", &[trig(Level::Critical)], &stats).len(),
            1,
            "_repeat runs each time"
        );
    }

    #[test]
    fn short_events_vanish_and_list_is_bounded() {
        let mut ev = Events::default();
        ev.apply_now(&eval("LOAD", Level::Warning, 1.2), 100);
        ev.apply_now(&eval("LOAD", Level::Careful, 0.8), 105);
        assert!(ev.list.is_empty());
        for i in 0..11 {
            ev.apply_now(&eval(&format!("FS_/{i}"), Level::Critical, 99.0), 200 + i);
        }
        assert_eq!(ev.list.len(), 10);
        assert_eq!(ev.list[0].kind, "FS_/10");
        assert!(ev.list.iter().all(|e| e.kind != "FS_/0"));
    }
}
