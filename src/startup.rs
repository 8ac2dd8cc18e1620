//! Builds the application: config → store → registry → events → services →
//! server.
//!
//! [`Application::build`] binds the listener before returning, so tests can
//! ask for port 0 and read the real port from [`Application::port`].

use std::{net::TcpListener, time::Duration};

use actix_cors::Cors;
use actix_web::{
    dev::Server,
    http::{header, Method},
    middleware::{from_fn, Logger},
    web, App, HttpServer,
};

use crate::{
    config::{Config, StoreConfig},
    events::{spawn_subscriber, Events, InstanceId, RedisEvents, Registry},
    net,
    origin::OriginPolicy,
    routes,
    services::{Lobby, Presence, Services, Sessions},
    session::{RoomKey, SessionCookie},
    shutdown::Shutdown,
    socket::{self, ChatLimiter, CLIENT_TIMEOUT},
    state::AppState,
    store::{MemoryStore, RedisStore, Store},
    telemetry,
};

/// How long actix waits for in-flight requests once shutdown has drained
/// the sockets.
const SHUTDOWN_TIMEOUT_SECS: u64 = 3;

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
    sessions: Sessions,
}

impl Application {
    /// Builds every part and binds `config.host:config.port`. Must run inside
    /// an actix system (`#[actix_web::main]`, `#[actix_web::test]`).
    pub async fn build(config: Config) -> std::io::Result<Self> {
        Self::build_with(config, |_: &mut web::ServiceConfig| {}).await
    }

    /// [`Application::build`] with `extra` routes, registered before the
    /// app's own so that one of them may take an app path (the examples
    /// serve their page at `/`). They pass through the same middleware.
    pub async fn build_with(
        config: Config,
        extra: impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    ) -> std::io::Result<Self> {
        // Before anything records: samples taken without a recorder are lost.
        let metrics = web::Data::new(telemetry::install());
        let registry = Registry::with_batches_of(config.presence_batch);
        let services = build_services(&config, &registry)?;
        services.presence.spawn_keeper();
        registry.spawn_watchdog(CLIENT_TIMEOUT);
        let shutdown = Shutdown::default();
        let sessions = services.sessions.clone();
        let state = web::Data::new(app_state(&config, services, shutdown.clone()));

        let listener = TcpListener::bind((config.host, config.port))?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(routes::json_config())
                .wrap(from_fn(routes::reject_foreign_writes))
                .wrap(cors(&state.origins))
                .wrap(Logger::new(r#"%a "%r" %s %b %Dms"#))
                // Outermost: every request is measured, refused ones too.
                .wrap(from_fn(routes::measure))
                .configure(&extra)
                .configure(routes::configure)
                .configure(|_cfg| {
                    #[cfg(feature = "socketio")]
                    crate::socketio::configure(_cfg);
                })
        })
        // Pushed frames go out at once: with Nagle's algorithm a socket that
        // both posts and receives waited for the client's delayed ACK (25 to
        // 40 ms per message in the lobby load scenario with several senders).
        .tcp_nodelay(true)
        // Socket options, and a handle that can end a connection whose
        // stream is frozen (see `net`).
        .on_connect(net::on_connect)
        .listen(listener)?
        .shutdown_signal(shutdown.on_signal(registry.clone()))
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .run();

        Ok(Self {
            port,
            server,
            sessions,
        })
    }

    /// The port the server is bound to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The session service (tests use it to inspect the store).
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Serves until shutdown.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// What every handler and socket reads: the services and the settings
/// taken from `config`.
fn app_state(config: &Config, services: Services, shutdown: Shutdown) -> AppState {
    AppState {
        services,
        sockets: socket::Settings {
            reload_interval: config.reload_interval,
            queue_bytes: config.socket_queue_bytes,
            chat_limit: ChatLimiter::new(config.chat_rate),
        },
        cookie: SessionCookie::new(config.secret.key.clone(), config.cookie_secure),
        origins: OriginPolicy::new(config.allowed_origins.clone()),
        socket_auth: config.socket_auth,
        max_sockets_per_session: config.max_sockets_per_session,
        shutdown,
    }
}

/// The services over the configured store, announcing through `registry`
/// (and with Redis, through every other instance).
fn build_services(config: &Config, registry: &Registry) -> std::io::Result<Services> {
    let instance = InstanceId::generate();
    let (store, events) = build_store(config, registry, &instance)?;
    let sessions = Sessions::new(
        store.clone(),
        events.clone(),
        RoomKey::new(&config.secret.key),
        config.session_ttl,
    );
    let lobby = Lobby::new(
        store.clone(),
        events.clone(),
        config.chat_history,
        instance.clone(),
    );
    let presence = Presence::new(
        store,
        events.clone(),
        instance,
        config.presence_grace,
        config.instance_ttl,
    );
    Ok(Services {
        sessions,
        lobby,
        presence,
        events,
    })
}

/// The store and the events path that go with it: in-process for the
/// embedded store; also Redis pub/sub (with its subscriber started) for Redis.
fn build_store(
    config: &Config,
    registry: &Registry,
    instance: &InstanceId,
) -> std::io::Result<(Store, Events)> {
    match &config.store {
        StoreConfig::Memory => {
            let store = MemoryStore::with_capacity(config.max_sessions)
                .with_rooms(RoomKey::new(&config.secret.key));
            // Sweep often enough that an idle session's memory is freed soon
            // after it expires, but never more than once a second.
            let every =
                (config.session_ttl / 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
            store.spawn_sweeper(every);
            Ok((Store::Memory(store), Events::local(registry.clone())))
        }
        StoreConfig::Redis(url) => {
            let client = RedisStore::client(url).map_err(std::io::Error::other)?;
            log::info!(
                "sessions and events in Redis at {} (prefix {:?})",
                client.get_connection_info().addr(),
                config.redis_prefix
            );
            let rooms = RoomKey::new(&config.secret.key);
            let store = RedisStore::new(client.clone(), &config.redis_prefix, rooms)
                .map_err(std::io::Error::other)?;
            let channel = store.events_channel();
            spawn_subscriber(client, channel.clone(), registry.clone(), instance.clone());
            let publisher = RedisEvents::new(store.connection(), &channel, instance.clone());
            publisher.spawn_heartbeat();
            Ok((
                Store::Redis(store),
                Events::redis(registry.clone(), publisher),
            ))
        }
    }
}

/// CORS for the origins in `ALLOWED_ORIGINS`, with credentials. Other
/// origins get no CORS headers (the browser then hides our answers from
/// them); the origin guard refuses their writes.
fn cors(origins: &OriginPolicy) -> Cors {
    let origins = origins.clone();
    Cors::default()
        .allowed_origin_fn(move |origin, _| origins.is_listed(origin))
        .allowed_methods([Method::GET, Method::POST])
        .allowed_headers([header::CONTENT_TYPE])
        .supports_credentials()
        .block_on_origin_mismatch(false)
        .max_age(3600)
}
