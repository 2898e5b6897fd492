//! [`Counted`]: the Control API's requests counted by method and gRPC code, with their
//! latency, around the tonic service where the servers are built (the control socket and the
//! TCP listener alike, outside the authorizer so that refusals count too).
//!
//! The code is read from the response headers: tonic puts an error's `grpc-status` there
//! (a trailers-only response), and a success has none until its trailers, so a response
//! without one counts as `Ok`. The latency runs to the response headers: for a stream
//! (`logs -f`, `events`) that is the time to open it, not how long it stayed open.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tonic::codegen::http;
use tonic::server::NamedService;
use tonic::Code;
use tower::Service;

#[derive(Clone)]
pub struct Counted<S> {
    inner: S,
    metrics: metrics::Metrics,
}

impl<S> Counted<S> {
    pub fn new(inner: S, metrics: metrics::Metrics) -> Counted<S> {
        Counted { inner, metrics }
    }
}

impl<S: NamedService> NamedService for Counted<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B, R> Service<http::Request<B>> for Counted<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let method = req
            .uri()
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let answer = self.inner.call(req);
        Box::pin(async move {
            let res = answer.await;
            let code = match &res {
                Ok(r) => code_of(r.headers()),
                Err(_) => Code::Internal,
            };
            // A path that names no method: one label for all of them, whatever the caller sent.
            let method = if code == Code::Unimplemented {
                "unknown"
            } else {
                method.as_str()
            };
            metrics.control_request(method, &format!("{code:?}"), started.elapsed());
            res
        })
    }
}

fn code_of(headers: &http::HeaderMap) -> Code {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(Code::Ok, Code::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_comes_from_grpc_status_or_is_ok() {
        let mut h = http::HeaderMap::new();
        assert_eq!(code_of(&h), Code::Ok);
        h.insert("grpc-status", http::HeaderValue::from_static("3"));
        assert_eq!(code_of(&h), Code::InvalidArgument);
        assert_eq!(format!("{:?}", code_of(&h)), "InvalidArgument");
    }
}
