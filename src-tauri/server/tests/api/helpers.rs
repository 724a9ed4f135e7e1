//! `spawn_app()`: the real server on 127.0.0.1:0 with a fresh SQLite file and a manual clock — or,
//! when `STABLEPAY_TEST_POSTGRES` names a PostgreSQL server (`npm test` starts a throwaway one,
//! `scripts/postgres.mjs`), a fresh database of its own there: the whole suite runs on both stores.

use std::{path::PathBuf, sync::Arc};

use chrono::{Duration, TimeZone, Utc};
use reqwest::{Client, Response};
use serde_json::{json, Value};
use stablepay_core::{
    clock::{Clock, ManualClock},
    config::Config,
};
use stablepay_server::RunningServer;
use tempfile::TempDir;

/// The merchant's receive address in every test.
pub(crate) const MERCHANT: &str = "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d";

pub(crate) struct TestApp {
    pub base: String,
    pub client: Client,
    pub clock: Arc<ManualClock>,
    pub server: Option<RunningServer>,
    pub dir: TempDir,
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn create(&self, body: Value) -> Response {
        self.client
            .post(self.url("/api/v1/payments"))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    /// Creates a payment that must succeed, and returns its JSON.
    pub(crate) async fn create_ok(&self, body: Value) -> Value {
        let r = self.create(body).await;
        assert_eq!(r.status(), 201, "create failed");
        r.json().await.unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// GETs `path`, which must answer JSON, and parses it.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.get(path).await.json().await.expect("a JSON answer")
    }

    /// Sends `method path` as the holder of `token` and parses the JSON answer.
    pub(crate) async fn json_as(&self, method: reqwest::Method, path: &str, token: &str) -> Value {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("a JSON answer")
    }

    pub(crate) async fn post_empty(&self, path: &str) -> Response {
        self.client
            .post(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub(crate) fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub(crate) fn db_path(&self) -> PathBuf {
        self.dir.path().join("stablepay.db")
    }

    /// A second connection to the app's database: for simulating outcomes (e.g. a settled payment)
    /// that only the chain watcher produces, and for reading what the API does not show.
    async fn connection(&self) -> sqlx::AnyConnection {
        connect(&store_url(&self.db_path())).await
    }

    /// One number read with `query` on a second connection.
    pub(crate) async fn sql_count(&self, query: &str) -> i64 {
        let mut conn = self.connection().await;
        sqlx::query_scalar(query)
            .fetch_one(&mut conn)
            .await
            .expect("test query runs")
    }

    /// One text value read with `query` on a second connection.
    pub(crate) async fn sql_text(&self, query: &str) -> String {
        let mut conn = self.connection().await;
        sqlx::query_scalar(query)
            .fetch_one(&mut conn)
            .await
            .expect("test query runs")
    }

    /// Runs `statement` on a second connection.
    pub(crate) async fn sql(&self, statement: &str) {
        let mut conn = self.connection().await;
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect("test statement runs");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            tokio::spawn(server.shutdown());
        }
    }
}

/// The PostgreSQL server the suite runs on instead of SQLite files, if any.
pub(crate) fn postgres() -> Option<String> {
    std::env::var("STABLEPAY_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
}

/// On PostgreSQL, the database standing for the SQLite file `db` (made on first use, one per test
/// folder); `None` on SQLite.
pub(crate) fn database_url(db: &std::path::Path) -> Option<String> {
    use std::{
        collections::HashSet,
        hash::{Hash, Hasher},
        sync::Mutex,
    };
    static MADE: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let server = postgres()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    db.hash(&mut hasher);
    let name = format!("t_{:016x}", hasher.finish());
    let mut made = MADE.lock().unwrap();
    if made.get_or_insert_with(HashSet::new).insert(name.clone()) {
        let out = std::process::Command::new("psql")
            .arg(&server)
            .args(["-v", "ON_ERROR_STOP=1", "-qc"])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .expect("psql runs");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || said.contains("already exists"),
            "cannot make the test database {name}: {said}"
        );
    }
    let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

/// The URL of the store standing for the SQLite file `db`: that file, or its PostgreSQL database.
pub(crate) fn store_url(db: &std::path::Path) -> String {
    database_url(db).unwrap_or_else(|| format!("sqlite://{}", db.display()))
}

/// A connection of the tests' own to the store at `url`.
pub(crate) async fn connect(url: &str) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(url)
        .await
        .expect("test connection")
}

/// A valid config file body for tests that run the binary.
/// Without a `[chain]` section in `extra`, chain watching is off (the default networks are mainnet).
pub(crate) fn config_toml(db: &std::path::Path, extra: &str) -> String {
    let chain = if extra.contains("[chain]") {
        ""
    } else {
        "[chain]\nenabled = false\n"
    };
    let url = database_url(db).map_or(String::new(), |u| format!("url = \"{u}\"\n"));
    format!(
        "[server]\nbind = \"127.0.0.1:0\"\nrate_limit_per_second = 0\n[database]\npath = \"{}\"\n{url}[merchant]\nreceive_address = \"{MERCHANT}\"\n{chain}{extra}",
        db.display()
    )
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with("").await
}

/// Starts the server with `extra` TOML appended to the test config (sections must not repeat
/// `[server]`, `[database]` or `[merchant]`; use env-style overrides in `tweak` for those).
pub(crate) async fn spawn_app_with(extra: &str) -> TestApp {
    spawn_app_tweaked(extra, |_| {}).await
}

pub(crate) async fn spawn_app_tweaked(extra: &str, tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_at(
        extra,
        tweak,
        Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap(),
    )
    .await
}

/// Starts the server with its (manual) clock at `start`: tests against a real chain start it at
/// the real time, since the chain's blocks carry real timestamps.
pub(crate) async fn spawn_app_at(
    extra: &str,
    tweak: impl FnOnce(&mut Config),
    start: chrono::DateTime<Utc>,
) -> TestApp {
    // TEST_LOG=info (say) shows the servers' logs beside a failing test's output.
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_toml_str(
        &config_toml(&dir.path().join("stablepay.db"), extra),
        std::iter::empty(),
    )
    .unwrap();
    tweak(&mut config);
    let clock = Arc::new(ManualClock::new(start));
    let server = stablepay_server::start(config, clock.clone() as Arc<dyn Clock>)
        .await
        .expect("server starts");
    let base = format!("http://{}", server.addr);
    TestApp {
        base,
        client: Client::new(),
        clock,
        server: Some(server),
        dir,
    }
}

/// A configured key with `role` (for `spawn_app_tweaked`).
pub(crate) fn key(
    secret: &str,
    role: stablepay_core::access::Role,
) -> stablepay_core::access::KeyConfig {
    stablepay_core::access::KeyConfig {
        key: stablepay_core::access::ApiKey::parse(secret).expect("a valid test key"),
        role,
        name: format!("test {role}"),
    }
}

pub(crate) fn usdt(amount: &str) -> Value {
    json!({ "amount": amount, "token": "USDT", "network": "bsc" })
}

/// Asserts an API error: status and stable code.
pub(crate) async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "unexpected status for expected code {code}"
    );
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "body: {body}"
    );
    body
}

/// Pairs a customer display the way a tablet does: a code asked for with `admin` (none on a
/// keyless shop), then `POST /displays/pair`. The pairing answer (`id`, `token`, `push_key`).
pub(crate) async fn pair_display(app: &TestApp, admin: Option<&str>) -> Value {
    let mut ask = app.client.post(app.url("/api/v1/displays/pairing"));
    if let Some(key) = admin {
        ask = ask.bearer_auth(key);
    }
    let code: Value = ask.send().await.unwrap().json().await.unwrap();
    let paired = app
        .client
        .post(app.url("/api/v1/displays/pair"))
        .json(&json!({ "code": code["code"], "name": "test display" }))
        .send()
        .await
        .unwrap();
    assert_eq!(paired.status(), 201, "pairing with a fresh code works");
    paired.json().await.unwrap()
}

/// Starts the real `stablepay-server` binary on `config` and returns it with its base URL, read from
/// its "listening on" line. The rest of its stdout is drained; `stderr` says where its logs go.
pub(crate) fn start_binary(
    config: &std::path::Path,
    rust_log: &str,
    stderr: std::process::Stdio,
) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stablepay-server"))
        .args(["serve", "--config"])
        .arg(config)
        .env("RUST_LOG", rust_log)
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().and_then(Result::ok).unwrap_or_default();
    std::thread::spawn(move || lines.for_each(drop));
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (child, format!("http://{addr}"))
}

/// Asks `probe` every 50 ms until it answers `Some`, for at most `within` (a loaded CI machine may
/// take seconds), and fails naming `what` — the one "wait until" of these tests.
pub(crate) async fn eventually<T, F, Fut>(
    what: &str,
    within: std::time::Duration,
    mut probe: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = std::time::Instant::now() + within;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(std::time::Instant::now() < until, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
