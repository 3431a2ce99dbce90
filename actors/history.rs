//! Bounded history rings (spec §11): per key, at most `history_size`
//! `(local time, value)` points, oldest first.

use std::collections::{HashMap, VecDeque};

use serde_json::{Map, Value};

/// A history value kept small: most are numbers; anything else (the
/// per-CPU list of quicklook) is kept as its JSON text, a fifth of the
/// size of the value tree, and parsed back only when history is asked for.
/// (Boxed twice so that a `Stored` stays 16 bytes.)
#[derive(Debug, Clone)]
enum Stored {
    Int(i64),
    Float(f64),
    #[allow(clippy::box_collection)]
    Text(Box<Vec<u8>>),
}

impl Stored {
    fn from(v: Value) -> Stored {
        match &v {
            Value::Number(n) if n.is_i64() => Stored::Int(n.as_i64().unwrap_or(0)),
            Value::Number(n) if n.is_f64() => Stored::Float(n.as_f64().unwrap_or(0.0)),
            _ => Stored::Text(Box::new(serde_json::to_vec(&v).unwrap_or_default())),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Stored::Int(i) => Value::from(*i),
            Stored::Float(f) => crate::json::float(*f),
            Stored::Text(text) => serde_json::from_slice(text).unwrap_or(Value::Null),
        }
    }
}

/// One series' `(time, value)` points. A series' values nearly always keep
/// one kind, so they are held unboxed, 16 bytes a point instead of 24, until
/// a value of another kind arrives.
#[derive(Debug)]
enum Ring {
    Ints(VecDeque<(i64, i64)>),
    Floats(VecDeque<(i64, f64)>),
    Mixed(VecDeque<(i64, Stored)>),
}

impl Ring {
    fn new(first: &Stored) -> Ring {
        match first {
            Stored::Int(_) => Ring::Ints(VecDeque::new()),
            Stored::Float(_) => Ring::Floats(VecDeque::new()),
            Stored::Text(_) => Ring::Mixed(VecDeque::new()),
        }
    }

    fn push(&mut self, capacity: usize, at: i64, value: Stored) {
        match (&mut *self, value) {
            (Ring::Ints(points), Stored::Int(i)) => push_bounded(points, capacity, (at, i)),
            (Ring::Floats(points), Stored::Float(f)) => push_bounded(points, capacity, (at, f)),
            (Ring::Mixed(points), value) => push_bounded(points, capacity, (at, value)),
            (_, value) => {
                let mut mixed: VecDeque<(i64, Stored)> = self.points().collect();
                mixed.shrink_to_fit();
                push_bounded(&mut mixed, capacity, (at, value));
                *self = Ring::Mixed(mixed);
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Ring::Ints(points) => points.len(),
            Ring::Floats(points) => points.len(),
            Ring::Mixed(points) => points.len(),
        }
    }

    fn points(&self) -> Box<dyn Iterator<Item = (i64, Stored)> + '_> {
        match self {
            Ring::Ints(points) => Box::new(points.iter().map(|&(at, i)| (at, Stored::Int(i)))),
            Ring::Floats(points) => Box::new(points.iter().map(|&(at, f)| (at, Stored::Float(f)))),
            Ring::Mixed(points) => Box::new(points.iter().cloned()),
        }
    }
}

/// Append `point`, dropping the oldest at `capacity`; grow by doubling, but
/// never past the bound (doubling alone would reach 2048 slots for 1200).
fn push_bounded<T>(ring: &mut VecDeque<T>, capacity: usize, point: T) {
    if ring.len() >= capacity {
        ring.pop_front();
    } else if ring.len() == ring.capacity() {
        ring.reserve_exact(ring.len().max(8).min(capacity - ring.len()));
    }
    ring.push_back(point);
}

#[derive(Debug, Default)]
pub struct History {
    capacity: usize,
    /// Keys in first-seen order (Glances' dict order).
    keys: Vec<String>,
    index: HashMap<String, usize>,
    rings: Vec<Ring>,
}

impl History {
    pub fn new(capacity: usize) -> History {
        History {
            capacity,
            ..History::default()
        }
    }

    /// Append one update's points, all stamped `at` (µs since the epoch).
    pub fn add(&mut self, at: i64, points: Vec<(String, Value)>) {
        if self.capacity == 0 {
            return;
        }
        for (key, value) in points {
            let value = Stored::from(value);
            let slot = match self.index.get(&key) {
                Some(&i) => i,
                None => {
                    self.index.insert(key.clone(), self.keys.len());
                    self.keys.push(key);
                    self.rings.push(Ring::new(&value));
                    self.rings.len() - 1
                }
            };
            self.rings[slot].push(self.capacity, at, value);
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Number of points kept for `key`.
    pub fn len(&self, key: &str) -> usize {
        self.index.get(key).map_or(0, |&i| self.rings[i].len())
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// `{key: [[iso time, value], ...]}` for every key (or only `only`),
    /// sliced like Python's `points[-nb:]`.
    pub fn to_json(&self, only: Option<&str>, nb: i64) -> Value {
        let mut out = Map::new();
        for (key, ring) in self.keys.iter().zip(&self.rings) {
            if only.is_some_and(|k| k != key) {
                continue;
            }
            let skip = python_tail_start(ring.len(), nb);
            let points = ring
                .points()
                .skip(skip)
                .map(|(at, v)| Value::Array(vec![crate::timefmt::iso_local(at).into(), v.to_json()]))
                .collect();
            out.insert(key.clone(), Value::Array(points));
        }
        Value::Object(out)
    }
}

/// Start index of `list[-nb:]`: nb = 0 → everything, nb > 0 → the last nb,
/// nb < 0 → all but the first |nb| (Glances' quirk, kept).
pub fn python_tail_start(len: usize, nb: i64) -> usize {
    match nb {
        0 => 0,
        n if n > 0 => len.saturating_sub(usize::try_from(n).unwrap_or(usize::MAX)),
        n => usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX).min(len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bounded_and_ordered() {
        let mut h = History::new(3);
        for i in 0..5 {
            h.add(
                1_700_000_000_000_000 + i,
                vec![("user".into(), json!(i)), ("system".into(), json!(0.5))],
            );
        }
        assert_eq!(h.len("user"), 3);
        let v = h.to_json(None, 0);
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["user", "system"]);
        assert_eq!(v["user"][0][1], json!(2));
        assert_eq!(v["system"][2][1], json!(0.5));
        assert_eq!(h.to_json(Some("user"), 2)["user"].as_array().unwrap().len(), 2);
        assert_eq!(h.to_json(Some("user"), -1)["user"].as_array().unwrap().len(), 2);
        assert_eq!(h.to_json(Some("user"), 99999)["user"].as_array().unwrap().len(), 3);
        assert_eq!(h.to_json(Some("user"), i64::MIN)["user"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn rings_hold_no_more_than_the_bound_and_keep_structured_values() {
        let mut h = History::new(1200);
        let percpu = json!([{"cpu_number": 0, "total": 12.5, "user": 3}]);
        for i in 0..1500 {
            h.add(i, vec![("cpu".into(), json!(1.5)), ("percpu".into(), percpu.clone())]);
        }
        assert!(h.rings.iter().all(|r| r.len() == 1200));
        assert!(matches!(&h.rings[0], Ring::Floats(p) if p.capacity() <= 1200));
        assert!(matches!(&h.rings[1], Ring::Mixed(p) if p.capacity() <= 1200));
        assert_eq!(h.to_json(Some("percpu"), 1)["percpu"][0][1], percpu);
    }

    #[test]
    fn a_mixed_point_stays_small() {
        assert_eq!(std::mem::size_of::<(i64, Stored)>(), 24);
    }

    #[test]
    fn a_series_that_changes_kind_keeps_every_point() {
        let mut h = History::new(3);
        for (at, v) in [
            (1, json!(1)),
            (2, json!(2)),
            (3, json!(2.5)),
            (4, json!("x")),
            (5, json!(3)),
        ] {
            h.add(at, vec![("v".into(), v)]);
        }
        assert!(matches!(h.rings[0], Ring::Mixed(_)));
        let values: Vec<Value> = h.to_json(None, 0)["v"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[1].clone())
            .collect();
        assert_eq!(values, [json!(2.5), json!("x"), json!(3)]);
        let mut ints = History::new(3);
        ints.add(1, vec![("n".into(), json!(7))]);
        assert!(matches!(ints.rings[0], Ring::Ints(_)));
        assert_eq!(ints.to_json(None, 0)["n"][0][1], json!(7));
    }

    #[test]
    fn size_zero_stores_nothing() {
        let mut h = History::new(0);
        h.add(1, vec![("a".into(), json!(1))]);
        assert!(h.is_empty());
    }

    #[test]
    fn tail_start() {
        assert_eq!(python_tail_start(5, 0), 0);
        assert_eq!(python_tail_start(5, 2), 3);
        assert_eq!(python_tail_start(5, 9), 0);
        assert_eq!(python_tail_start(5, -1), 1);
        assert_eq!(python_tail_start(5, -9), 5);
    }
}
