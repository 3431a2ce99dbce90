//! One actor per enabled plugin: it collects when told, off the actor thread
//! unless quick, and hands each sample to the aggregator. A [`Ticker`] per
//! refresh period tells its plugins when.

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tracing::{debug, error, warn};

use super::aggregator::{Aggregator, Update};
use crate::collect::{Plugin, sample};
use crate::limits::Limits;

/// Builds (and, after a panic, rebuilds) the plugin's collector.
pub type Factory = Arc<dyn Fn() -> Box<dyn Plugin> + Send + Sync>;

pub struct PluginActor {
    name: &'static str,
    factory: Factory,
    /// `None` while a collection runs on the blocking pool.
    plugin: Option<Box<dyn Plugin>>,
    refresh: Duration,
    limits: Arc<Limits>,
    aggregator: Addr<Aggregator>,
    /// When the collection in flight started, to report a stuck collector once.
    busy_since: Option<Instant>,
    stuck_reported: bool,
    /// Collects after the plugin it follows, not at the first start.
    following: bool,
    /// Told to collect after each of this plugin's samples.
    followers: Vec<Addr<PluginActor>>,
}

/// Collect now: sent by the plugin's [`Ticker`], or by the plugin this one
/// follows once it has delivered a sample (processlist mirrors the table
/// that processcount's scan publishes, so it must collect right after that
/// scan, not at the same tick as it).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Collect;

impl PluginActor {
    pub fn new(
        name: &'static str,
        factory: Factory,
        refresh: Duration,
        limits: Arc<Limits>,
        aggregator: Addr<Aggregator>,
    ) -> PluginActor {
        PluginActor {
            name,
            plugin: Some(factory()),
            factory,
            refresh,
            limits,
            aggregator,
            busy_since: None,
            stuck_reported: false,
            following: false,
            followers: Vec::new(),
        }
    }

    /// Collect only when told by the plugin it follows (it gets no ticker).
    pub fn following(mut self) -> PluginActor {
        self.following = true;
        self
    }

    pub fn with_follower(mut self, follower: Addr<PluginActor>) -> PluginActor {
        self.followers.push(follower);
        self
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let Some(mut plugin) = self.plugin.take() else {
            // The previous collection is still running: skip this tick
            // rather than pile up work; say so once per stall.
            let late = self.busy_since.map(|t| t.elapsed()).unwrap_or_default();
            if !self.stuck_reported && late > self.refresh * 2 {
                warn!(
                    plugin = self.name,
                    seconds = late.as_secs_f64(),
                    "collection is slow; skipping refreshes until it returns"
                );
                self.stuck_reported = true;
            }
            return;
        };
        if plugin.quick() {
            self.collect_here(plugin);
            return;
        }
        self.busy_since = Some(Instant::now());
        let limits = Arc::clone(&self.limits);
        let job = actix_web::rt::task::spawn_blocking(move || {
            let s = sample(plugin.as_mut(), &limits);
            (plugin, s)
        });
        ctx.spawn(actix::fut::wrap_future::<_, Self>(job).map(|result, act, _ctx| {
            act.busy_since = None;
            act.stuck_reported = false;
            match result {
                Ok((plugin, sample)) => act.deliver(plugin, sample),
                Err(e) => act.restart(&e.to_string()),
            }
        }));
    }

    /// Cheap collectors run on the actor thread: no thread hop per refresh.
    fn collect_here(&mut self, mut plugin: Box<dyn Plugin>) {
        let limits = &self.limits;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sample(plugin.as_mut(), limits))) {
            Ok(sample) => self.deliver(plugin, sample),
            Err(_) => self.restart("panic"),
        }
    }

    fn deliver(&mut self, plugin: Box<dyn Plugin>, sample: crate::collect::Sample) {
        self.plugin = Some(plugin);
        self.aggregator.do_send(Update {
            plugin: self.name,
            sample,
            at: crate::timefmt::now_micros(),
        });
        self.followers.iter().for_each(|f| f.do_send(Collect));
    }

    /// The collector panicked: rebuild it from its config so the plugin
    /// keeps refreshing.
    fn restart(&mut self, why: &str) {
        error!(plugin = self.name, error = why, "collector panicked; restarting it");
        self.plugin = Some((self.factory)());
    }
}

/// Tells the plugins of one refresh period to collect, at each boundary of
/// the period (wall clock, at start): plugins sharing a period tick
/// together. One timer per period rather than per plugin, and a timerfd
/// rather than a tokio timer: tokio's timer wheel wakes the thread early at
/// each coarser slot boundary on the way to a 2 s deadline (two or three
/// wake-ups per tick), and fires timers outside the actors' task set, so
/// each timer costs a self-wake as well. The timerfd wakes the thread once,
/// at the tick.
pub struct Ticker {
    period: Duration,
    plugins: Vec<Addr<PluginActor>>,
    /// False only where a test takes the fallback path.
    try_timerfd: bool,
}

impl Ticker {
    pub fn new(period: Duration, plugins: Vec<Addr<PluginActor>>) -> Ticker {
        Ticker {
            period,
            plugins,
            try_timerfd: true,
        }
    }

    /// Tick as where no timerfd can be had.
    #[cfg(test)]
    fn without_timerfd(mut self) -> Ticker {
        self.try_timerfd = false;
        self
    }

    fn tell_plugins(&self) {
        self.plugins.iter().for_each(|p| p.do_send(Collect));
    }

    /// The fallback where no timerfd can be had: a tokio timer per tick.
    fn schedule(&self, ctx: &mut Context<Self>) {
        ctx.run_later(until_next_boundary(self.period), |act, ctx| {
            act.tell_plugins();
            act.schedule(ctx);
        });
    }
}

impl Actor for Ticker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let timer = if self.try_timerfd {
            tick_timer(self.period)
        } else {
            Err(std::io::Error::other("not tried"))
        };
        match timer {
            Ok(timer) => {
                ctx.add_stream(futures_util::stream::unfold(timer, |timer| async move {
                    let expired = expirations(&timer).await;
                    Some((expired, timer))
                }));
            }
            Err(e) => {
                warn!(error = %e, "no timerfd; ticking with a runtime timer");
                self.schedule(ctx);
            }
        }
    }
}

/// One expiry (or several, if the thread was held up) of a tick timer.
struct Expired;

impl StreamHandler<Expired> for Ticker {
    fn handle(&mut self, _: Expired, _ctx: &mut Context<Self>) {
        self.tell_plugins();
    }
}

/// How long after a period's boundary the ticks come. Exactly on the
/// boundary, idle cost was both higher and more scattered in 40 s runs
/// here (738–911 µs/s in six, against 715–774 in eight at 2 ms): other
/// periodic work wakes on whole seconds too, and competes for the same
/// caches and cores.
const PAST_THE_BOUNDARY: Duration = Duration::from_millis(2);

/// A timerfd, for tokio to poll.
struct TickFd(TimerFd);

impl AsRawFd for TickFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A non-blocking timerfd that first expires just past the next boundary
/// of `period`, then every `period` after (monotonic: a step of the wall
/// clock neither stalls nor bunches the ticks).
fn tick_timer(period: Duration) -> std::io::Result<AsyncFd<TickFd>> {
    let timer = TimerFd::new(
        ClockId::CLOCK_MONOTONIC,
        TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
    )?;
    timer.set(
        Expiration::IntervalDelayed(
            TimeSpec::from_duration(until_next_boundary(period) + PAST_THE_BOUNDARY),
            TimeSpec::from_duration(period),
        ),
        TimerSetTimeFlags::empty(),
    )?;
    // SAFETY: TickFd owns the timer and always gives its one descriptor.
    unsafe { AsyncFd::register_with_interest(TickFd(timer), Interest::READABLE) }.map_err(|e| e.into_parts().1)
}

/// Wait for the timer to expire and consume its expiry count.
async fn expirations(timer: &AsyncFd<TickFd>) -> Expired {
    loop {
        let Ok(mut ready) = timer.readable().await else {
            // The runtime is shutting down: stand still.
            return std::future::pending().await;
        };
        match ready.get_inner().0.wait() {
            Ok(()) => return Expired,
            Err(_) => ready.clear_ready(),
        }
    }
}

/// Time until the next `k × period` since the epoch, at least half a period
/// away (so a tick never follows the previous one too closely).
fn until_next_boundary(period: Duration) -> Duration {
    let period_ns = period.as_nanos().max(1);
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut wait = period_ns - now_ns % period_ns;
    if wait < period_ns / 2 {
        wait += period_ns;
    }
    Duration::from_nanos(u64::try_from(wait).unwrap_or(u64::MAX))
}

impl Actor for PluginActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        debug!(
            plugin = self.name,
            refresh = self.refresh.as_secs_f64(),
            "plugin actor started"
        );
        // The first collection, at once: a ticker only starts at the next
        // boundary.
        if !self.following {
            self.tick(ctx);
        }
    }
}

impl Handler<Collect> for PluginActor {
    type Result = ();

    fn handle(&mut self, _msg: Collect, ctx: &mut Context<Self>) {
        self.tick(ctx);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::{Value, json};

    use super::*;
    use crate::actors::aggregator::{Query, UpdateCount};

    static BUILT: AtomicUsize = AtomicUsize::new(0);

    /// Panics on its first collection only.
    struct Fragile {
        calls: usize,
    }

    impl Plugin for Fragile {
        fn name(&self) -> &'static str {
            "load"
        }

        fn collect(&mut self) -> Value {
            self.calls += 1;
            if BUILT.load(Ordering::SeqCst) == 1 && self.calls == 1 {
                panic!("collector bug");
            }
            json!({"min1": 1.0})
        }
    }

    #[test]
    fn a_panicking_collector_is_rebuilt_and_keeps_refreshing() {
        actix::System::new().block_on(async {
            let aggregator = Aggregator::new(vec![("load", true, Limits::default())], 10, true).start();
            let factory: Factory = Arc::new(|| {
                BUILT.fetch_add(1, Ordering::SeqCst);
                Box::new(Fragile { calls: 0 })
            });
            let period = Duration::from_millis(50);
            let plugin = PluginActor::new("load", factory, period, Arc::new(Limits::default()), aggregator.clone());
            Ticker::new(period, vec![plugin.start()]).start();
            // Poll: the machine may be busy with other tests.
            for _ in 0..100 {
                if aggregator.send(UpdateCount("load")).await.unwrap() >= 2 {
                    break;
                }
                actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(BUILT.load(Ordering::SeqCst) >= 2, "rebuilt after the panic");
            assert!(
                aggregator.send(UpdateCount("load")).await.unwrap() >= 2,
                "still updating"
            );
            let reply = aggregator.send(Query::Plugin("load".into())).await.unwrap().unwrap();
            assert_eq!(&reply.body.to_bytes()[..], br#"{"min1":1.0}"#);
        });
    }

    struct Steady;

    impl Plugin for Steady {
        fn name(&self) -> &'static str {
            "load"
        }

        fn quick(&self) -> bool {
            true
        }

        fn collect(&mut self) -> Value {
            json!({"min1": 0.5})
        }
    }

    #[test]
    fn without_a_timerfd_the_runtime_timer_ticks() {
        actix::System::new().block_on(async {
            let aggregator = Aggregator::new(vec![("load", true, Limits::default())], 10, true).start();
            let factory: Factory = Arc::new(|| Box::new(Steady));
            let period = Duration::from_millis(50);
            let plugin = PluginActor::new("load", factory, period, Arc::new(Limits::default()), aggregator.clone());
            Ticker::new(period, vec![plugin.start()]).without_timerfd().start();
            // One sample at start, then one per tick: three means two ticks.
            let mut updates = 0;
            for _ in 0..100 {
                updates = aggregator.send(UpdateCount("load")).await.unwrap();
                if updates >= 3 {
                    break;
                }
                actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(updates >= 3, "{updates} samples in 5 s at a 50 ms period");
        });
    }
}
