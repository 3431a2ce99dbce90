//! The aggregator owns the latest stats of every plugin, their history,
//! limits and views, each serialised once per update; the HTTP layer asks
//! it for bytes by message.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use actix_web::web::Bytes;
use serde_json::{Map, Value};

use super::alert::{AlertActor, Evaluated};
use super::history::History;
use crate::collect::{Sample, ViewSource, initial_stats};
use crate::json::to_bytes;
use crate::limits::Limits;
use crate::memory::Trimmer;
use crate::text::Text;

/// How often freed heap memory is handed back to the kernel.
const TRIM_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

/// A text the aggregator keeps to answer many requests.
fn kept(text: impl Into<Bytes>) -> Text {
    Text::from(text.into()).kept()
}

/// A new sample of one plugin.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Update {
    pub plugin: &'static str,
    pub sample: Sample,
    /// Collection time, µs since the epoch.
    pub at: i64,
}

/// The events list, from the alert actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AlertStats(pub Value);

/// What an API route asks for (spec §3 rules 7–20).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    PluginsList,
    All,
    AllLimits,
    AllViews,
    Plugin(String),
    History(String, i64),
    Limits(String),
    Views(String),
    Item(String, String),
    ItemHistory(String, String, i64),
    Value(String, String, String),
}

impl Message for Query {
    type Result = Result<Reply, ApiError>;
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub body: Text,
    /// `/limits` and `/views` are served as `application/json` without charset.
    pub plain_json: bool,
}

impl Reply {
    fn json(body: impl Into<Text>) -> Reply {
        Reply {
            body: body.into(),
            plain_json: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    BadRequest(String),
    NotFound(String),
}

/// One plugin's latest state. Its JSON texts are made on the first request
/// after an update and kept until the next one: at most once per update,
/// never for updates nobody asks about.
struct Slot {
    enabled: bool,
    stats: Arc<Value>,
    stats_json: Option<Text>,
    views: Option<ViewSource>,
    views_json: Option<Text>,
    limits_json: Text,
    history: History,
    updates: u64,
    /// Whether a request took the stats (views) text since the last update.
    stats_asked: bool,
    views_asked: bool,
}

impl Slot {
    /// The stats text, for a request.
    fn stats_json(&mut self) -> &Text {
        self.stats_asked = true;
        self.stats_text()
    }

    /// The views text, for a request.
    fn views_json(&mut self) -> &Text {
        self.views_asked = true;
        self.views_text()
    }

    fn stats_text(&mut self) -> &Text {
        let stats = &self.stats;
        self.stats_json.get_or_insert_with(|| kept(to_bytes(stats)))
    }

    fn views_text(&mut self) -> &Text {
        let (stats, views) = (&self.stats, &self.views);
        self.views_json.get_or_insert_with(|| match views {
            Some(v) => kept(v.to_bytes(stats)),
            None => kept(Bytes::from_static(b"{}")),
        })
    }
}

pub struct Aggregator {
    /// Every plugin glint implements, in serving order (alphabetical).
    order: Vec<&'static str>,
    /// What comes before each plugin's text in `/all`: `"alert":`, `,"amps":`...
    all_keys: Vec<Bytes>,
    slots: HashMap<&'static str, Slot>,
    history_enabled: bool,
    pluginslist: Text,
    all_limits: Text,
    all_cache: Option<Text>,
    all_views_cache: Option<Text>,
    alert: Option<Addr<AlertActor>>,
    /// Updates arrive every refresh anyway: trimming there costs no wakeup.
    trimmer: Trimmer,
}

impl Aggregator {
    /// `plugins`: (name, enabled, limits) for every implemented plugin.
    pub fn new(plugins: Vec<(&'static str, bool, Limits)>, history_size: usize, history_enabled: bool) -> Aggregator {
        let mut slots = HashMap::new();
        let mut order = Vec::new();
        let mut all_limits = Map::new();
        for (name, enabled, limits) in plugins {
            let stats = initial_stats(name);
            if enabled {
                all_limits.insert(name.to_string(), limits.to_json());
            }
            slots.insert(
                name,
                Slot {
                    enabled,
                    stats_json: None,
                    stats: Arc::new(stats),
                    views: None,
                    views_json: None,
                    limits_json: kept(to_bytes(&limits.to_json())),
                    history: History::new(if history_enabled { history_size } else { 0 }),
                    updates: 0,
                    stats_asked: false,
                    views_asked: false,
                },
            );
            order.push(name);
        }
        order.sort_unstable();
        let enabled: Vec<Value> = order
            .iter()
            .filter(|n| slots[*n].enabled)
            .map(|n| Value::from(*n))
            .collect();
        let all_keys = order
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mut key = if i == 0 { Vec::new() } else { vec![b','] };
                crate::json::write_str(name, &mut key);
                key.push(b':');
                Bytes::from(key)
            })
            .collect();
        Aggregator {
            pluginslist: kept(to_bytes(&Value::Array(enabled))),
            all_keys,
            all_limits: kept(to_bytes(&Value::Object(all_limits))),
            order,
            slots,
            history_enabled,
            all_cache: None,
            all_views_cache: None,
            alert: None,
            trimmer: Trimmer::new(TRIM_PERIOD),
        }
    }

    /// 400 with Glances' message unless `name` is an enabled plugin.
    fn enabled_slot(&mut self, name: &str) -> Result<&mut Slot, ApiError> {
        if !self.slots.get(name).is_some_and(|s| s.enabled) {
            let names: Vec<String> = self
                .order
                .iter()
                .filter(|n| self.slots[*n].enabled)
                .map(|n| format!("'{n}'"))
                .collect();
            return Err(ApiError::BadRequest(format!(
                "Unknown plugin {name} (available plugins: [{}])",
                names.join(", ")
            )));
        }
        Ok(self.slots.get_mut(name).expect("checked above"))
    }

    fn store(&mut self, name: &str, stats: Arc<Value>, views: Option<ViewSource>) {
        let Some(slot) = self.slots.get_mut(name) else {
            return;
        };
        slot.stats = stats;
        slot.stats_json = None;
        slot.views = views;
        slot.views_json = None;
        slot.updates += 1;
        // Texts asked for since the last update are being polled (a
        // dashboard is open): write the new ones now, while the stats just
        // collected are still in the CPU's caches, not seconds later on the
        // next request.
        if std::mem::take(&mut slot.stats_asked) {
            slot.stats_text();
        }
        if std::mem::take(&mut slot.views_asked) {
            slot.views_text();
        }
        self.all_cache = None;
        self.all_views_cache = None;
    }

    /// `{"name": <text>, ...}` over every plugin, in order, as pieces
    /// (not copied unless short: see [`Text`]).
    fn concat(&mut self, part: impl Fn(&mut Slot) -> &Text) -> Text {
        let mut text = Text::from(Bytes::from_static(b"{"));
        for (name, key) in self.order.iter().zip(&self.all_keys) {
            text.push(key.clone());
            text.push(part(self.slots.get_mut(name).expect("slot of every plugin")).to_bytes());
        }
        text.push(Bytes::from_static(b"}"));
        text.kept().joined_if_short()
    }

    fn answer(&mut self, query: Query) -> Result<Reply, ApiError> {
        let json = |v: &Value| Ok(Reply::json(Bytes::from(to_bytes(v))));
        match query {
            Query::PluginsList => Ok(Reply::json(self.pluginslist.clone())),
            Query::AllLimits => Ok(Reply::json(self.all_limits.clone())),
            Query::All => {
                if self.all_cache.is_none() {
                    self.all_cache = Some(self.concat(Slot::stats_json));
                }
                Ok(Reply::json(self.all_cache.clone().unwrap_or_default()))
            }
            Query::AllViews => {
                if self.all_views_cache.is_none() {
                    self.all_views_cache = Some(self.concat(Slot::views_json));
                }
                Ok(Reply::json(self.all_views_cache.clone().unwrap_or_default()))
            }
            Query::Plugin(p) => Ok(Reply::json(self.enabled_slot(&p)?.stats_json().clone())),
            Query::Limits(p) => Ok(Reply {
                body: self.enabled_slot(&p)?.limits_json.clone(),
                plain_json: true,
            }),
            Query::Views(p) => Ok(Reply {
                body: self.enabled_slot(&p)?.views_json().clone(),
                plain_json: true,
            }),
            Query::History(p, nb) => Ok(Reply::json(Bytes::from(
                self.enabled_slot(&p)?.history.to_bytes(None, nb),
            ))),
            Query::ItemHistory(p, item, nb) => {
                let history_enabled = self.history_enabled;
                let slot = self.enabled_slot(&p)?;
                if !history_enabled || !slot.history.contains(&item) {
                    return Err(ApiError::NotFound(format!(
                        "Cannot get item {item}history  in plugin {p}"
                    )));
                }
                Ok(Reply::json(Bytes::from(slot.history.to_bytes(Some(&item), nb))))
            }
            Query::Item(p, item) => {
                let slot = self.enabled_slot(&p)?;
                match item_values(&slot.stats, &item) {
                    Some(v) => json(&Value::Object(Map::from_iter([(item, v)]))),
                    None => Err(ApiError::NotFound(format!("Cannot get item {item} in plugin {p}"))),
                }
            }
            Query::Value(p, item, value) => {
                let slot = self.enabled_slot(&p)?;
                let (key, wanted) = convert_value(&value);
                match matching_items(&slot.stats, &item, &wanted) {
                    Some(found) => json(&Value::Object(Map::from_iter([(key, Value::Array(found))]))),
                    None => Err(ApiError::NotFound(format!(
                        "Cannot get item ({item}={value}) in plugin {p}"
                    ))),
                }
            }
        }
    }
}

/// `/<plugin>/<item>`: the field of a dict, or the field of every element
/// of a list (all elements must have it).
fn item_values(stats: &Value, item: &str) -> Option<Value> {
    match stats {
        Value::Object(obj) => obj.get(item).cloned(),
        Value::Array(items) => items
            .iter()
            .map(|e| e.as_object().and_then(|o| o.get(item)).cloned())
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        _ => None,
    }
}

/// Digit-only values become integers (`01` → 1); the reply key is the
/// converted text.
fn convert_value(raw: &str) -> (String, Value) {
    if !raw.is_empty() && raw.chars().all(|c| c.is_ascii_digit()) {
        let digits = raw.trim_start_matches('0');
        let text = if digits.is_empty() {
            "0".to_string()
        } else {
            digits.to_string()
        };
        let value = text
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(text.clone()));
        // An integer too large for u64 can never equal a field; keep its text.
        return (text, value);
    }
    (raw.to_string(), Value::from(raw))
}

/// Type-strict equality of a field with the wanted value (ints never equal
/// floats or strings, as in Glances).
fn same(field: &Value, wanted: &Value) -> bool {
    match (field, wanted) {
        (Value::Number(a), Value::Number(b)) => a.is_f64() == b.is_f64() && a == b,
        (Value::String(a), Value::String(b)) => a == b,
        _ => false,
    }
}

/// `/<plugin>/<item>/<value>`: every element whose item equals value; None
/// when the stats are not a list or an element lacks the item.
fn matching_items(stats: &Value, item: &str, wanted: &Value) -> Option<Vec<Value>> {
    let items = stats.as_array()?;
    let mut found = Vec::new();
    for e in items {
        let field = e.as_object()?.get(item)?;
        if same(field, wanted) {
            found.push(e.clone());
        }
    }
    Some(found)
}

impl Actor for Aggregator {
    type Context = Context<Self>;
}

impl Handler<Update> for Aggregator {
    type Result = ();

    fn handle(&mut self, msg: Update, _ctx: &mut Context<Self>) {
        let Sample {
            stats,
            views,
            history,
            evaluations,
            triggers,
        } = msg.sample;
        let is_empty = match stats.as_ref() {
            Value::Object(o) => o.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Null => true,
            _ => false,
        };
        if let Some(slot) = self.slots.get_mut(msg.plugin)
            && !is_empty
        {
            slot.history.add(msg.at, history);
        }
        self.store(msg.plugin, stats, Some(views));
        self.trimmer.maybe_trim();
        if let (Some(alert), Some(slot)) = (&self.alert, self.slots.get(msg.plugin))
            && !(evaluations.is_empty() && triggers.is_empty())
        {
            alert.do_send(Evaluated {
                plugin: msg.plugin,
                evaluations,
                triggers,
                stats: Arc::clone(&slot.stats),
            });
        }
    }
}

impl Handler<AlertStats> for Aggregator {
    type Result = ();

    fn handle(&mut self, msg: AlertStats, _ctx: &mut Context<Self>) {
        self.store("alert", Arc::new(msg.0), None);
    }
}

impl Handler<Query> for Aggregator {
    type Result = Result<Reply, ApiError>;

    fn handle(&mut self, query: Query, _ctx: &mut Context<Self>) -> Self::Result {
        self.answer(query)
    }
}

/// Connect the alert actor (it needs the aggregator's address first).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetAlert(pub Addr<AlertActor>);

impl Handler<SetAlert> for Aggregator {
    type Result = ();

    fn handle(&mut self, msg: SetAlert, _ctx: &mut Context<Self>) {
        self.alert = Some(msg.0);
    }
}

/// Enabled plugins (other than `help`, which has no stats) still without
/// a first sample.
#[derive(Message)]
#[rtype(result = "Vec<&'static str>")]
pub struct Pending;

impl Handler<Pending> for Aggregator {
    type Result = Vec<&'static str>;

    fn handle(&mut self, _msg: Pending, _ctx: &mut Context<Self>) -> Vec<&'static str> {
        self.order
            .iter()
            .copied()
            .filter(|n| *n != "help" && self.slots[n].enabled && self.slots[n].updates == 0)
            .collect()
    }
}

/// How many updates `plugin` has received (for tests and logs).
#[derive(Message)]
#[rtype(result = "u64")]
pub struct UpdateCount(pub &'static str);

impl Handler<UpdateCount> for Aggregator {
    type Result = u64;

    fn handle(&mut self, msg: UpdateCount, _ctx: &mut Context<Self>) -> u64 {
        self.slots.get(msg.0).map_or(0, |s| s.updates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn all_is_each_plugin_text_under_its_name() {
        let mut agg = Aggregator::new(
            vec![("load", true, Limits::default()), ("mem", false, Limits::default())],
            0,
            false,
        );
        agg.store("load", Arc::new(json!({"min1": 1.0})), None);
        let all = agg.answer(Query::All).unwrap().body.to_bytes();
        assert!(
            all.starts_with(br#"{"load":{"min1":1.0},"mem":"#) && all.ends_with(b"}"),
            "{all:?}"
        );
        let none = Aggregator::new(Vec::new(), 0, false)
            .answer(Query::All)
            .unwrap()
            .body
            .to_bytes();
        assert_eq!(&none[..], b"{}");
    }

    #[test]
    fn texts_asked_for_since_the_last_update_are_written_at_the_next_one() {
        let mut agg = Aggregator::new(vec![("load", true, Limits::default())], 0, false);
        let written = |agg: &Aggregator| {
            let slot = &agg.slots["load"];
            (slot.stats_json.is_some(), slot.views_json.is_some())
        };
        agg.store("load", Arc::new(json!({"min1": 1.0})), None);
        assert_eq!(written(&agg), (false, false), "nobody asked: nothing written");
        agg.answer(Query::Plugin("load".into())).unwrap();
        agg.store("load", Arc::new(json!({"min1": 2.0})), None);
        assert_eq!(written(&agg), (true, false));
        assert_eq!(
            &agg.answer(Query::Plugin("load".into())).unwrap().body.to_bytes()[..],
            b"{\"min1\":2.0}"
        );
        agg.answer(Query::AllViews).unwrap();
        agg.store("load", Arc::new(json!({"min1": 3.0})), None);
        assert_eq!(written(&agg), (true, true));
        agg.store("load", Arc::new(json!({"min1": 4.0})), None);
        assert_eq!(written(&agg), (false, false), "not asked since: nothing written");
    }

    #[test]
    fn each_kept_text_is_compressed_once_per_update() {
        let mut agg = Aggregator::new(vec![("load", true, Limits::default())], 0, false);
        let calls = std::cell::Cell::new(0);
        let compressed = |agg: &mut Aggregator, query: Query| {
            let body = agg.answer(query).unwrap().body;
            body.compressed(|t| {
                calls.set(calls.get() + 1);
                t.to_bytes().to_vec()
            })
        };
        agg.store("load", Arc::new(json!({"min1": 1.0})), None);
        let queries = [
            Query::All,
            Query::AllViews,
            Query::AllLimits,
            Query::PluginsList,
            Query::Plugin("load".into()),
            Query::Views("load".into()),
            Query::Limits("load".into()),
        ];
        for _ in 0..3 {
            for query in queries.clone() {
                compressed(&mut agg, query);
            }
        }
        assert_eq!(calls.get(), queries.len(), "once each, however many asked");
        agg.store("load", Arc::new(json!({"min1": 2.0})), None);
        assert_eq!(&compressed(&mut agg, Query::All)[..], br#"{"load":{"min1":2.0}}"#);
        assert_eq!(
            &compressed(&mut agg, Query::Plugin("load".into()))[..],
            br#"{"min1":2.0}"#
        );
        compressed(&mut agg, Query::AllLimits);
        assert_eq!(calls.get(), queries.len() + 2, "the updated texts anew, limits not");
        // History and lookups are made per request, and so compressed.
        compressed(&mut agg, Query::History("load".into(), 0));
        compressed(&mut agg, Query::History("load".into(), 0));
        assert_eq!(calls.get(), queries.len() + 4);
    }

    #[test]
    fn value_lookup_semantics() {
        let stats =
            json!([{"cpu_number": 0, "total": 99.0, "name": "a/b"}, {"cpu_number": 1, "total": 5.0, "name": "c"}]);
        let (key, wanted) = convert_value("01");
        assert_eq!(key, "1");
        assert_eq!(matching_items(&stats, "cpu_number", &wanted).unwrap().len(), 1);
        let (_, wanted) = convert_value("99.0");
        assert_eq!(matching_items(&stats, "total", &wanted).unwrap().len(), 0);
        let (_, wanted) = convert_value("a/b");
        assert_eq!(matching_items(&stats, "name", &wanted).unwrap().len(), 1);
        assert!(matching_items(&stats, "missing", &wanted).is_none());
        assert!(matching_items(&json!({"a": 1}), "a", &wanted).is_none());
        assert_eq!(convert_value("99999999999999999999999").0, "99999999999999999999999");
    }

    #[test]
    fn item_lookup() {
        assert_eq!(item_values(&json!({"total": 1.5}), "total"), Some(json!(1.5)));
        assert_eq!(item_values(&json!([{"a": 1}, {"a": 2}]), "a"), Some(json!([1, 2])));
        assert_eq!(item_values(&json!([{"a": 1}, {"b": 2}]), "a"), None);
        assert_eq!(item_values(&json!([]), "a"), Some(json!([])));
        assert_eq!(item_values(&json!("x"), "a"), None);
    }
}
