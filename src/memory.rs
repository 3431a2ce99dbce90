//! The allocator's side of a small resident set (glibc malloc).
//!
//! glibc gives each thread that allocates its own arena, and raises its
//! mmap threshold as large blocks are freed, after which big buffers (the
//! /all text, a processlist of thousands) stay in a heap that never shrinks;
//! and it returns freed memory in the middle of the heap only when asked.

use std::time::{Duration, Instant};

/// One arena (the work is small and mostly sequential), blocks of 64 KiB
/// or more mapped on their own, so they are returned when freed, and no
/// fastbins: the per-thread cache already serves small blocks, and every
/// page-sized request (reading a /proc file) made malloc consolidate them
/// (5 % of the mesh thread's idle time). Call before any thread starts.
pub fn tune() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets allocator tunables.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_MXFAST, 0);
    }
}

/// Hands freed heap pages back to the kernel, at most once per period:
/// building `/all/views` frees about 1 MiB of small blocks that would
/// otherwise stay resident between requests.
pub struct Trimmer {
    period: Duration,
    last: Instant,
}

impl Trimmer {
    pub fn new(period: Duration) -> Trimmer {
        Trimmer {
            period,
            last: Instant::now(),
        }
    }

    /// Trim if a period has passed since the last trim.
    pub fn maybe_trim(&mut self) {
        if self.last.elapsed() < self.period {
            return;
        }
        self.last = Instant::now();
        #[cfg(target_env = "gnu")]
        // SAFETY: malloc_trim only releases free memory of the allocator.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
