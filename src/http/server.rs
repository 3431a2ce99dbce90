//! The listener: connections are accepted on the thread that serves them,
//! the same thread that runs the mesh.
//!
//! actix-web's `HttpServer` accepts on a thread of its own and hands each
//! connection to its worker through a channel and a wakeup. For a dashboard
//! that opens a connection per request, every poll then wakes two threads
//! from sleep instead of one. Measured per cold request (glint's CPU, one
//! connection each, between ticks), a bare actix-web app cost 204 µs through
//! `HttpServer` and 152 µs accepted here. The app, actix-http's connection
//! handling and its timeouts are the same; what `HttpServer` did besides is
//! done here: the connection limit, stopping on SIGINT/SIGTERM/SIGQUIT and
//! letting open connections finish.

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix_http::Protocol;
use actix_service::{Service, ServiceFactory};
use actix_web::dev::AppConfig;
use actix_web::{App, web};
use futures_util::future::{Either, select};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Semaphore;
use tracing::{info, warn};

use super::{ApiState, handle};

/// Open connections beyond this wait in the listen backlog.
const MAX_CONNECTIONS: usize = 10_000;
/// How long an idle keep-alive connection is kept.
const KEEP_ALIVE: Duration = Duration::from_secs(75);
/// How long a client has to send its request head.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a closing connection waits for the client's side to close.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long open connections may finish after a stop signal.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause after a failed accept (out of descriptors, say), so that the
/// loop neither spins nor floods the log while the condition lasts (as
/// actix-server does).
const ACCEPT_RETRY: Duration = Duration::from_millis(500);

/// Serve `state`'s API on `listener` until a stop signal.
pub async fn run(listener: std::net::TcpListener, state: web::Data<ApiState>) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let app = App::new().app_data(state).default_service(web::to(handle));
    // Request limits are actix-http's own: a request head of at most 32 KiB
    // and 96 headers (431/400 beyond); `handle` answers 414 past MAX_PATH.
    let service = actix_http::HttpService::build()
        .keep_alive(KEEP_ALIVE)
        .client_request_timeout(REQUEST_TIMEOUT)
        .client_disconnect_timeout(DISCONNECT_TIMEOUT)
        .finish(actix_service::map_config(app, |_| AppConfig::default()))
        .new_service(())
        .await
        .map_err(|()| std::io::Error::other("the HTTP service did not start"))?;
    let service = Rc::new(service);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut stop = pin!(stop_signal()?);
    loop {
        let slot = match select(pin!(slots.clone().acquire_owned()), stop.as_mut()).await {
            Either::Left((slot, _)) => slot.expect("the connection slots are never closed"),
            Either::Right(_) => break,
        };
        let accepted = match select(pin!(listener.accept()), stop.as_mut()).await {
            Either::Left((accepted, _)) => accepted,
            Either::Right(_) => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                // Large bodies go out in several writes (see text.rs): without
                // this, Nagle holds the last one until the client's delayed
                // ACK (40 ms).
                let _ = stream.set_nodelay(true);
                let service = Rc::clone(&service);
                actix_web::rt::spawn(async move {
                    // actix-http has answered what it could; a connection's
                    // own failure (reset, timeout) concerns no one else.
                    // The peer address as accept gave it: actix-http's
                    // `tcp()` would ask the kernel again (getpeername).
                    let _ = service.call((stream, Protocol::Http1, Some(peer))).await;
                    drop(slot);
                });
            }
            Err(e) => {
                warn!(error = %e, "cannot accept a connection; retrying shortly");
                actix_web::rt::time::sleep(ACCEPT_RETRY).await;
            }
        }
    }
    drop(listener);
    let all = u32::try_from(MAX_CONNECTIONS).expect("the limit fits");
    if actix_web::rt::time::timeout(SHUTDOWN_TIMEOUT, slots.acquire_many(all))
        .await
        .is_err()
    {
        info!(
            open = MAX_CONNECTIONS - slots.available_permits(),
            "stopping with connections still open"
        );
    }
    Ok(())
}

/// Resolves at the first SIGINT, SIGTERM or SIGQUIT, and says which.
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut quit = signal(SignalKind::quit())?;
    Ok(async move {
        let name = match select(
            pin!(interrupt.recv()),
            select(pin!(terminate.recv()), pin!(quit.recv())),
        )
        .await
        {
            Either::Left(_) => "SIGINT",
            Either::Right((Either::Left(_), _)) => "SIGTERM",
            Either::Right((Either::Right(_), _)) => "SIGQUIT",
        };
        info!(signal = name, "stopping");
    })
}
