use std::{
    cell::Cell,
    fmt::{self, Write},
    time::{Duration, Instant, SystemTime},
};

/// "Thu, 01 Jan 1970 00:00:00 GMT".len()
pub(crate) const DATE_VALUE_LENGTH: usize = 29;

#[derive(Clone, Copy)]
pub(crate) struct Date {
    pub(crate) bytes: [u8; DATE_VALUE_LENGTH],
    pos: usize,
}

impl Date {
    fn new() -> Date {
        let mut date = Date {
            bytes: [0; DATE_VALUE_LENGTH],
            pos: 0,
        };
        date.update();
        date
    }

    fn update(&mut self) {
        self.pos = 0;
        write!(self, "{}", httpdate::HttpDate::from(SystemTime::now())).unwrap();
    }
}

impl fmt::Write for Date {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let len = s.len();
        self.bytes[self.pos..self.pos + len].copy_from_slice(s.as_bytes());
        self.pos += len;
        Ok(())
    }
}

/// The current Date header value and Instant, refreshed when read.
///
/// glint patch: upstream refreshes them from a task woken every 500 ms on
/// each worker. That timer cost an idle daemon four thread wake-ups a
/// second (tokio's timer wheel wakes once early, then at the deadline): on
/// the 2-vCPU development VM, 0.04-0.10 % of a core (28-51 % of glint's
/// idle cost in two alternating runs). Here the date text is still
/// re-formatted at most every 500 ms, but only when a response needs it.
pub(crate) struct DateService {
    /// The date text, and the wall-clock time it was formatted at.
    current: Cell<(Date, SystemTime)>,
}

impl DateService {
    pub(crate) fn new() -> Self {
        DateService {
            current: Cell::new((Date::new(), SystemTime::now())),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::now()
    }

    pub(crate) fn with_date<F: FnMut(&Date)>(&self, mut f: F) {
        let (mut date, formatted_at) = self.current.get();
        let now = SystemTime::now();
        let fresh = now
            .duration_since(formatted_at)
            .is_ok_and(|age| age < Duration::from_millis(500));
        if !fresh {
            date = Date::new();
            self.current.set((date, now));
        }
        f(&date);
    }
}

impl fmt::Debug for DateService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DateService").finish_non_exhaustive()
    }
}
