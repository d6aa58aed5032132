//! Starting the sandbox in-process and driving it from tests.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;

use crate::error::ApiError;
use crate::records::{DeliverOptions, DeliveryAttempt, RecordedRequest, SandboxConfig};
use crate::resources::{self, payment_intents};
use crate::router::Route;
use crate::store::{EventSource, Store};
use crate::{server, webhooks};

/// The default signing secret when none is configured.
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_azora_stripe_sandbox";
/// The default port of the `stripe-sandbox` binary.
pub const DEFAULT_PORT: u16 = 12111;

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Where to listen; port 0 picks a free port (see [`SandboxHandle::addr`]).
    pub bind: SocketAddr,
    /// Where to POST events (`http://` only); can be set later with
    /// [`SandboxHandle::set_webhook_url`].
    pub webhook_url: Option<String>,
    /// The endpoint secret events are signed with.
    pub webhook_secret: String,
    /// Deliver each event in the background as it is created.
    pub auto_deliver: bool,
    /// Waits before each retry of a failed automatic delivery.
    pub retry_delays: Vec<Duration>,
    /// Print one line per request to stderr.
    pub log_requests: bool,
    /// How long a successful charge's funds stay `pending` before they are `available` in the
    /// platform's balance (and can fund transfers), on the sandbox clock. Default: 2 days, as for
    /// US cards on Stripe; `Duration::ZERO` makes charges available at once.
    pub available_after: Duration,
    /// Retries of a failed subscription invoice, in days after the previous attempt (Stripe's
    /// custom retry schedule); default `[3, 2, 2]`.
    pub invoice_retry_days: Vec<i64>,
    /// The subscription's status after the last retry failed: `past_due` (default), `unpaid`
    /// or `canceled`.
    pub invoice_retry_end: String,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            webhook_url: None,
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_string(),
            auto_deliver: true,
            retry_delays: vec![
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(4),
                Duration::from_secs(8),
            ],
            log_requests: false,
            available_after: Duration::from_secs(crate::records::DEFAULT_AVAILABLE_AFTER_SECONDS as u64),
            invoice_retry_days: crate::records::DEFAULT_INVOICE_RETRY_DAYS.to_vec(),
            invoice_retry_end: crate::records::DEFAULT_INVOICE_RETRY_END.to_string(),
        }
    }
}

/// An error from a sandbox operation, with the HTTP status the control API would answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxError {
    pub status: u16,
    pub code: Option<String>,
    pub message: String,
}

impl std::fmt::Display for SandboxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} {code}: {}", self.status, self.message),
            None => write!(f, "{} {}", self.status, self.message),
        }
    }
}

impl std::error::Error for SandboxError {}

impl From<ApiError> for SandboxError {
    fn from(e: ApiError) -> Self {
        SandboxError { status: e.status, code: e.code.map(str::to_string), message: e.message }
    }
}

/// State shared by the server, the delivery worker and the handle.
pub(crate) struct Shared {
    store: Mutex<Store>,
    pub routes: Vec<Route>,
    pub addr: SocketAddr,
    pub log_requests: bool,
    deliveries: UnboundedSender<String>,
}

impl Shared {
    /// The store (a panic elsewhere never locks the sandbox up).
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}/", SocketAddr::new(ip, self.addr.port()))
    }

    /// Hands the events created by the last operation to the delivery worker (when automatic
    /// delivery is on and a URL is set).
    pub fn dispatch(&self, store: &mut Store) {
        let events = store.take_outbox();
        if store.config.auto_deliver && store.config.webhook_url.is_some() {
            for id in events {
                let _ = self.deliveries.send(id);
            }
        }
    }
}

/// The Stripe sandbox.
pub struct Sandbox;

impl Sandbox {
    /// Binds, then serves the API and delivers webhooks in background tasks on the current
    /// Tokio runtime until the handle is dropped.
    pub async fn start(options: SandboxOptions) -> std::io::Result<SandboxHandle> {
        let listener = TcpListener::bind(options.bind).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let config = SandboxConfig {
            webhook_url: options.webhook_url,
            webhook_secret: options.webhook_secret,
            auto_deliver: options.auto_deliver,
            retry_delays_ms: options.retry_delays.iter().map(|d| d.as_millis() as u64).collect(),
            available_after_seconds: i64::try_from(options.available_after.as_secs()).unwrap_or(i64::MAX),
            invoice_retry_days: options.invoice_retry_days,
            invoice_retry_end: options.invoice_retry_end,
        };
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new(config)),
            routes: resources::routes(),
            addr,
            log_requests: options.log_requests,
            deliveries: tx,
        });
        let server = tokio::spawn(server::serve(listener, shared.clone()));
        let worker = tokio::spawn(webhooks::worker(shared.clone(), rx));
        Ok(SandboxHandle { addr, shared, tasks: vec![server, worker] })
    }
}

/// A running sandbox; dropping it stops the server and the deliveries.
pub struct SandboxHandle {
    /// The address the sandbox listens on.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHandle").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl SandboxHandle {
    /// The base URL for async-stripe's `ClientBuilder::url`, ending in `/`.
    pub fn base_url(&self) -> String {
        self.shared.base_url()
    }

    pub fn config(&self) -> SandboxConfig {
        self.shared.lock().config.clone()
    }

    pub fn set_config(&self, config: SandboxConfig) {
        self.shared.lock().config = config;
    }

    /// Where events go from now on (the app's address is known only after it boots).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.shared.lock().config.webhook_url = Some(url.into());
    }

    pub fn clear_webhook_url(&self) {
        self.shared.lock().config.webhook_url = None;
    }

    pub fn set_webhook_secret(&self, secret: impl Into<String>) {
        self.shared.lock().config.webhook_secret = secret.into();
    }

    pub fn set_auto_deliver(&self, on: bool) {
        self.shared.lock().config.auto_deliver = on;
    }

    /// How long charges succeeding from now on stay pending before their funds are available.
    pub fn set_available_after(&self, after: Duration) {
        self.shared.lock().config.available_after_seconds = i64::try_from(after.as_secs()).unwrap_or(i64::MAX);
    }

    /// The platform's balance (a Balance object: `available` and `pending` per currency).
    pub fn platform_balance(&self) -> Result<Value, SandboxError> {
        Ok(crate::resources::transfers::platform_balance_json(&self.shared.lock())?)
    }

    /// Every event, oldest first.
    pub fn events(&self) -> Vec<Value> {
        self.shared.lock().events().to_vec()
    }

    /// The events of one type, oldest first.
    pub fn events_of_type(&self, event_type: &str) -> Vec<Value> {
        self.events().into_iter().filter(|e| e.get("type").and_then(Value::as_str) == Some(event_type)).collect()
    }

    /// Every API request received, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Every webhook delivery attempt, oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryAttempt> {
        self.shared.lock().deliveries.clone()
    }

    /// Delivers an event now (see [`DeliverOptions`]) and answers each attempt.
    pub async fn deliver_event(
        &self,
        event_id: &str,
        options: DeliverOptions,
    ) -> Result<Vec<DeliveryAttempt>, SandboxError> {
        Ok(webhooks::deliver_manual(&self.shared, event_id, &options).await?)
    }

    /// Waits until every automatically delivered event has been accepted by the endpoint
    /// (`pending_webhooks` = 0); `false` on timeout.
    pub async fn wait_for_deliveries(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let pending = self
                .shared
                .lock()
                .events()
                .iter()
                .any(|e| e.get("pending_webhooks").and_then(Value::as_i64).unwrap_or(0) > 0);
            if !pending {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Confirms a PaymentIntent as the client (Stripe.js) would, with `payment_method`.
    pub fn confirm_payment_intent(&self, id: &str, payment_method: Option<&str>) -> Result<Value, SandboxError> {
        let args = payment_intents::ConfirmArgs {
            payment_method: payment_method.map(str::to_string),
            from_client: true,
            ..Default::default()
        };
        let base = self.base_url();
        let mut store = self.shared.lock();
        let source = EventSource { request_id: Some(crate::ids::new_id("req")), ..EventSource::default() };
        let result = payment_intents::confirm_intent(&mut store, &source, &base, id, args);
        self.shared.dispatch(&mut store);
        Ok(result?)
    }

    /// Completes (`true`) or fails the 3-D Secure challenge of a `requires_action` PaymentIntent.
    pub fn authenticate_payment_intent(&self, id: &str, succeed: bool) -> Result<Value, SandboxError> {
        let mut store = self.shared.lock();
        let result = payment_intents::authenticate(&mut store, None, id, succeed);
        self.shared.dispatch(&mut store);
        Ok(result?)
    }

    /// The sandbox clock (unix seconds): real time plus what [`SandboxHandle::advance_clock`]
    /// added. Objects on a test clock use the clock's own time instead.
    pub fn clock_now(&self) -> i64 {
        self.shared.lock().now()
    }

    /// Moves the sandbox clock forward by `seconds`, running the renewals, trial ends, scheduled
    /// cancellations and expiries that fall due on the way (for subscriptions not on a test
    /// clock); answers the new time.
    pub fn advance_clock(&self, seconds: i64) -> Result<i64, SandboxError> {
        if seconds < 0 {
            return Err(ApiError::invalid_nocode("The sandbox clock only moves forward.").into());
        }
        let base = self.base_url();
        let mut store = self.shared.lock();
        let target = crate::time::check_timestamp(store.now().saturating_add(seconds), "seconds")?;
        crate::billing::check_jump(&store, None, target, "seconds")?;
        let result = crate::billing::advance(&mut store, &base, None, target);
        self.shared.dispatch(&mut store);
        result?;
        Ok(store.now())
    }

    /// Makes every later charge of `customer` fail (`card_declined`/`generic_decline`), like
    /// Stripe's `pm_card_chargeCustomerFail`, or stops doing so.
    pub fn set_customer_charges_fail(&self, customer: &str, fail: bool) -> Result<(), SandboxError> {
        crate::billing::set_customer_fails(&mut self.shared.lock(), customer, fail)?;
        Ok(())
    }

    /// Completes a connected account's onboarding (as its owner would through an account link):
    /// `charges_enabled`, `payouts_enabled`, `details_submitted`, capabilities active;
    /// emits `account.updated`.
    pub fn complete_account_onboarding(&self, account: &str) -> Result<Value, SandboxError> {
        let mut store = self.shared.lock();
        let result = crate::resources::accounts::complete_onboarding(&mut store, account);
        self.shared.dispatch(&mut store);
        Ok(result?)
    }

    /// Sets a connected account's available balance in `currency` (e.g. to 0 once it was paid out).
    pub fn set_account_balance(&self, account: &str, currency: &str, available: i64) -> Result<Value, SandboxError> {
        let mut store = self.shared.lock();
        if crate::resources::accounts::connected(&store, account).is_none() {
            return Err(ApiError::not_found("account", account).into());
        }
        let currency = crate::money::currency(currency, "currency")?;
        crate::resources::accounts::set_balance(&mut store, account, &currency, Some(available), None);
        Ok(crate::resources::accounts::balance_json(&store, account)?)
    }

    /// A connected account's balance (a Balance object).
    pub fn account_balance(&self, account: &str) -> Result<Value, SandboxError> {
        Ok(crate::resources::accounts::balance_json(&self.shared.lock(), account)?)
    }

    /// Forgets every object, event, request and delivery (the configuration stays).
    pub fn reset(&self) {
        self.shared.lock().reset();
    }
}
