//! The one HTTPS connector ([`https_connector`]: hyper 1 over rustls on ring, the workspace's one
//! crypto library, trusting Mozilla's root certificates as compiled into webpki-roots, HTTP/1.1,
//! no Nagle), and on it the AWS SDK's HTTP client ([`https_client`]), which the deployed
//! functions (`azora_api::aws`) and the local tooling (`azora_stack::sdk_config`) use. The Stripe
//! adapter's client is built on the same connector.
//!
//! Why not the SDK's own client (`aws-smithy-http-client`): it reads the system's certificate
//! store when it is built, at every cold start: ~290 PEM files here, 20 million instructions and
//! ~4 ms, three times a hello-world function's whole init (measured with callgrind and the bench's
//! survey; issue #11). Compiled-in roots cost nothing at start. What it did that this does not:
//! proxies from the environment (a Lambda function has none) and connection poisoning after a
//! timeout (a timed-out request's connection is dropped by hyper anyway).

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::ErrorKind;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::TokioExecutor;
use std::error::Error;
use std::sync::Mutex;
use std::time::Duration;

/// Idle pooled connections are closed after this (hyper's default; AWS endpoints close theirs
/// later than this).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The client every SDK configuration carries.
pub fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(SdkClient::default())
}

/// The connector both HTTPS clients are built on.
pub type Connector = hyper_rustls::HttpsConnector<TcpConnector>;

/// HTTPS (or plain HTTP, for the local stack's endpoints), with a limit on establishing the TCP
/// connection when one is given.
pub fn https_connector(connect_timeout: Option<Duration>) -> Connector {
    let mut tcp = TcpConnector::new();
    // On a kept-alive connection a request written in pieces would otherwise wait for the
    // previous answer's delayed ACK (tens of ms per call, measured on the Stripe adapter).
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(connect_timeout);
    tcp.enforce_http(false);
    hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().wrap_connector(tcp)
}

type HyperClient = Client<Connector, SdkBody>;

/// One connector per distinct timeout settings, built on first use and then shared: the SDK asks
/// for a connector on every request attempt, and each connector holds its own connection pool.
#[derive(Debug, Default)]
struct SdkClient {
    connectors: Mutex<Vec<(Timeouts, SharedHttpConnector)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timeouts {
    connect: Option<Duration>,
    read: Option<Duration>,
}

impl HttpClient for SdkClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        self.connector_for(Timeouts { connect: settings.connect_timeout(), read: settings.read_timeout() })
    }
}

impl SdkClient {
    fn connector_for(&self, timeouts: Timeouts) -> SharedHttpConnector {
        // A poisoned lock only means another thread panicked while pushing: the list is still valid.
        let mut connectors = self.connectors.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, connector)) = connectors.iter().find(|(t, _)| *t == timeouts) {
            return connector.clone();
        }
        let connector = SharedHttpConnector::new(SdkConnector::new(timeouts));
        connectors.push((timeouts, connector.clone()));
        connector
    }
}

#[derive(Debug, Clone)]
struct SdkConnector {
    client: HyperClient,
    read_timeout: Option<Duration>,
}

impl SdkConnector {
    fn new(timeouts: Timeouts) -> Self {
        let https = https_connector(timeouts.connect);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(IDLE_TIMEOUT).build(https);
        Self { client, read_timeout: timeouts.read }
    }
}

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let response = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                None => response.await,
                Some(limit) => match tokio::time::timeout(limit, response).await {
                    Ok(response) => response,
                    Err(elapsed) => return Err(ConnectorError::timeout(elapsed.into())),
                },
            };
            match response {
                Ok(response) => HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|e| ConnectorError::other(e.into(), None)),
                Err(e) => Err(classify(e)),
            }
        })
    }
}

/// The SDK retries I/O and timeout errors (and "transient" others) with its retry policy; user
/// errors and unknown ones are returned at once.
fn classify(error: hyper_util::client::legacy::Error) -> ConnectorError {
    let hyper_error = find_source::<hyper::Error>(&error);
    if hyper_error.is_some_and(hyper::Error::is_timeout) {
        return ConnectorError::timeout(error.into());
    }
    if error.is_connect()
        || find_source::<std::io::Error>(&error).is_some()
        || hyper_error.is_some_and(|e| e.is_closed() || e.is_canceled())
    {
        return ConnectorError::io(error.into());
    }
    if hyper_error.is_some_and(hyper::Error::is_user) {
        return ConnectorError::user(error.into());
    }
    // The connection was closed mid-answer: another attempt may well succeed.
    if hyper_error.is_some_and(hyper::Error::is_incomplete_message) {
        return ConnectorError::other(error.into(), Some(ErrorKind::TransientError));
    }
    ConnectorError::other(error.into(), None)
}

fn find_source<'a, E: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn connector(timeouts: Timeouts) -> SharedHttpConnector {
        SdkClient::default().connector_for(timeouts)
    }

    fn get(url: &str) -> HttpRequest {
        HttpRequest::try_from(http::Request::get(url).body(SdkBody::from("")).expect("request")).expect("request")
    }

    /// Answers each connection's first request with `answer` after `delay`, and returns what it read.
    async fn server(answer: &'static str, delay: Duration) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut read = vec![0u8; 4096];
            let n = socket.read(&mut read).await.expect("read");
            tokio::time::sleep(delay).await;
            socket.write_all(answer.as_bytes()).await.expect("write");
            String::from_utf8_lossy(&read[..n]).into_owned()
        });
        (url, task)
    }

    #[tokio::test]
    async fn a_request_gets_its_answer_with_status_headers_and_body() {
        let (url, server) =
            server("HTTP/1.1 200 OK\r\nx-amzn-requestid: r1\r\ncontent-length: 2\r\n\r\n{}", Duration::ZERO).await;
        let response = connector(Timeouts { connect: None, read: None }).call(get(&url)).await.expect("answer");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers().get("x-amzn-requestid"), Some("r1"));
        let body = aws_smithy_types::byte_stream::ByteStream::new(response.into_body()).collect().await;
        assert_eq!(body.expect("body").into_bytes().as_ref(), b"{}");
        assert!(server.await.expect("server").starts_with("GET / HTTP/1.1"));
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_io_error_which_the_sdk_retries() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        drop(listener);
        let error = connector(Timeouts { connect: None, read: None }).call(get(&url)).await.expect_err("refused");
        assert!(error.is_io(), "{error:?}");
    }

    #[tokio::test]
    async fn an_answer_slower_than_the_read_timeout_is_a_timeout() {
        let (url, _server) = server("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", Duration::from_secs(5)).await;
        let timeouts = Timeouts { connect: None, read: Some(Duration::from_millis(100)) };
        let error = connector(timeouts).call(get(&url)).await.expect_err("timeout");
        assert!(error.is_timeout(), "{error:?}");
    }

    /// A self-signed certificate for localhost and 127.0.0.1 (P-256, valid until 2126), made with
    /// `openssl req -x509` (not a CA, for serverAuth): no root the client trusts issued it.
    const SELF_SIGNED_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBrjCCAVSgAwIBAgIUFYX0sR7mCQ7muMrTgKCu6jT6A+0wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNDE3NTIxNFoYDzIxMjYxMTEw
MTc1MjE0WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQlif13Nsqf8LpN1cabsf6eCDwDiotulhgIXIwwiv0BuXFVlgfl9fwq
OqhWfbtwegNX5H2FDhIFRFxScnq2BVkso4GBMH8wHQYDVR0OBBYEFL4TpNOSHLOh
DOVqSI00uGPoJpAyMB8GA1UdIwQYMBaAFL4TpNOSHLOhDOVqSI00uGPoJpAyMBoG
A1UdEQQTMBGCCWxvY2FsaG9zdIcEfwAAATAMBgNVHRMBAf8EAjAAMBMGA1UdJQQM
MAoGCCsGAQUFBwMBMAoGCCqGSM49BAMCA0gAMEUCIQCzGjxFlU3Qmb4Eh5F7iSLf
UOPbqT3Yo4gtifiNfqKnQgIgJ9hXMsKSov/bEfriKk4z5YkqamjQ+ah8XWWV9HQE
NRo=
-----END CERTIFICATE-----";
    const SELF_SIGNED_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5LRojaMKBd2QO3QO
bFGB5FEGk0F8xU+rVhgNSLFLMbuhRANCAAQlif13Nsqf8LpN1cabsf6eCDwDiotu
lhgIXIwwiv0BuXFVlgfl9fwqOqhWfbtwegNX5H2FDhIFRFxScnq2BVks
-----END PRIVATE KEY-----";

    #[tokio::test]
    async fn a_certificate_no_trusted_root_issued_is_refused_before_any_request() {
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use tokio_rustls::rustls::{ServerConfig, crypto::ring};
        let cert = CertificateDer::from_pem_slice(SELF_SIGNED_CERT.as_bytes()).expect("certificate");
        let key = PrivateKeyDer::from_pem_slice(SELF_SIGNED_KEY.as_bytes()).expect("key");
        let config = ServerConfig::builder_with_provider(std::sync::Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.expect("accept");
            let mut tls = acceptor.accept(socket).await.ok()?;
            let mut read = vec![0u8; 1024];
            let n = tls.read(&mut read).await.ok()?;
            Some(String::from_utf8_lossy(&read[..n]).into_owned())
        });
        let url = format!("https://localhost:{port}/");
        let error = connector(Timeouts { connect: None, read: None }).call(get(&url)).await.expect_err("refused");
        assert!(format!("{error:?}").contains("UnknownIssuer"), "{error:?}");
        assert_eq!(server.await.expect("server"), None, "the request must not have been sent");
    }

    #[test]
    fn one_connector_per_timeout_settings_is_reused() {
        let client = SdkClient::default();
        let connect = |ms| Timeouts { connect: Some(Duration::from_millis(ms)), read: None };
        client.connector_for(connect(100));
        client.connector_for(connect(100));
        client.connector_for(connect(200));
        assert_eq!(client.connectors.lock().expect("lock").len(), 2);
    }
}
