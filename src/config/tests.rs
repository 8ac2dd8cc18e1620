//! The configuration's promises: the contract's defaults, an error naming its
//! variable for each bad value, and a README table that cannot drift from the
//! declarations.

use super::*;

#[test]
fn variables_lists_exactly_what_the_configuration_reads() {
    let read = std::cell::RefCell::new(std::collections::BTreeSet::new());
    // With nothing set, every variable is still looked up (each then
    // takes its default), so the names asked for are all there are.
    let _ = Config::from_lookup(|name| {
        read.borrow_mut().insert(name.to_owned());
        None
    });
    let listed: std::collections::BTreeSet<String> =
        VARIABLES.iter().map(|&name| name.to_owned()).collect();
    assert_eq!(read.into_inner(), listed);
}

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|name| {
        vars.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    })
}

fn error_var(vars: &[(&str, &str)]) -> &'static str {
    match config(vars) {
        Err(err) => err.var,
        Ok(_) => panic!("expected a config error for {vars:?}"),
    }
}

#[test]
fn defaults_match_the_contract() {
    let config = config(&[]).expect("defaults are valid");
    assert_eq!(config.host, IpAddr::from([127, 0, 0, 1]));
    assert_eq!(config.port, 3000);
    assert!(config.secret.generated);
    assert_eq!(config.store, StoreConfig::Memory);
    assert_eq!(config.session_ttl, Duration::from_secs(86_400));
    assert_eq!(config.reload_interval, Duration::from_secs(30));
    assert_eq!(config.socket_auth, SocketAuth::Session);
    assert!(config.allowed_origins.is_empty());
    assert!(!config.cookie_secure);
    assert_eq!(config.log_filter, "info");
    assert_eq!(config.redis_prefix, "session-bridge:");
    assert_eq!(config.chat_history, 50);
    assert_eq!(config.presence_grace, Duration::from_secs(5));
    assert_eq!(config.instance_ttl, Duration::from_secs(30));
    assert_eq!(config.presence_batch, Duration::from_millis(100));
    assert_eq!(config.max_sockets_per_session, 64);
    assert_eq!(config.max_sessions, 100_000);
    assert_eq!(config.socket_queue_bytes, 1_048_576);
    assert_eq!(config.chat_rate, 5);
}

#[test]
fn each_bad_value_names_its_variable() {
    assert_eq!(error_var(&[("HOST", "localhost:80")]), "HOST");
    assert_eq!(error_var(&[("PORT", "70000")]), "PORT");
    assert_eq!(error_var(&[("SESSION_SECRET", "short")]), "SESSION_SECRET");
    assert_eq!(error_var(&[("REDIS_URL", "localhost:6379")]), "REDIS_URL");
    assert_eq!(error_var(&[("SESSION_TTL_SECS", "0")]), "SESSION_TTL_SECS");
    assert_eq!(
        error_var(&[("SESSION_RELOAD_INTERVAL_SECS", "soon")]),
        "SESSION_RELOAD_INTERVAL_SECS"
    );
    assert_eq!(error_var(&[("SOCKET_AUTH", "anyone")]), "SOCKET_AUTH");
    assert_eq!(
        error_var(&[("ALLOWED_ORIGINS", "localhost:4200")]),
        "ALLOWED_ORIGINS"
    );
    assert_eq!(error_var(&[("COOKIE_SECURE", "maybe")]), "COOKIE_SECURE");
    assert_eq!(error_var(&[("RUST_LOG", "app=loud")]), "RUST_LOG");
    assert_eq!(
        error_var(&[("REDIS_KEY_PREFIX", "my app:")]),
        "REDIS_KEY_PREFIX"
    );
    for (var, bad) in [
        ("CHAT_HISTORY", "1001"),
        ("CHAT_HISTORY", "-1"),
        ("PRESENCE_GRACE_SECS", "301"),
        ("INSTANCE_TTL_SECS", "2"),
        ("INSTANCE_TTL_SECS", "3601"),
        ("PRESENCE_BATCH_MS", "5001"),
        ("PRESENCE_BATCH_MS", "-1"),
        ("MAX_SOCKETS_PER_SESSION", "0"),
        ("MAX_SESSIONS", "99"),
        ("SOCKET_QUEUE_BYTES", "65535"),
        ("SOCKET_QUEUE_BYTES", "67108865"),
        ("CHAT_RATE", "0"),
        ("CHAT_RATE", "10001"),
    ] {
        assert_eq!(error_var(&[(var, bad)]), var, "{var}={bad}");
    }
}

fn error_line(vars: &[(&str, &str)]) -> String {
    match config(vars) {
        Err(err) => err.to_string(),
        Ok(_) => panic!("expected a config error for {vars:?}"),
    }
}

/// The exact line `main` prints after "configuration error: " for a bad
/// value of each variable: the variable, then what is wrong.
#[test]
fn each_error_says_what_is_wrong_in_one_line() {
    let number = |low, high| format!("expected a whole number from {low} to {high}");
    let seconds = "expected a whole number of seconds, at least 1";
    for (var, bad, problem) in [
        (
            "HOST",
            "localhost:80",
            "expected an IP address such as 127.0.0.1 or 0.0.0.0".to_owned(),
        ),
        (
            "PORT",
            "70000",
            "expected a port number from 0 to 65535".to_owned(),
        ),
        ("SESSION_TTL_SECS", "0", seconds.to_owned()),
        ("SESSION_RELOAD_INTERVAL_SECS", "soon", seconds.to_owned()),
        (
            "COOKIE_SECURE",
            " maybe",
            "expected `true` or `false`".to_owned(),
        ),
        (
            "REDIS_KEY_PREFIX",
            "my app:",
            "must not contain white space".to_owned(),
        ),
        ("CHAT_HISTORY", "1001", number(0, 1000)),
        ("PRESENCE_GRACE_SECS", "301", number(0, 300)),
        ("INSTANCE_TTL_SECS", "2", number(3, 3600)),
        ("PRESENCE_BATCH_MS", "-1", number(0, 5000)),
        ("MAX_SOCKETS_PER_SESSION", "0", number(1, 10_000)),
        ("MAX_SESSIONS", "99", number(100, 100_000_000)),
        ("SOCKET_QUEUE_BYTES", "65535", number(65_536, 67_108_864)),
        ("CHAT_RATE", "0", number(1, 10_000)),
    ] {
        assert_eq!(
            error_line(&[(var, bad)]),
            format!("{var}: {problem}, got {bad:?}")
        );
    }
    // The value as read, trimmed.
    assert_eq!(
        error_line(&[("SOCKET_AUTH", " anyone ")]),
        r#"SOCKET_AUTH: expected `session` or `login`, got "anyone""#
    );
    assert_eq!(
        error_line(&[("SESSION_SECRET", "short")]),
        "SESSION_SECRET: must be at least 64 bytes long, got 5 bytes"
    );
    // Never the URL itself: it may hold a password.
    let secret = "s".repeat(MIN_SECRET_LEN);
    assert_eq!(
        error_line(&[("REDIS_URL", "localhost:6379"), ("SESSION_SECRET", &secret)]),
        "REDIS_URL: expected a URL such as redis://127.0.0.1:6379/0 (InvalidClientConfig)"
    );
    assert_eq!(
        error_line(&[("REDIS_URL", "redis://127.0.0.1/0")]),
        "SESSION_SECRET: is required when REDIS_URL is set, because every instance must share it"
    );
    assert_eq!(
        error_line(&[("ALLOWED_ORIGINS", "http://a.example, localhost:4200")]),
        r#"ALLOWED_ORIGINS: "localhost:4200": expected scheme://host[:port]"#
    );
    // A library's multi-line message, folded onto one line.
    assert_eq!(
        error_line(&[("RUST_LOG", "a/[x")]),
        "RUST_LOG: not a valid log filter (\"a/[x\"): error parsing logger filter: \
         invalid regex filter - regex parse error: [x ^ error: unclosed character class"
    );
}

#[test]
fn range_ends_are_accepted() {
    let config = config(&[
        ("CHAT_HISTORY", "0"),
        ("PRESENCE_GRACE_SECS", "0"),
        ("INSTANCE_TTL_SECS", "3"),
        ("PRESENCE_BATCH_MS", "5000"),
        ("MAX_SOCKETS_PER_SESSION", "10000"),
        ("MAX_SESSIONS", "100"),
        ("SOCKET_QUEUE_BYTES", "67108864"),
        ("CHAT_RATE", "10000"),
    ])
    .expect("range ends are valid");
    assert_eq!(config.chat_history, 0);
    assert_eq!(config.presence_grace, Duration::ZERO);
    assert_eq!(config.instance_ttl, Duration::from_secs(3));
    assert_eq!(config.presence_batch, Duration::from_millis(5000));
    assert_eq!(config.max_sockets_per_session, 10_000);
    assert_eq!(config.max_sessions, 100);
    assert_eq!(config.socket_queue_bytes, 67_108_864);
    assert_eq!(config.chat_rate, 10_000);
}

#[test]
fn redis_requires_a_shared_secret() {
    assert_eq!(
        error_var(&[("REDIS_URL", "redis://127.0.0.1:6379/0")]),
        "SESSION_SECRET"
    );
    let secret = "s".repeat(MIN_SECRET_LEN);
    let config = config(&[
        ("REDIS_URL", "redis://127.0.0.1:6379/0"),
        ("SESSION_SECRET", &secret),
    ])
    .expect("redis with a secret is valid");
    assert!(!config.secret.generated);
}

#[test]
fn allowed_origins_are_parsed_and_normalised() {
    let config = config(&[(
        "ALLOWED_ORIGINS",
        "http://localhost:4200, HTTPS://Example.com",
    )])
    .expect("valid origins");
    assert_eq!(config.allowed_origins.len(), 2);
    assert!(config
        .allowed_origins
        .contains(&Origin::parse("https://example.com:443").expect("valid")));
}

#[test]
fn each_variable_is_declared_once() {
    let mut names = VARIABLES.to_vec();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), VARIABLES.len(), "{:?}", *VARIABLES);
}

/// The README's table is what the declarations render: change a variable in
/// `src/config/vars.rs`, then paste [`markdown_table`]'s output (printed
/// below when they differ) into the README.
#[test]
fn the_readme_table_is_rendered_from_the_declarations() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).expect("README.md is readable");
    let section = readme
        .split_once("\n## Configuration\n")
        .map(|(_, section)| section)
        .expect("README.md has a \"## Configuration\" section");
    let table: String = section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .map(|line| format!("{line}\n"))
        .collect();
    let rendered = markdown_table();
    assert!(
        table == rendered,
        "README.md's Configuration table differs from the declarations; it should read:\n\n{rendered}"
    );
}
