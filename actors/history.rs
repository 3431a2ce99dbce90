//! Bounded history series (spec §11): per key, at most `history_size`
//! `(local time, value)` points, oldest first.
//!
//! A full history is most of the daemon's heap, so it is kept small:
//! - a plugin stamps every point of one update with the same time, so the
//!   times are kept once per plugin, not once per series, for as long as a
//!   series has a point in every update (one that misses an update keeps
//!   its own times from then on);
//! - a series' values nearly always keep one JSON shape (a number, or the
//!   per-CPU list of quicklook), so the shape is kept once and a point is
//!   only its numbers, 8 bytes each; a value of another shape turns the
//!   series into plain JSON values.

use std::collections::VecDeque;

use indexmap::IndexMap;
use serde_json::{Number, Value};

use crate::json::{write_entries, write_str, write_value};
use crate::timefmt::iso_local;

#[derive(Debug, Default)]
pub struct History {
    capacity: usize,
    /// By key, in first-seen order (Glances' dict order).
    series: IndexMap<String, Series>,
    /// Updates so far; the newest is number `updates`.
    updates: u64,
    /// Times of the last `capacity + 1` updates, newest last: one more than
    /// a series holds, so that a series which has just missed an update
    /// still finds the time of each of its points.
    times: VecDeque<i64>,
    /// The numbers of the value being added (reused).
    scratch: Vec<u64>,
}

#[derive(Debug)]
struct Series {
    len: usize,
    /// The update of the newest point.
    last: u64,
    /// The points' own times, once the series has missed an update.
    own_times: Option<VecDeque<i64>>,
    values: Values,
}

#[derive(Debug)]
enum Values {
    /// Every value has `shape`'s structure: `stride` numbers per point, each
    /// stored as the bits of the i64, u64 or f64 at its place in `shape`.
    Shaped {
        shape: Value,
        stride: usize,
        numbers: VecDeque<u64>,
    },
    Any(VecDeque<Value>),
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
        self.updates += 1;
        push_bounded(&mut self.times, self.capacity + 1, at);
        for (key, value) in points {
            let updates = self.updates;
            let series = self
                .series
                .entry(key)
                .or_insert_with(|| Series::new(&value, updates - 1));
            if series.last == self.updates {
                // The same key twice in one update: two points, one time.
                series.keep_own_times(&self.times, self.updates);
            }
            series.push(self.capacity, self.updates, at, value, &mut self.scratch);
        }
        for series in self.series.values_mut() {
            if series.last != self.updates {
                series.keep_own_times(&self.times, self.updates);
            }
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.series.contains_key(key)
    }

    /// `{key: [[iso time, value], ...]}` for every key (or only `only`),
    /// sliced like Python's `points[-nb:]`, in Glances' JSON style. Written
    /// point by point from the stored numbers: as a tree of JSON values, a
    /// full quicklook history (583 KB of text) took 5.6 MiB more while served.
    pub fn to_bytes(&self, only: Option<&str>, nb: i64) -> Vec<u8> {
        let series = self
            .series
            .iter()
            .filter(|(key, _)| only.is_none_or(|k| k == key.as_str()))
            .map(|(key, series)| (key.as_str(), series));
        // The series of a plugin share their times: each shared time is
        // formatted once per answer, not once per series (strftime costs
        // about as much as the point's JSON).
        let mut shared_iso: Vec<Option<String>> = vec![None; self.times.len()];
        let mut out = Vec::new();
        write_entries(series, &mut out, |series, out| {
            out.push(b'[');
            for (n, i) in (python_tail_start(series.len, nb)..series.len).enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                match &series.own_times {
                    Some(times) => write_str(&iso_local(times[i]), out),
                    None => {
                        let k = series.shared_index(i, self.times.len(), self.updates);
                        write_str(shared_iso[k].get_or_insert_with(|| iso_local(self.times[k])), out);
                    }
                }
                out.push(b',');
                series.values.write(i, out);
                out.push(b']');
            }
            out.push(b']');
        });
        out
    }
}

impl Series {
    /// An empty series shaped like `first`, as if its last point were at
    /// update `last`.
    fn new(first: &Value, last: u64) -> Series {
        let mut numbers = Vec::new();
        numbers_of(first, first, &mut numbers);
        Series {
            len: 0,
            last,
            own_times: None,
            values: Values::Shaped {
                shape: first.clone(),
                stride: numbers.len(),
                numbers: VecDeque::new(),
            },
        }
    }

    fn push(&mut self, capacity: usize, update: u64, at: i64, value: Value, scratch: &mut Vec<u64>) {
        if let Some(times) = &mut self.own_times {
            push_bounded(times, capacity, at);
        }
        self.values.push(capacity, self.len, value, scratch);
        self.len = (self.len + 1).min(capacity);
        self.last = update;
    }

    /// The time of point `i` (0 = oldest); the tests' reading of a series
    /// (serving formats shared times once per answer, see `to_bytes`).
    #[cfg(test)]
    fn time(&self, i: usize, shared: &VecDeque<i64>, updates: u64) -> i64 {
        match &self.own_times {
            Some(times) => times[i],
            None => shared[self.shared_index(i, shared.len(), updates)],
        }
    }

    /// Where the time of point `i` is in the shared window (of `shared_len`
    /// times), for a series that keeps no times of its own.
    fn shared_index(&self, i: usize, shared_len: usize, updates: u64) -> usize {
        let update = self.last - (self.len - 1 - i) as u64;
        let age = usize::try_from(updates - update).unwrap_or(usize::MAX);
        shared_len - 1 - age
    }

    /// Copy the shared times of this series' points, before they leave the
    /// shared window.
    fn keep_own_times(&mut self, shared: &VecDeque<i64>, updates: u64) {
        if self.own_times.is_none() {
            let times = (0..self.len)
                .map(|i| shared[self.shared_index(i, shared.len(), updates)])
                .collect();
            self.own_times = Some(times);
        }
    }
}

impl Values {
    fn push(&mut self, capacity: usize, len: usize, value: Value, scratch: &mut Vec<u64>) {
        if let Values::Shaped { shape, stride, numbers } = self {
            scratch.clear();
            if numbers_of(shape, &value, scratch) {
                if len == capacity {
                    numbers.drain(..*stride);
                }
                reserve_bounded(numbers, *stride, capacity * *stride);
                numbers.extend(scratch.iter());
                return;
            }
            let all: VecDeque<Value> = (0..len).map(|i| self.get(i)).collect();
            *self = Values::Any(all);
        }
        if let Values::Any(values) = self {
            push_bounded(values, capacity, value);
        }
    }

    /// Point `i`'s value.
    fn get(&self, i: usize) -> Value {
        match self {
            Values::Shaped { shape, stride, numbers } => {
                let mut point = numbers.range(i * stride..(i + 1) * stride).copied();
                rebuild(shape, &mut point)
            }
            Values::Any(values) => values[i].clone(),
        }
    }

    /// Point `i`'s value as JSON text, appended to `out`.
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        match self {
            Values::Shaped { shape, stride, numbers } => {
                let mut point = numbers.range(i * stride..(i + 1) * stride).copied();
                write_rebuilt(shape, &mut point, out);
            }
            Values::Any(values) => write_value(&values[i], out),
        }
    }
}

/// Append `value`'s numbers to `out` in document order, if `value` has
/// `shape`'s structure: the same keys, lengths, strings and literals, and
/// numbers of the same kind at the same places.
fn numbers_of(shape: &Value, value: &Value, out: &mut Vec<u64>) -> bool {
    match (shape, value) {
        (Value::Number(s), Value::Number(v)) => match (kind(s), kind(v)) {
            (NumberKind::Signed, NumberKind::Signed) => push_bits(out, v.as_i64().map(|i| i as u64)),
            (NumberKind::Unsigned, NumberKind::Unsigned) => push_bits(out, v.as_u64()),
            (NumberKind::Float, NumberKind::Float) => push_bits(out, v.as_f64().map(f64::to_bits)),
            _ => false,
        },
        (Value::Array(s), Value::Array(v)) => s.len() == v.len() && s.iter().zip(v).all(|(s, v)| numbers_of(s, v, out)),
        (Value::Object(s), Value::Object(v)) => {
            s.len() == v.len()
                && s.iter()
                    .zip(v)
                    .all(|((sk, s), (vk, v))| sk == vk && numbers_of(s, v, out))
        }
        (Value::Number(_), _) | (_, Value::Number(_)) => false,
        (s, v) => s == v,
    }
}

/// Append `bits` when there are any.
fn push_bits(out: &mut Vec<u64>, bits: Option<u64>) -> bool {
    out.extend(bits);
    bits.is_some()
}

/// `shape` with its numbers taken, in order, from `numbers`.
fn rebuild(shape: &Value, numbers: &mut impl Iterator<Item = u64>) -> Value {
    match shape {
        Value::Number(n) => number(n, numbers.next().unwrap_or(0)),
        Value::Array(items) => Value::Array(items.iter().map(|v| rebuild(v, numbers)).collect()),
        Value::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), rebuild(v, numbers))).collect()),
        other => other.clone(),
    }
}

/// The text of [`rebuild`]'s value, without building it.
fn write_rebuilt(shape: &Value, numbers: &mut impl Iterator<Item = u64>, out: &mut Vec<u8>) {
    match shape {
        Value::Number(n) => write_value(&number(n, numbers.next().unwrap_or(0)), out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_rebuilt(item, numbers, out);
            }
            out.push(b']');
        }
        Value::Object(fields) => write_entries(fields.iter().map(|(k, v)| (k.as_str(), v)), out, |v, out| {
            write_rebuilt(v, numbers, out)
        }),
        other => write_value(other, out),
    }
}

/// The number of `shape`'s kind stored as `bits`.
fn number(shape: &Number, bits: u64) -> Value {
    match kind(shape) {
        NumberKind::Signed => Value::from(bits as i64),
        NumberKind::Unsigned => Value::from(bits),
        NumberKind::Float => crate::json::float(f64::from_bits(bits)),
    }
}

enum NumberKind {
    Signed,
    Unsigned,
    Float,
}

fn kind(n: &Number) -> NumberKind {
    if n.is_i64() {
        NumberKind::Signed
    } else if n.is_u64() {
        NumberKind::Unsigned
    } else {
        NumberKind::Float
    }
}

/// Append `item`, dropping the oldest when `bound` items are held.
fn push_bounded<T>(deque: &mut VecDeque<T>, bound: usize, item: T) {
    if deque.len() >= bound {
        deque.pop_front();
    }
    reserve_bounded(deque, 1, bound);
    deque.push_back(item);
}

/// Make room for `extra` more items, growing by doubling but never past
/// `bound` (doubling alone would reach 2048 slots for 1200).
fn reserve_bounded<T>(deque: &mut VecDeque<T>, extra: usize, bound: usize) {
    let len = deque.len();
    if len + extra > deque.capacity() {
        let grow = len.max(8 * extra).min(bound.saturating_sub(len)).max(extra);
        deque.reserve_exact(grow);
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
        assert_eq!(points(&h, "user").len(), 3);
        let v = served(&h, None, 0);
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["user", "system"]);
        assert_eq!(v["user"][0][1], json!(2));
        assert_eq!(v["system"][2][1], json!(0.5));
        assert_eq!(served(&h, Some("user"), 2)["user"].as_array().unwrap().len(), 2);
        assert_eq!(served(&h, Some("user"), -1)["user"].as_array().unwrap().len(), 2);
        assert_eq!(served(&h, Some("user"), 99999)["user"].as_array().unwrap().len(), 3);
        assert_eq!(served(&h, Some("user"), i64::MIN)["user"].as_array().unwrap().len(), 0);
    }

    /// The served text, parsed.
    fn served(h: &History, only: Option<&str>, nb: i64) -> Value {
        serde_json::from_slice(&h.to_bytes(only, nb)).expect("history text is JSON")
    }

    /// Each point's `(time, value)` of `key`.
    fn points(h: &History, key: &str) -> Vec<(i64, Value)> {
        let series = &h.series[key];
        (0..series.len)
            .map(|i| (series.time(i, &h.times, h.updates), series.values.get(i)))
            .collect()
    }

    #[test]
    fn full_series_take_eight_bytes_a_number_and_share_their_times() {
        let mut h = History::new(1200);
        let percpu = |i: i64| {
            json!([
                {"key": "cpu_number", "cpu_number": 0, "total": 12.5 + i as f64, "user": i},
                {"key": "cpu_number", "cpu_number": 1, "total": 0.5, "user": -i},
            ])
        };
        for i in 0..1500 {
            h.add(i, vec![("cpu".into(), json!(1.5)), ("percpu".into(), percpu(i))]);
        }
        assert!(h.series.values().all(|s| s.len == 1200 && s.own_times.is_none()));
        assert!(h.times.capacity() <= 1201);
        let Values::Shaped { stride, numbers, .. } = &h.series[1].values else {
            panic!("percpu kept as values");
        };
        assert_eq!(*stride, 6);
        assert_eq!(numbers.len(), 7200);
        assert!(numbers.capacity() <= 7200);
        assert_eq!(
            h.to_bytes(Some("percpu"), 1),
            crate::json::to_bytes(&json!({"percpu": [[iso_local(1499), percpu(1499)]]}))
        );
        assert_eq!(points(&h, "percpu")[0], (300, percpu(300)));
        assert_eq!(points(&h, "cpu")[1199], (1499, json!(1.5)));
    }

    #[test]
    fn numbers_come_back_exactly_with_their_kind() {
        let mut h = History::new(4);
        let values = [json!(0.1 + 0.2), json!(-7), json!(u64::MAX), json!(1e300), json!(0.0)];
        for (i, v) in values.iter().enumerate() {
            h.add(i as i64, vec![(format!("k{i}"), v.clone())]);
        }
        for (i, v) in values.iter().enumerate() {
            assert_eq!(points(&h, &format!("k{i}")), [(i as i64, v.clone())]);
        }
        assert_eq!(
            h.to_bytes(Some("k0"), 0),
            crate::json::to_bytes(&json!({"k0": [[iso_local(0), 0.1 + 0.2]]}))
        );
    }

    #[test]
    fn a_series_that_misses_updates_keeps_the_time_of_each_point() {
        let mut h = History::new(3);
        h.add(10, vec![("a".into(), json!(1)), ("b".into(), json!(1))]);
        h.add(20, vec![("a".into(), json!(2))]);
        h.add(
            30,
            vec![("a".into(), json!(3)), ("b".into(), json!(3)), ("c".into(), json!(3))],
        );
        for at in [40, 50, 60] {
            let mut points = vec![("b".into(), json!(at)), ("c".into(), json!(at))];
            if at == 60 {
                points.push(("d".into(), json!(at)));
            }
            h.add(at, points);
        }
        assert_eq!(points(&h, "a"), [(10, json!(1)), (20, json!(2)), (30, json!(3))]);
        assert_eq!(points(&h, "b"), [(40, json!(40)), (50, json!(50)), (60, json!(60))]);
        assert_eq!(points(&h, "c"), [(40, json!(40)), (50, json!(50)), (60, json!(60))]);
        assert_eq!(points(&h, "d"), [(60, json!(60))]);
        // The served text gives each point its own time, whether the series
        // keeps its times (a) or shares a window it covers only part of (d).
        let expected: serde_json::Map<String, Value> = ["a", "b", "c", "d"]
            .into_iter()
            .map(|key| {
                let pairs = points(&h, key).into_iter().map(|(at, v)| json!([iso_local(at), v]));
                (key.to_string(), Value::Array(pairs.collect()))
            })
            .collect();
        assert_eq!(served(&h, None, 0), Value::Object(expected));
        assert!(h.series["c"].own_times.is_none());
        assert!(
            h.series
                .values()
                .all(|s| s.own_times.as_ref().is_none_or(|t| t.capacity() <= 3))
        );
        h.add(70, vec![("k".into(), json!(1)), ("k".into(), json!(2))]);
        assert_eq!(points(&h, "k"), [(70, json!(1)), (70, json!(2))]);
    }

    #[test]
    fn a_series_that_changes_shape_keeps_every_point() {
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
        assert!(matches!(h.series[0].values, Values::Any(_)));
        assert_eq!(points(&h, "v"), [(3, json!(2.5)), (4, json!("x")), (5, json!(3))]);
        let mut list = History::new(3);
        list.add(1, vec![("l".into(), json!([1, "x"]))]);
        list.add(2, vec![("l".into(), json!([2, "y"]))]);
        assert!(matches!(list.series[0].values, Values::Any(_)));
        assert_eq!(points(&list, "l"), [(1, json!([1, "x"])), (2, json!([2, "y"]))]);
    }

    #[test]
    fn size_zero_stores_nothing() {
        let mut h = History::new(0);
        h.add(1, vec![("a".into(), json!(1))]);
        assert!(h.series.is_empty() && h.times.is_empty());
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
