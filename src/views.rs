//! Views (spec §12) and the evaluations that feed alert events (§9.2 step 4).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::json::{write_entries, write_str};
use crate::limits::{Level, Limits};

/// One logged evaluation: the event engine's `(level, TYPE, value)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The stat name upper-cased (`CPU_USER`, `MEM`, `FS_/`).
    pub kind: String,
    pub level: Level,
    pub value: f64,
    /// careful/warning/critical in the same scale as `value`, for the
    /// optional hysteresis of the alert actor.
    pub thresholds: Option<[f64; 3]>,
}

/// A non-DEFAULT evaluation, logged or not: what actions are keyed on.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// `<plugin>_<header>` (e.g. `fs_/`, `mem`).
    pub stat: String,
    /// The list element's key value (for `{{field}}` substitution), or "".
    pub item: String,
    pub level: Level,
}

/// What a plugin decided about its fields during one update.
#[derive(Debug, Default)]
pub struct Decorator {
    /// (item key value or "" for dict plugins, field) → decoration text.
    /// item → field → decoration, nested so that a lookup by `&str` needs
    /// no key to be built.
    decorations: HashMap<String, HashMap<String, &'static str>>,
    /// item → hidden fields.
    hidden: HashMap<String, HashSet<String>>,
    pub evaluations: Vec<Evaluation>,
    pub triggers: Vec<Trigger>,
}

impl Decorator {
    /// Evaluate `current` against `<plugin>_<header>` thresholds and decorate
    /// `field` of item `item` (empty for dict plugins). Logged non-DEFAULT
    /// levels become evaluations for the alert actor.
    #[allow(clippy::too_many_arguments)]
    pub fn evaluate(
        &mut self,
        limits: &Limits,
        plugin: &str,
        header: &str,
        item: &str,
        field: &str,
        current: f64,
        maximum: f64,
        log_default: bool,
    ) -> Level {
        let level = limits.level(plugin, header, current, maximum, 0.0);
        let log = limits.log_enabled(plugin, header, log_default);
        self.set(item, field, level, log);
        if level == Level::Default {
            return level;
        }
        let stat = crate::limits::stat_name(plugin, header);
        if log {
            self.evaluations.push(Evaluation {
                kind: stat.to_uppercase(),
                level,
                value: current * 100.0 / maximum,
                thresholds: limits.thresholds(plugin, header),
            });
        }
        self.triggers.push(Trigger {
            stat,
            item: item.to_string(),
            level,
        });
        level
    }

    /// Set a decoration directly (for plugin-specific algorithms).
    pub fn set(&mut self, item: &str, field: &str, level: Level, log: bool) {
        let fields = match self.decorations.get_mut(item) {
            Some(fields) => fields,
            None => self.decorations.entry(item.to_string()).or_default(),
        };
        fields.insert(field.to_string(), level.decoration(log));
    }

    pub fn hide(&mut self, item: &str, field: &str) {
        self.hidden
            .entry(item.to_string())
            .or_default()
            .insert(field.to_string());
    }

    /// A field's decoration and hidden flag (most fields have neither).
    fn decided(&self, item: &str, field: &str) -> (&str, bool) {
        if self.decorations.is_empty() && self.hidden.is_empty() {
            return ("DEFAULT", false);
        }
        let decoration = self.decorations.get(item).and_then(|fields| fields.get(field));
        let hidden = self.hidden.get(item).is_some_and(|fields| fields.contains(field));
        (decoration.copied().unwrap_or("DEFAULT"), hidden)
    }

    fn view(&self, item: &str, field: &str, optional: bool) -> Value {
        let (decoration, hidden) = self.decided(item, field);
        let mut v = Map::with_capacity(6);
        v.insert("decoration".into(), decoration.into());
        v.insert("optional".into(), optional.into());
        v.insert("additional".into(), false.into());
        v.insert("splittable".into(), false.into());
        v.insert("hidden".into(), hidden.into());
        v.insert("_zero".into(), true.into());
        Value::Object(v)
    }

    /// The standard views object: one VIEW per field (dict stats) or per
    /// item and field (list stats keyed by `key`); `{}` for anything else.
    pub fn views(&self, stats: &Value, key: Option<&str>, optional: &[&str]) -> Value {
        let fields = |obj: &Map<String, Value>, item: &str| -> Value {
            Value::Object(
                obj.keys()
                    .map(|f| (f.clone(), self.view(item, f, optional.contains(&f.as_str()))))
                    .collect(),
            )
        };
        match (stats, key) {
            (Value::Object(obj), _) if !obj.is_empty() => fields(obj, ""),
            (Value::Array(items), Some(key)) => {
                let mut out = Map::new();
                for item in items {
                    if let Value::Object(obj) = item {
                        let id = key_text(obj.get(key));
                        out.insert(id.clone(), fields(obj, &id));
                    }
                }
                Value::Object(out)
            }
            _ => Value::Object(Map::new()),
        }
    }
}

impl Decorator {
    /// The text of [`Self::views`], written without building it first: the
    /// processlist's views are a thousand small objects per update.
    pub fn write_views(&self, stats: &Value, key: Option<&str>, optional: &[&str], out: &mut Vec<u8>) {
        match (stats, key) {
            (Value::Object(obj), _) if !obj.is_empty() => self.write_fields(obj, "", optional, out),
            (Value::Array(items), Some(key)) => {
                // An id seen twice keeps its first place and its last item,
                // as inserting into the JSON object does.
                let mut order: Vec<(String, &Map<String, Value>)> = Vec::with_capacity(items.len());
                let mut index: HashMap<String, usize> = HashMap::with_capacity(items.len());
                for obj in items.iter().filter_map(Value::as_object) {
                    let id = key_text(obj.get(key));
                    match index.get(&id) {
                        Some(&i) => order[i].1 = obj,
                        None => {
                            index.insert(id.clone(), order.len());
                            order.push((id, obj));
                        }
                    }
                }
                let items = order.iter().map(|(id, obj)| (id.as_str(), (id.as_str(), *obj)));
                // An item with no decoration or hidden field has the same
                // text as the last such item with the same fields: copy it
                // (processlist's views are a 1.7 KB block per process, the
                // same for every one).
                let mut last_plain: Option<(std::ops::Range<usize>, &Map<String, Value>)> = None;
                write_entries(items, out, |(id, obj), out| {
                    let plain = !self.decorations.contains_key(id) && !self.hidden.contains_key(id);
                    if let Some((text, fields)) = last_plain.as_ref().filter(|_| plain)
                        && fields.keys().eq(obj.keys())
                    {
                        out.extend_from_within(text.clone());
                        return;
                    }
                    let start = out.len();
                    self.write_fields(obj, id, optional, out);
                    if plain {
                        last_plain = Some((start..out.len(), obj));
                    }
                });
            }
            _ => out.extend_from_slice(b"{}"),
        }
    }

    fn write_fields(&self, obj: &Map<String, Value>, item: &str, optional: &[&str], out: &mut Vec<u8>) {
        write_entries(obj.keys().map(|f| (f.as_str(), f.as_str())), out, |field, out| {
            let (decoration, hidden) = self.decided(item, field);
            out.extend_from_slice(b"{\"decoration\":");
            write_str(decoration, out);
            out.extend_from_slice(if optional.contains(&field) {
                b",\"optional\":true"
            } else {
                b",\"optional\":false"
            });
            out.extend_from_slice(b",\"additional\":false,\"splittable\":false,\"hidden\":");
            out.extend_from_slice(if hidden { b"true" } else { b"false" });
            out.extend_from_slice(b",\"_zero\":true}");
        });
    }
}

/// A key value as text, the way Glances builds views and history keys.
pub fn key_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "None".into(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dict_views_have_six_keys_in_order() {
        let d = Decorator::default();
        let v = d.views(&json!({"a": 1, "nice": 2}), None, &["nice"]);
        assert_eq!(
            crate::json::to_bytes(&v),
            br#"{"a":{"decoration":"DEFAULT","optional":false,"additional":false,"splittable":false,"hidden":false,"_zero":true},"nice":{"decoration":"DEFAULT","optional":true,"additional":false,"splittable":false,"hidden":false,"_zero":true}}"#
        );
    }

    #[test]
    fn list_views_are_keyed_by_item() {
        let mut d = Decorator::default();
        d.set("0", "user", Level::Warning, true);
        let v = d.views(
            &json!([{"cpu_number": 0, "user": 80.0}, {"cpu_number": 1, "user": 1.0}]),
            Some("cpu_number"),
            &[],
        );
        assert_eq!(v["0"]["user"]["decoration"], "WARNING_LOG");
        assert_eq!(v["1"]["user"]["decoration"], "DEFAULT");
        assert_eq!(d.views(&json!("12:00"), None, &[]), json!({}));
    }

    #[test]
    fn written_views_are_the_built_views() {
        let mut d = Decorator::default();
        d.set("1", "cpu_percent", Level::Critical, true);
        d.hide("2", "name");
        d.set("7", "name", Level::Warning, false);
        // Plain items with the same fields share a text; 5 has them in
        // another order, 6 has one more, 7 is decorated.
        let stats = json!([
            {"pid": 1, "cpu_percent": 99.0, "name": "a/b"},
            {"pid": 2, "cpu_percent": 0.0, "name": "é"},
            {"pid": 1, "cpu_percent": 1.0, "name": "dup", "extra": 1},
            {"no_key": true},
            {"pid": 3, "cpu_percent": 2.0, "name": "c"},
            {"pid": 4, "cpu_percent": 3.0, "name": "d"},
            {"pid": 5, "name": "e", "cpu_percent": 4.0},
            {"pid": 6, "name": "f", "cpu_percent": 5.0, "nice": 0},
            {"pid": 7, "cpu_percent": 6.0, "name": "g"},
            {"pid": 8, "cpu_percent": 7.0, "name": "h"}
        ]);
        for (stats, key) in [
            (&stats, Some("pid")),
            (&json!({"total": 1.0, "nice": 2}), None),
            (&json!({}), None),
            (&json!([]), Some("pid")),
            (&json!(12), None),
        ] {
            let mut written = Vec::new();
            d.write_views(stats, key, &["nice"], &mut written);
            assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(crate::json::to_bytes(&d.views(stats, key, &["nice"]))).unwrap()
            );
        }
    }
}
