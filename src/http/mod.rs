//! The HTTP layer: Glances' routes, status codes, headers, error pages and
//! deflate. It never reads /proc: stats come from the aggregator by message.

pub mod auth;
mod deflate;
pub mod error;
pub mod route;
pub mod server;

use actix::Addr;
use actix_web::http::{Method, StatusCode, header};
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use serde_json::{Map, Value};

use crate::actors::aggregator::{Aggregator, ApiError};
use crate::text::Text;
use route::Route;

/// What the handlers need besides the aggregator: the static bodies and
/// the access policy.
pub struct ApiState {
    pub aggregator: Addr<Aggregator>,
    pub config: Value,
    pub args: Value,
    pub help: Bytes,
    /// Basic auth, when a password is configured.
    pub auth: Option<auth::Auth>,
    /// `[outputs] cors_origins`; `None` means Glances' `*` for everyone.
    pub cors_origins: Option<Vec<String>>,
    /// `[outputs] allowed_hosts` (Host header names, against DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// The listening address, for error pages of requests without a Host.
    listening: std::net::SocketAddr,
    /// Until when the first requests wait for every plugin's first sample
    /// (`None`: they do not wait).
    first_samples_by: Option<std::time::Instant>,
    /// Every plugin had its first sample (or the wait ran out): from then on
    /// a request checks one flag.
    has_first_samples: std::sync::atomic::AtomicBool,
}

impl ApiState {
    pub fn new(
        aggregator: Addr<Aggregator>,
        config: &crate::config::Config,
        args: Value,
        help: &Value,
        auth: Option<auth::Auth>,
        listening: std::net::SocketAddr,
    ) -> ApiState {
        let origins = config.get_list("outputs", "cors_origins");
        ApiState {
            aggregator,
            config: config_json(config),
            args,
            help: Bytes::from(crate::json::to_bytes(help)),
            auth,
            cors_origins: (!origins.is_empty()).then_some(origins),
            first_samples_by: None,
            has_first_samples: std::sync::atomic::AtomicBool::new(false),
            listening,
            allowed_hosts: config
                .get_list("outputs", "allowed_hosts")
                .into_iter()
                .map(|h| h.to_lowercase())
                .collect(),
        }
    }

    /// Make the first requests wait (at most `limit`) until every enabled
    /// plugin has a sample, as Glances answers after its start-up update.
    pub fn waiting_for_first_samples(mut self, limit: std::time::Duration) -> ApiState {
        self.first_samples_by = Some(std::time::Instant::now() + limit);
        self
    }

    async fn first_samples(&self) {
        use std::sync::atomic::Ordering;
        let Some(by) = self.first_samples_by else {
            return;
        };
        if self.has_first_samples.load(Ordering::Relaxed) {
            return;
        }
        let left = by.saturating_duration_since(std::time::Instant::now());
        crate::daemon::first_samples(&self.aggregator, left).await;
        self.has_first_samples.store(true, Ordering::Relaxed);
    }

    /// The `Access-Control-Allow-Origin` value for this request, and
    /// whether credentials may be allowed with it.
    fn allowed_origin(&self, req: &HttpRequest) -> Option<(String, bool)> {
        let Some(origins) = &self.cors_origins else {
            return Some(("*".into(), false));
        };
        let origin = req.headers().get(header::ORIGIN)?.to_str().ok()?;
        if origins.iter().any(|o| o == origin) {
            // An explicitly listed origin may send credentials; never `*`.
            Some((origin.to_string(), self.auth.is_some()))
        } else if origins.iter().any(|o| o == "*") {
            Some(("*".into(), false))
        } else {
            None
        }
    }

    fn host_allowed(&self, req: &HttpRequest) -> bool {
        if self.allowed_hosts.is_empty() {
            return true;
        }
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        // Strip the port (IPv6 literals keep their brackets).
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.ends_with(':') => name,
            _ => host,
        };
        self.allowed_hosts.iter().any(|h| h == &name.to_lowercase())
    }
}

/// Key names whose values are never served (`/api/3/config`).
fn is_secret(key: &str) -> bool {
    let k = key.to_lowercase();
    ["password", "passwd", "token", "secret", "api_key", "apikey"]
        .iter()
        .any(|s| k.contains(s))
}

/// `/api/3/config`: every section → option → raw string, secrets redacted.
pub fn config_json(config: &crate::config::Config) -> Value {
    let mut out = Map::new();
    for section in &config.sections {
        let redact_all = section.name == "passwords";
        let options: Map<String, Value> = section
            .options
            .iter()
            .map(|(k, v)| {
                let value = if redact_all || is_secret(k) {
                    "********"
                } else {
                    v.as_str()
                };
                (k.clone(), Value::from(value))
            })
            .collect();
        out.insert(section.name.clone(), Value::Object(options));
    }
    Value::Object(out)
}

const ALLOW_METHODS: (&str, &str) = ("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS");
const ALLOW_HEADERS: (&str, &str) = (
    "Access-Control-Allow-Headers",
    "Origin, Accept, Content-Type, X-Requested-With, X-CSRF-Token",
);

/// Glances' three CORS headers, with glint's origin policy.
fn cors_headers(builder: &mut HttpResponseBuilder, state: &ApiState, req: &HttpRequest) {
    if let Some((origin, credentials)) = state.allowed_origin(req) {
        builder.insert_header(("Access-Control-Allow-Origin", origin.clone()));
        if origin != "*" {
            builder.insert_header((header::VARY, "Origin"));
        }
        if credentials {
            builder.insert_header(("Access-Control-Allow-Credentials", "true"));
        }
    }
    builder.insert_header(ALLOW_METHODS);
    builder.insert_header(ALLOW_HEADERS);
}

/// The URL as Bottle reconstructs it for error pages.
fn request_url(req: &HttpRequest) -> String {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.app_data::<Data<ApiState>>().map(|s| s.listening.to_string()))
        .unwrap_or_default();
    let mut url = format!("http://{host}{}", req.uri().path());
    if let Some(q) = req.uri().query() {
        url.push('?');
        url.push_str(q);
    }
    url
}

fn error_response(req: &HttpRequest, status: StatusCode, message: &str) -> HttpResponse {
    let label = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
    let mut builder = HttpResponse::build(status);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        builder.insert_header((header::ALLOW, "GET"));
    }
    if status == StatusCode::UNAUTHORIZED {
        builder.insert_header(("Www-Authenticate", "Basic realm=\"private\""));
    }
    builder
        .content_type("text/html; charset=UTF-8")
        .body(error::page(&label, &request_url(req), message))
}

fn success(req: &HttpRequest, state: &ApiState, content_type: &'static str, body: impl Into<Text>) -> HttpResponse {
    let body = body.into();
    let mut builder: HttpResponseBuilder = HttpResponse::Ok();
    cors_headers(&mut builder, state, req);
    builder.content_type(content_type);
    let wants_deflate = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("deflate"));
    if wants_deflate {
        builder.insert_header((header::CONTENT_ENCODING, "deflate"));
        builder.body(body.compressed(deflate::zlib))
    } else {
        builder.insert_header((header::CONTENT_ENCODING, "identity"));
        builder.body(body)
    }
}

const JSON: &str = "application/json; charset=utf-8";

fn json_value(req: &HttpRequest, state: &ApiState, v: &Value) -> HttpResponse {
    success(req, state, JSON, Bytes::from(crate::json::to_bytes(v)))
}

/// Longest request path served; no Glances route comes near it.
const MAX_PATH: usize = 8192;

/// The single entry point: route, method check, then the answer.
pub async fn handle(req: HttpRequest, state: Data<ApiState>) -> HttpResponse {
    state.first_samples().await;
    let raw = req.uri().path();
    if raw.len() > MAX_PATH {
        return error_response(&req, StatusCode::URI_TOO_LONG, "Request path too long");
    }
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let Some(route) = route::parse(&decoded) else {
        return error_response(
            &req,
            StatusCode::NOT_FOUND,
            &format!("Not found: {}", error::py_repr(&decoded)),
        );
    };
    if !state.host_allowed(&req) {
        return error_response(&req, StatusCode::BAD_REQUEST, "Host not allowed");
    }
    match *req.method() {
        Method::GET | Method::HEAD => {}
        Method::OPTIONS => return preflight(&req, &state),
        _ => return error_response(&req, StatusCode::METHOD_NOT_ALLOWED, "Method not allowed."),
    }
    if let Some(auth) = &state.auth {
        let given = req.headers().get(header::AUTHORIZATION).and_then(|h| h.to_str().ok());
        if !auth.allows(given) {
            return error_response(&req, StatusCode::UNAUTHORIZED, "Access denied");
        }
    }
    let st = &state;
    match route {
        Route::Status => success(&req, st, "text/html; charset=UTF-8", Bytes::from_static(b"Active")),
        Route::Help => success(&req, st, JSON, state.help.clone()),
        Route::Config => json_value(&req, st, &state.config),
        Route::ConfigItem(item) => match state.config.get(&item) {
            Some(section) => json_value(&req, st, section),
            None => error_response(
                &req,
                StatusCode::BAD_REQUEST,
                &format!("Unknown configuration item {item}"),
            ),
        },
        Route::Args => json_value(&req, st, &state.args),
        Route::ArgsItem(item) => match state.args.get(&item) {
            Some(v) => json_value(&req, st, v),
            None => error_response(&req, StatusCode::BAD_REQUEST, &format!("Unknown argument item {item}")),
        },
        Route::Stats(query) => match state.aggregator.send(query).await {
            Ok(Ok(reply)) => {
                let content_type = if reply.plain_json { "application/json" } else { JSON };
                success(&req, st, content_type, reply.body)
            }
            Ok(Err(ApiError::BadRequest(m))) => error_response(&req, StatusCode::BAD_REQUEST, &m),
            Ok(Err(ApiError::NotFound(m))) => error_response(&req, StatusCode::NOT_FOUND, &m),
            Err(e) => {
                tracing::error!(error = %e, "aggregator did not answer");
                error_response(&req, StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        },
    }
}

/// A CORS pre-flight answered properly (Glances answers 405 here).
fn preflight(req: &HttpRequest, state: &ApiState) -> HttpResponse {
    let mut builder = HttpResponse::NoContent();
    cors_headers(&mut builder, state, req);
    // Browsers need Authorization listed to send Basic credentials cross-origin.
    builder.insert_header((ALLOW_HEADERS.0, format!("{}, Authorization", ALLOW_HEADERS.1)));
    builder.insert_header(("Access-Control-Max-Age", "86400")).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_redacts_secrets() {
        let config = crate::config::Config::parse(
            "[influxdb]\nhost=localhost\npassword=hunter2\ntoken=abc\n[passwords]\nlocalhost=pw\n",
            std::path::Path::new("t.conf"),
        )
        .unwrap();
        let text = String::from_utf8(crate::json::to_bytes(&config_json(&config))).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("abc") && !text.contains("\"pw\""),
            "{text}"
        );
        assert!(text.contains("localhost"));
    }
}
