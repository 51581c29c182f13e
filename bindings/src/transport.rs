//! The host's HTTP stack (URLSession, OkHttp): the requests the library asks it to send, its
//! answers and failures, and the adapter the sync client calls.
//!
//! Must not: retry or interpret anything (the sync client does), or be called on the main
//! thread (the library calls it from its own).

use std::sync::Arc;

use pacenote_sync::client::{self, Transport, TransportError};

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// A request for the host to send (`method` is GET, PUT or POST).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

/// The answer, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

/// No HTTP answer came.
#[derive(Debug, Clone, thiserror::Error, uniffi::Error)]
pub enum TransportFailure {
    #[error("timed out: {reason}")]
    Timeout { reason: String },
    #[error("no connection: {reason}")]
    NoConnection { reason: String },
    #[error("{reason}")]
    Other { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportFailure {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Other { reason: format!("the transport threw: {}", e.reason) }
    }
}

/// The host's HTTP stack (URLSession, OkHttp, HttpURLConnection). Called on a library thread,
/// never the main one; it may block until the answer is in. Time out within 30 seconds.
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure>;
}

pub(crate) struct HostTransport(pub(crate) Arc<dyn HttpTransport>);

impl std::fmt::Debug for HostTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostTransport")
    }
}

impl Transport for HostTransport {
    fn send(&self, request: &client::HttpRequest) -> Result<client::HttpResponse, TransportError> {
        let request = HttpRequest {
            method: request.method.as_str().to_owned(),
            url: request.url.clone(),
            headers: request
                .headers
                .iter()
                .map(|(n, v)| HttpHeader { name: n.clone(), value: v.clone() })
                .collect(),
            body: request.body.clone(),
        };
        match self.0.send(request) {
            Ok(r) => Ok(client::HttpResponse {
                status: r.status,
                headers: r.headers.into_iter().map(|h| (h.name, h.value)).collect(),
                body: r.body,
            }),
            Err(TransportFailure::Timeout { reason }) => Err(TransportError::Timeout(reason)),
            Err(TransportFailure::NoConnection { reason }) => Err(TransportError::Connection(reason)),
            Err(TransportFailure::Other { reason }) => Err(TransportError::Other(reason)),
        }
    }
}
