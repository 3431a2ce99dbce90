//! Local-time formatting through libc, which (unlike chrono) prints the
//! zone abbreviation for `%Z` the way Python's `strftime` does.

use std::time::{SystemTime, UNIX_EPOCH};

fn local_tm(secs: i64) -> libc::tm {
    // SAFETY: localtime_r only writes into the zeroed struct we own.
    unsafe {
        let t: libc::time_t = secs as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        tm
    }
}

/// `strftime(fmt)` of the local time at `secs` since the epoch.
pub fn strftime(fmt: &str, secs: i64) -> String {
    let Ok(cfmt) = std::ffi::CString::new(fmt) else {
        return String::new();
    };
    let tm = local_tm(secs);
    let mut buf = vec![0u8; 256 + fmt.len() * 8];
    // SAFETY: buf is writable for its length; strftime NUL-terminates and
    // returns the number of bytes written (0 when it does not fit).
    let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), &tm) };
    buf.truncate(n);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Microseconds since the epoch, now.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Python's `datetime.isoformat()` of a local naive time: the fraction is
/// left out when the microsecond is exactly 0.
pub fn iso_local(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let base = strftime("%Y-%m-%dT%H:%M:%S", secs);
    if frac == 0 { base } else { format!("{base}.{frac:06}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_format_drops_zero_fraction() {
        let a = iso_local(1_700_000_000_000_000);
        assert_eq!(a.len(), 19, "{a}");
        let b = iso_local(1_700_000_000_000_042);
        assert!(b.ends_with(".000042"), "{b}");
        assert!(b.starts_with(&a));
    }
}
