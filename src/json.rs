//! The JSON text style Glances 3.4.0.5 serves (spec §2.1, "Encoder A", as
//! produced by ujson): compact, keys in insertion order, every non-ASCII
//! character and `/` escaped, floats in Python's shortest round-trip form.
//!
//! serde_json's own writer differs on `/`, non-ASCII and float text, so
//! values are written here by hand.

use serde_json::{Map, Number, Value};

/// Serialise `value` in Glances' style.
pub fn to_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out);
    out
}

/// Append `value` in Glances' style to `out`.
pub fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(map, out),
    }
}

fn write_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    write_entries(map.iter().map(|(k, v)| (k.as_str(), v)), out, write_value);
}

/// `{"key":<value>,...}`, each value written by `write_value`.
pub fn write_entries<'a, V>(
    entries: impl IntoIterator<Item = (&'a str, V)>,
    out: &mut Vec<u8>,
    mut write_value: impl FnMut(V, &mut Vec<u8>),
) {
    out.push(b'{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(key, out);
        out.push(b':');
        write_value(value, out);
    }
    out.push(b'}');
}

fn write_number(n: &Number, out: &mut Vec<u8>) {
    if let Some(i) = n.as_i64() {
        out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
    } else if let Some(u) = n.as_u64() {
        out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
    } else {
        write_float(n.as_f64().unwrap_or(f64::NAN), out);
    }
}

/// A float as ujson writes it, appended to `out`: Python's shortest
/// round-trip digits, always with a `.` or an exponent, exponent form below
/// 1e-4 and from 1e16, and no zero padding in the exponent (`2.5e-5`,
/// `1e+16`).
fn write_float(x: f64, out: &mut Vec<u8>) {
    use std::io::Write as _;
    // Writes into a Vec cannot fail.
    if x.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 { b"Infinity" } else { b"-Infinity" });
    } else if x == 0.0 {
        out.extend_from_slice(if x.is_sign_negative() { b"-0.0" } else { b"0.0" });
    } else if (1e-4..1e16).contains(&x.abs()) {
        // ryu gives the shortest round-trip digits, and in this range it
        // writes them in plain notation with at least one decimal.
        out.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes());
    } else {
        // `{:e}` gives them as "d.ddde<exp>".
        let sci = format!("{x:e}");
        let (mantissa, exp) = sci.split_once('e').expect("exponent form");
        let exp: i32 = exp.parse().expect("exponent digits");
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "{mantissa}e{sign}{}", exp.abs());
    }
}

/// [`write_float`] as a String (limit values in `/api/3/<plugin>/limits`
/// and the config's echo use it).
pub fn py_float(x: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_float(x, &mut out);
    String::from_utf8(out).expect("float text is ASCII")
}

/// Write a JSON string with ujson's escapes: `\/`, `\uXXXX` for non-ASCII
/// and control characters (short escapes where they exist).
pub fn write_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Runs of printable ASCII are copied whole; only the rest is looked at
    // character by character.
    let mut plain_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if (0x20..=0x7f).contains(&b) && !matches!(b, b'"' | b'\\' | b'/') {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[plain_from..i]);
        let c = s[i..].chars().next().expect("i is on a char boundary");
        write_escaped(c, out);
        i += c.len_utf8();
        plain_from = i;
    }
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
}

/// One character that needs an escape in ujson's style.
fn write_escaped(c: char, out: &mut Vec<u8>) {
    use std::io::Write as _;
    match c {
        '"' => out.extend_from_slice(b"\\\""),
        '\\' => out.extend_from_slice(b"\\\\"),
        '/' => out.extend_from_slice(b"\\/"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        '\u{8}' => out.extend_from_slice(b"\\b"),
        '\u{c}' => out.extend_from_slice(b"\\f"),
        c => {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
}

/// A float value for stats (serde_json refuses NaN; Glances never sends it
/// for the fields we produce, so NaN becomes 0.0).
pub fn float(x: f64) -> Value {
    Value::Number(Number::from_f64(x).unwrap_or_else(|| Number::from_f64(0.0).unwrap()))
}

/// Round like Python's `round(x, digits)` for the small digit counts used here.
pub fn round_to(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    let r = (x * scale).round() / scale;
    // Python rounds half to even on the decimal representation; the
    // difference only shows on exact .x5 ties, which ratios of counters
    // essentially never hit.
    if r.is_finite() { r } else { x }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_match_ujson() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (28800.0, "28800.0"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (123456789.123, "123456789.123"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1.2345678901234567e19, "1.2345678901234567e+19"),
            (2.5e-5, "2.5e-5"),
            (1e-7, "1e-7"),
            (3e-5, "3e-5"),
            (0.0001, "0.0001"),
            (274.98479199409485, "274.98479199409485"),
            // Exactly ...795.25: the tie rounds half to even, as Python's repr does.
            (1_885_730_092_677_795.3, "1885730092677795.2"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (x, want) in cases {
            assert_eq!(py_float(x), want, "{x}");
        }
    }

    #[test]
    fn strings_escape_like_ujson() {
        let v = json!({"mnt_point": "/", "s": "Debian GNU/Linux 12", "u": "é😀", "c": "\u{1}\n\t\u{7f}<>&\"\\"});
        let text = String::from_utf8(to_bytes(&v)).unwrap();
        assert_eq!(
            text,
            r#"{"mnt_point":"\/","s":"Debian GNU\/Linux 12","u":"\u00e9\ud83d\ude00","c":"\u0001\n\t<>&\"\\"}"#
                .replace("\\t<", "\\t\u{7f}<")
        );
    }

    #[test]
    fn numbers_in_values_are_written_like_ujson() {
        let cases = [
            (1e-4, "0.0001"),
            (9.99e-5, "9.99e-5"),
            (1e16, "1e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (-2.5, "-2.5"),
            (-1e-300, "-1e-300"),
            // serde_json has no NaN: `float` stores 0.0.
            (f64::NAN, "0.0"),
        ];
        for (x, want) in cases {
            assert_eq!(to_bytes(&float(x)), want.as_bytes(), "{x}");
        }
        assert_eq!(
            to_bytes(&json!([-3, u64::MAX])),
            format!("[-3,{}]", u64::MAX).as_bytes()
        );
    }

    #[test]
    fn plain_runs_and_escapes_interleave() {
        let v = json!("a/b\"c\u{80}d\u{7f}~ é");
        assert_eq!(to_bytes(&v), b"\"a\\/b\\\"c\\u0080d\x7f~ \\u00e9\"");
        assert_eq!(to_bytes(&json!("")), b"\"\"");
    }

    proptest::proptest! {
        /// Over the whole plain range: plain notation with a decimal, the
        /// same value read back, and no more digits than Rust's shortest
        /// round-trip `{}` (which breaks exact ties upwards where ryu and
        /// Python round half to even).
        #[test]
        fn plain_floats_are_shortest_round_trip_digits(x in 1e-4f64..1e16, negative: bool) {
            let x = if negative { -x } else { x };
            let text = py_float(x);
            proptest::prop_assert!(text.contains('.') && !text.contains('e'), "{}", text);
            proptest::prop_assert_eq!(text.parse::<f64>().unwrap(), x);
            let digits = |t: &str| t.trim_end_matches(".0").bytes().filter(u8::is_ascii_digit).count();
            proptest::prop_assert!(digits(&text) <= digits(&format!("{x}")), "{} vs {}", text, x);
        }

        #[test]
        fn integers_are_plain_digits(i: i64, u: u64) {
            proptest::prop_assert_eq!(to_bytes(&json!(i)), i.to_string().into_bytes());
            proptest::prop_assert_eq!(to_bytes(&json!(u)), u.to_string().into_bytes());
        }
    }

    #[test]
    fn compact_and_ordered() {
        let v = json!({"z": 1, "a": [1, 2.5, null, true], "m": {"k": false}});
        assert_eq!(to_bytes(&v), br#"{"z":1,"a":[1,2.5,null,true],"m":{"k":false}}"#);
    }
}
