//! The routes: the page and its assets (embedded in the binary: plain HTML, CSS and JS, no
//! build step, nothing fetched from elsewhere), the current document, and its live stream.
//! Only `GET` (and the `HEAD` axum derives from it) is routed, so any other method is 405.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::WatchStream;

use crate::Web;

const INDEX: &str = include_str!("../assets/index.html");
const STYLE: &str = include_str!("../assets/app.css");
const SCRIPT: &str = include_str!("../assets/app.js");

/// A comment line this often keeps proxies and the browser from closing an idle stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long the browser waits before reconnecting a broken stream.
const RETRY: Duration = Duration::from_secs(1);

pub fn routes() -> Router<Web> {
    Router::new()
        .route("/", get(index))
        .route("/app.css", get(style))
        .route("/app.js", get(script))
        .route("/api/state", get(state))
        .route("/api/events", get(events))
}

/// Assets change only with the binary; the page must never run stale JS against a new API.
const NO_CACHE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-cache");

async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), NO_CACHE],
        INDEX,
    )
}

async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), NO_CACHE],
        STYLE,
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            NO_CACHE,
        ],
        SCRIPT,
    )
}

async fn state(State(web): State<Web>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json"), NO_CACHE],
        web.current().to_string(),
    )
}

/// `event: state` with the whole document: the current one at once, then each new one. A
/// slow browser skips to the latest rather than queueing old ones.
async fn events(State(web): State<Web>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let documents = WatchStream::new(web.subscribe())
        .map(|doc| Ok(Event::default().event("state").retry(RETRY).data(&*doc)))
        .take_until(web.stop.clone().cancelled_owned());
    Sse::new(documents).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use http_body_util::BodyExt;
    use tokio::sync::watch;
    use tokio_util::sync::CancellationToken;
    use tower::ServiceExt;

    fn app(
        doc: &str,
    ) -> (
        Router,
        watch::Sender<crate::hub::Document>,
        CancellationToken,
    ) {
        let (tx, rx) = watch::channel(crate::hub::Document::from(doc));
        let stop = CancellationToken::new();
        let web = Web {
            state: rx,
            stop: stop.clone(),
        };
        (crate::router(web), tx, stop)
    }

    async fn call(app: &Router, method: Method, uri: &str) -> (StatusCode, String, String) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, kind, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn the_page_and_its_assets_are_served_from_the_binary() {
        let (app, _tx, _stop) = app("{}");
        let (status, kind, body) = call(&app, Method::GET, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(kind.starts_with("text/html"), "{kind}");
        assert!(
            body.contains("app.js") && body.contains("app.css"),
            "{body}"
        );
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "no CDN"
        );
        let (status, kind, _) = call(&app, Method::GET, "/app.js").await;
        assert_eq!(
            (status, kind.starts_with("text/javascript")),
            (StatusCode::OK, true)
        );
        let (status, _, _) = call(&app, Method::GET, "/app.css").await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn state_is_the_latest_document() {
        let (app, tx, _stop) = app(r#"{"version":1}"#);
        tx.send_replace(r#"{"version":2}"#.into());
        let (status, kind, body) = call(&app, Method::GET, "/api/state").await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::OK, "application/json")
        );
        assert_eq!(body, r#"{"version":2}"#);
    }

    #[tokio::test]
    async fn nothing_but_get_is_answered() {
        let (app, _tx, _stop) = app("{}");
        for path in ["/", "/api/state", "/api/events", "/app.js"] {
            for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
                let (status, _, _) = call(&app, method.clone(), path).await;
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            }
        }
        let (status, _, _) = call(&app, Method::GET, "/api/nodes/remove").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn events_stream_the_current_document_then_each_new_one() {
        let (app, tx, stop) = app(r#"{"version":1}"#);
        let request = Request::get("/api/events").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/event-stream"
        );
        let mut body = response.into_body();
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        let first = String::from_utf8_lossy(&first).into_owned();
        assert!(first.contains("event: state\n"), "{first}");
        assert!(first.contains("data: {\"version\":1}\n"), "{first}");
        tx.send_replace(r#"{"version":2}"#.into());
        let next = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert!(String::from_utf8_lossy(&next).contains("{\"version\":2}"));
        // A stop ends the stream, so the server's graceful shutdown does not wait on browsers.
        stop.cancel();
        assert!(body.frame().await.is_none());
    }
}
