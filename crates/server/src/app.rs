//! Application state, router assembly and the server's lifecycle.

use crate::agents::AgentsService;
use crate::audit::AuditSink;
use crate::auth::AuthService;
use crate::auth::service::BootstrapAdmin;
use crate::bus::Bus;
use crate::config::Config;
use crate::db::Db;
use crate::error::envelope_response;
use crate::ipqs::IpqsService;
use crate::ipqs::provider::HttpProvider;
use crate::objects::Objects;
use crate::ratelimit::{ApiLimits, FixedWindow, SharedLimits};
use crate::secrets_crypto::SecretsCrypto;
use crate::settings::SettingsService;
use crate::vm_ops::VmOpsService;
use crate::vm_ops::events::EventLog;
use crate::vm_ops::store::CommandStore;
use crate::{
    agents, audit, auth, bots, finance, health, ipqs, names, observability, playbooks, resources,
    settings, themes, vm_ops, workspace,
};
use crate::{artifacts, licenses, provisioning, secrets, vmgen, vms};
use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware;
use axum::response::Response;
use botmox_contract::error_code;
use metrics_exporter_prometheus::PrometheusHandle;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub objects: Objects,
    pub auth: Arc<AuthService>,
    pub bus: Arc<Bus>,
    pub agents: Arc<AgentsService>,
    pub vm_ops: Arc<VmOpsService>,
    pub events: Arc<EventLog>,
    pub bots: Arc<bots::BotsService>,
    pub resources: Arc<resources::ResourcesService>,
    pub licenses: Arc<licenses::LicenseService>,
    pub artifacts: Arc<artifacts::ArtifactService>,
    pub secrets: Arc<secrets::SecretService>,
    pub metrics: PrometheusHandle,
    pub started: Instant,
    /// Flips to true when the server stops: long-lived streams and sockets end themselves.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    pub crypto: Arc<SecretsCrypto>,
    pub settings: Arc<SettingsService>,
    pub audit: AuditSink,
    pub ipqs: Arc<IpqsService>,
    pub provisioning: Arc<provisioning::ProvisioningService>,
    pub vmgen: Arc<vmgen::VmGenService>,
}

impl AppState {
    /// Connects, migrates and prepares every service.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        let objects = Objects::open(&config.object_store)?;
        let auth = AuthService::new(db.clone(), &config).await?;
        let bus = Bus::new(match db.backend {
            crate::db::Backend::Postgres => Some(db.conn.get_postgres_connection_pool().clone()),
            crate::db::Backend::Sqlite => None,
        });
        let agents = AgentsService::new(db.clone(), auth.clone(), bus.clone(), &config);
        auth.set_agent_resolver(agents.clone());
        let store = CommandStore::new(db.clone());
        let vm_ops = VmOpsService::new(
            store.clone(),
            agents.clone(),
            bus.clone(),
            config.vm_ops.clone(),
        );
        let events = EventLog::start(store).await?;
        let (bots, resources) = fleet_services(&db, &config);
        let crypto = SecretsCrypto::load(&db, &config).await?;
        let settings = SettingsService::new(db.clone(), crypto.clone());
        let audit = AuditSink::start(db.clone(), config.audit_queue_capacity);
        let ipqs = IpqsService::new(
            db.clone(),
            settings.clone(),
            Arc::new(HttpProvider::new(
                &config.ipqs.base_url,
                config.ipqs.timeout,
            )?),
            &config.ipqs,
        );
        let licenses = licenses::LicenseService::new(db.clone(), &config, &auth).await?;
        let artifacts =
            artifacts::ArtifactService::new(db.clone(), &config, &auth, &objects, &licenses)
                .await?;
        let secrets = secrets::SecretService::new(db.clone(), &config, &auth).await?;
        let provisioning = Arc::new(provisioning::ProvisioningService::new(
            db.clone(),
            objects.clone(),
            &config,
        ));
        let vmgen = vmgen::service(
            db.clone(),
            agents.clone(),
            vm_ops.clone(),
            events.clone(),
            provisioning.clone(),
            bus.clone(),
        );
        Ok(Self {
            config: Arc::new(config),
            db,
            objects,
            auth,
            bus,
            agents,
            vm_ops,
            events,
            bots,
            resources,
            licenses,
            artifacts,
            secrets,
            metrics: observability::metrics::handle(),
            started: Instant::now(),
            shutdown: tokio::sync::watch::channel(false).0,
            crypto,
            settings,
            audit,
            ipqs,
            provisioning,
            vmgen,
        })
    }
}

/// Bots and resources depend on each other: resources look bots up through the bots store,
/// bots change their links through the resources service.
fn fleet_services(
    db: &Db,
    config: &Config,
) -> (Arc<bots::BotsService>, Arc<resources::ResourcesService>) {
    let bot_store = bots::store::BotStore::new(db.clone());
    let resources = Arc::new(resources::ResourcesService::new(
        resources::store::ResourceStore::new(db.clone()),
        Arc::new(bot_store.clone()),
        config.expiry_warning_days,
    ));
    let bots = Arc::new(bots::BotsService::new(bot_store, resources.clone()));
    (bots, resources)
}

/// Every documented route: (public, guarded). Domains add themselves here.
fn api_routes() -> (OpenApiRouter<AppState>, OpenApiRouter<AppState>) {
    let public = OpenApiRouter::new()
        .merge(health::public_routes())
        .merge(auth::public_routes())
        .merge(agents::public_routes())
        .merge(vm_ops::public_routes())
        .merge(themes::public_routes())
        .merge(artifacts::public_routes())
        .merge(provisioning::public_routes());
    let guarded = OpenApiRouter::new()
        .merge(auth::routes())
        .merge(agents::routes())
        .merge(vm_ops::routes())
        .merge(bots::routes())
        .merge(resources::routes())
        .merge(workspace::routes())
        .merge(finance::routes())
        .merge(settings::routes())
        .merge(audit::routes())
        .merge(playbooks::routes())
        .merge(themes::routes())
        .merge(ipqs::routes())
        .merge(names::routes())
        .merge(vms::routes())
        .merge(licenses::routes())
        .merge(artifacts::routes())
        .merge(secrets::routes())
        .merge(provisioning::routes())
        .merge(vmgen::routes());
    (public, guarded)
}

fn api(state: &AppState) -> Router<AppState> {
    let (public, guarded) = api_routes();
    // The last layer runs first: identity, then the audit record that needs it.
    let guarded = guarded
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            audit::middleware::record,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::guard::require_identity,
        ));
    let (router, _) = OpenApiRouter::new()
        .merge(public)
        .merge(guarded)
        .split_for_parts();
    router
}

fn base_openapi() -> utoipa::openapi::OpenApi {
    let mut doc = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("Bot-Mox API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Control plane for fleets of Proxmox VMs running automation bots. Every \
                     response uses the envelope {success, data | error}.",
                ))
                .build(),
        )
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc
}

/// The OpenAPI document, as `botmox openapi` prints it and `docs/openapi.json` stores it.
pub fn openapi_json() -> anyhow::Result<String> {
    let (public, guarded) = api_routes();
    let doc = OpenApiRouter::with_openapi(base_openapi())
        .merge(public)
        .merge(guarded)
        .into_openapi();
    let mut doc = doc;
    document_common_responses(&mut doc);
    Ok(doc.to_pretty_json()?)
}

/// Answers the layers give to any route, documented once here rather than on every handler:
/// 401 from the identity guard on bearer-secured routes, 413/415 from the JSON extractor on
/// routes with a JSON body, 429 from the rate limiter and 503 from the request timeout.
fn document_common_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let envelope = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                    .build(),
            )
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let json_body = op
                .request_body
                .as_ref()
                .is_some_and(|b| b.content.contains_key("application/json"));
            let responses = &mut op.responses.responses;
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| envelope(description).into());
            };
            if secured {
                add("401", "INVALID_OR_MISSING_BEARER_TOKEN");
            }
            if json_body {
                add("400", "BAD_REQUEST (malformed JSON)");
                add("413", "PAYLOAD_TOO_LARGE");
                add("415", "UNSUPPORTED_MEDIA_TYPE");
            }
            add("429", "RATE_LIMITED");
            add("503", "REQUEST_TIMEOUT");
        }
    }
}

pub fn router(state: AppState) -> Router {
    let api = api(&state);
    let limits: SharedLimits = Arc::new(ApiLimits {
        per_ip: FixedWindow::new(
            state.config.rate_limit.per_ip,
            state.config.rate_limit.window,
        ),
        per_principal: FixedWindow::new(
            state.config.rate_limit.per_principal,
            state.config.rate_limit.window,
        ),
        trust_forwarded_for: state.config.rate_limit.trust_forwarded_for,
    });
    api.route(
        "/metrics",
        axum::routing::get(observability::metrics::render),
    )
    .merge(crate::web::router(&state))
    .fallback(not_found)
    .method_not_allowed_fallback(method_not_allowed)
    .layer(middleware::from_fn_with_state(
        limits,
        crate::ratelimit::middleware,
    ))
    .layer(middleware::from_fn_with_state(
        state.config.request_timeout,
        request_timeout,
    ))
    .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
    .layer(CatchPanicLayer::custom(panic_response))
    .layer(security_headers())
    .layer(cors(&state.config))
    .layer(middleware::from_fn(observability::correlation::middleware))
    .with_state(state)
}

/// Bounds ordinary requests; streams and long-polls manage their own lifetimes.
async fn request_timeout(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: Request,
    next: middleware::Next,
) -> Response {
    let path = request.uri().path();
    // Artifact uploads and downloads stream large bodies; they bound themselves by size.
    if path.ends_with("/ws")
        || path.ends_with("/events")
        || path.ends_with("/commands/next")
        || path.ends_with("/binary")
    {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => envelope_response(
            StatusCode::SERVICE_UNAVAILABLE,
            error_code::REQUEST_TIMEOUT,
            "The request took too long and was abandoned",
            None,
        ),
    }
}

async fn not_found(request: Request) -> Response {
    envelope_response(
        StatusCode::NOT_FOUND,
        error_code::NOT_FOUND,
        &format!("Cannot {} {}", request.method(), request.uri().path()),
        None,
    )
}

async fn method_not_allowed(request: Request) -> Response {
    envelope_response(
        StatusCode::METHOD_NOT_ALLOWED,
        error_code::METHOD_NOT_ALLOWED,
        &format!(
            "Method {} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
        None,
    )
}

fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = %detail, "handler panicked");
    envelope_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        error_code::INTERNAL_ERROR,
        "Internal server error",
        None,
    )
}

fn security_headers() -> tower::layer::util::Stack<
    SetResponseHeaderLayer<HeaderValue>,
    tower::layer::util::Stack<
        SetResponseHeaderLayer<HeaderValue>,
        SetResponseHeaderLayer<HeaderValue>,
    >,
> {
    tower::layer::util::Stack::new(
        SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        tower::layer::util::Stack::new(
            SetResponseHeaderLayer::if_not_present(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            ),
            SetResponseHeaderLayer::if_not_present(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ),
    )
}

fn cors(config: &Config) -> CorsLayer {
    let exposed = [
        "x-request-id",
        "x-correlation-id",
        "x-trace-id",
        "x-span-id",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "retry-after",
        "etag",
        "content-disposition",
    ]
    .map(HeaderName::from_static);
    let allowed = [
        "content-type",
        "authorization",
        "accept",
        "x-requested-with",
        "x-request-id",
        "x-correlation-id",
        "traceparent",
        "tracestate",
        "baggage",
        "last-event-id",
        "if-match",
    ]
    .map(HeaderName::from_static);
    let origins: Vec<HeaderValue> = config
        .cors_origins
        .iter()
        .filter(|o| *o != "*")
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers(allowed)
        .expose_headers(exposed)
        .max_age(Duration::from_secs(600))
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    pub bootstrap: Option<BootstrapAdmin>,
    shutdown: tokio::sync::watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Server {
    /// Builds the state, bootstraps the admin, binds (port 0 picks a free port) and serves in
    /// the background.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let listen = config.listen;
        let state = AppState::build(config).await?;
        let bootstrap = if state.config.bootstrap_admin {
            state
                .auth
                .bootstrap(&state.config.bootstrap_admin_email)
                .await?
        } else {
            None
        };
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen} (BOTMOX_LISTEN)"))?;
        let addr = listener.local_addr()?;
        let shutdown = state.shutdown.clone();
        let mut stop = shutdown.subscribe();
        let app = router(state.clone());
        spawn_background(&state, stop.clone());
        let handle = tokio::spawn(async move {
            let serve = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            });
            if let Err(err) = serve.await {
                tracing::error!(error = %err, "server stopped with an error");
            }
        });
        tracing::info!(%addr, backend = state.db.backend.name(), objects = state.objects.kind, "botmox listening");
        Ok(Self {
            addr,
            state,
            bootstrap,
            shutdown,
            handle,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight requests, writes buffered heartbeats and queued
    /// audit records, and waits.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        Self::join(self.handle, self.state.config.shutdown_grace).await;
        Self::drain(&self.state).await;
    }

    /// Serves until the task ends (after `stop` from elsewhere or an error), then drains. The
    /// grace period starts when shutdown is requested, not when serving starts.
    pub async fn wait(self) {
        let mut handle = self.handle;
        let mut stopping = self.shutdown.subscribe();
        // Serve for as long as it takes; the grace period only starts once a stop was asked.
        tokio::select! {
            _ = &mut handle => {}
            _ = stopping.wait_for(|s| *s) => Self::join(handle, self.state.config.shutdown_grace).await,
        }
        Self::drain(&self.state).await;
    }

    async fn drain(state: &AppState) {
        state.vmgen.release_leases().await;
        state.agents.flush_heartbeats().await;
        state.audit.shutdown().await;
    }

    /// After a stop was asked: waits for in-flight requests, but not forever; a client that
    /// keeps a connection open past the grace period is cut off.
    async fn join(mut handle: JoinHandle<()>, grace: Duration) {
        if tokio::time::timeout(grace, &mut handle).await.is_err() {
            tracing::warn!("connections still open after the shutdown grace period; closing them");
            handle.abort();
        }
    }

    pub fn shutdown_handle(&self) -> tokio::sync::watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Periodic housekeeping shared by every domain.
fn spawn_background(state: &AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    state.bus.spawn_listener(stop.clone());
    state
        .events
        .spawn_tailer(state.bus.events_notify(), stop.clone());
    vmgen::runner::spawn(state.vmgen.clone(), stop.clone());
    every(state.config.heartbeat_flush, stop.clone(), {
        let agents = state.agents.clone();
        move || {
            let agents = agents.clone();
            async move { agents.flush_heartbeats().await }
        }
    });
    every(state.config.sweep_interval, stop.clone(), {
        let vm_ops = state.vm_ops.clone();
        move || {
            let vm_ops = vm_ops.clone();
            async move {
                if let Err(err) = vm_ops.sweep().await {
                    tracing::warn!(error = %err, "reliability sweep failed");
                }
            }
        }
    });
    every(Duration::from_secs(3600), stop.clone(), {
        let ipqs = state.ipqs.clone();
        move || {
            let ipqs = ipqs.clone();
            async move {
                if let Err(err) = ipqs.purge_expired().await {
                    tracing::warn!(error = %err, "purging expired IPQS reports failed");
                }
            }
        }
    });
    let auth = state.auth.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(err) = auth.reload_revoked().await {
                        tracing::warn!(error = %format!("{err:#}"), "reloading revoked tokens failed");
                    }
                }
                _ = stop.changed() => break,
            }
        }
    });
}

/// Runs `job` every `period` until `stop` fires; a slow run delays the next, never overlaps.
fn every<F, Fut>(period: Duration, mut stop: tokio::sync::watch::Receiver<bool>, job: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => job().await,
                _ = stop.changed() => break,
            }
        }
    });
}
