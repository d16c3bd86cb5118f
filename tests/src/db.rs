//! Databases for the differential tests (sqlops, auth_db): fresh
//! databases on SQLite, MariaDB and PostgreSQL holding Kamailio's schema
//! (Debian's `*-create.sql`, read where the packages install them), the
//! database user the proxies log in as, and the operator's `kamctl` run
//! against them.
//!
//! MariaDB and PostgreSQL must be running (`.ci/run` starts them); the
//! helpers reach them as root through the local clients (`mysql -u root`,
//! `runuser -u postgres -- psql`) and the proxies on
//! `CFGC_TEST_MYSQL_HOST`:`CFGC_TEST_MYSQL_PORT` (127.0.0.1:3306) and
//! `CFGC_TEST_PG_HOST`:`CFGC_TEST_PG_PORT` (127.0.0.1:5432). A missing
//! server or package fails the test, never skips it.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Where Debian installs Kamailio's schema files.
pub const SCHEMA: &str = "/usr/share/kamailio";

/// A database user the proxies log in as (MariaDB, PostgreSQL).
#[derive(Clone, Copy, Debug)]
pub struct DbUser {
    pub name: &'static str,
    pub password: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Mysql,
    Postgres,
}

impl Backend {
    /// The cfg define that loads this backend's db module.
    pub fn define(self) -> &'static str {
        match self {
            Backend::Sqlite => "WITH_SQLITE",
            Backend::Mysql => "WITH_MYSQL",
            Backend::Postgres => "WITH_POSTGRES",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Mysql => "mysql",
            Backend::Postgres => "postgres",
        }
    }

    /// Debian's schema files `files` for this driver, concatenated.
    ///
    /// # Panics
    /// A file is missing (its package is named).
    pub fn schema(self, files: &[&str]) -> String {
        let dir = match self {
            Backend::Sqlite => "db_sqlite",
            Backend::Mysql => "mysql",
            Backend::Postgres => "postgres",
        };
        let pkg = match self {
            Backend::Sqlite => "kamailio-sqlite-modules",
            Backend::Mysql => "kamailio-mysql-modules",
            Backend::Postgres => "kamailio-postgres-modules",
        };
        files
            .iter()
            .map(|f| {
                let p = Path::new(SCHEMA).join(dir).join(f);
                std::fs::read_to_string(&p)
                    .unwrap_or_else(|e| panic!("{}: {e} (apt-get install {pkg})", p.display()))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The server's address as the proxies reach it.
    pub fn server(self) -> (String, u16) {
        let (h, p, default) = match self {
            Backend::Sqlite => return (String::new(), 0),
            Backend::Mysql => ("CFGC_TEST_MYSQL_HOST", "CFGC_TEST_MYSQL_PORT", 3306),
            Backend::Postgres => ("CFGC_TEST_PG_HOST", "CFGC_TEST_PG_PORT", 5432),
        };
        let host = std::env::var(h).unwrap_or_else(|_| "127.0.0.1".into());
        let port = std::env::var(p)
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(default);
        (host, port)
    }
}

/// Runs `cmd` with `input` on its standard input; its standard output.
///
/// # Panics
/// It cannot run or fails (with its output).
pub fn run(mut cmd: Command, input: &str, what: &str) -> String {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{what} failed ({cmd:?}): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `mysql -u root [db]`.
pub fn mysql_admin(db: Option<&str>) -> Command {
    let mut c = Command::new("mysql");
    c.args(["-u", "root"]);
    if let Some(db) = db {
        c.arg(db);
    }
    c
}

/// `psql` as the `postgres` superuser.
pub fn psql_admin() -> Command {
    let mut c = Command::new("runuser");
    c.args([
        "-u",
        "postgres",
        "--",
        "psql",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
    ]);
    c
}

/// `psql` as `user` on database `db` at `host`:`port`.
pub fn psql_user(user: DbUser, db: &str, host: &str, port: u16) -> Command {
    let mut c = Command::new("psql");
    c.args([
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        host,
        "-p",
        &port.to_string(),
    ])
    .args(["-U", user.name, "-d", db])
    .env("PGPASSWORD", user.password);
    c
}

/// The user the proxies log in as, made once per test binary and user.
fn make_user(b: Backend, user: DbUser) {
    static DONE: Mutex<Vec<(Backend, &str)>> = Mutex::new(Vec::new());
    if b == Backend::Sqlite {
        return;
    }
    let mut done = DONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if done.contains(&(b, user.name)) {
        return;
    }
    let DbUser { name, password } = user;
    match b {
        Backend::Mysql => {
            run(
                mysql_admin(None),
                &format!(
                    "CREATE OR REPLACE USER '{name}'@'%' IDENTIFIED BY '{password}';\n\
                     CREATE OR REPLACE USER '{name}'@'localhost' IDENTIFIED BY '{password}';\n"
                ),
                "creating the MariaDB user (is mariadb running? .ci/run starts it)",
            );
        }
        Backend::Postgres => {
            run(
                psql_admin(),
                &format!(
                    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') \
                     THEN CREATE ROLE {name} LOGIN PASSWORD '{password}'; END IF; END $$;\n"
                ),
                "creating the PostgreSQL role (is postgresql running? .ci/run starts it)",
            );
        }
        Backend::Sqlite => {}
    }
    done.push((b, user.name));
}

/// A fresh database called `name` (dropped first if it exists) holding
/// Debian's schema `files`, owned by `user`. Dropped (the SQLite file
/// removed) when this goes out of scope, unless the test is failing: then
/// it stays for a look.
#[derive(Debug)]
pub struct FreshDb {
    pub backend: Backend,
    pub name: String,
    pub user: DbUser,
    /// SQLite: the file.
    pub path: String,
}

impl FreshDb {
    /// Makes it.
    ///
    /// # Panics
    /// The server is not running, a schema file is missing.
    pub fn new(b: Backend, name: &str, files: &[&str], user: DbUser, tmp: &Path) -> Self {
        make_user(b, user);
        let mut path = String::new();
        match b {
            Backend::Sqlite => {
                std::fs::create_dir_all(tmp).expect("mkdir");
                let p = tmp.join(format!("{name}.db"));
                let _ = std::fs::remove_file(&p);
                run(
                    {
                        let mut c = Command::new("sqlite3");
                        c.arg(&p);
                        c
                    },
                    &b.schema(files),
                    "loading Kamailio's sqlite schema (apt-get install sqlite3)",
                );
                path = p.display().to_string();
            }
            Backend::Mysql => {
                let u = user.name;
                run(
                    mysql_admin(None),
                    &format!(
                        "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};\n\
                         GRANT ALL ON {name}.* TO '{u}'@'%';\n\
                         GRANT ALL ON {name}.* TO '{u}'@'localhost';\n"
                    ),
                    "creating a MariaDB database",
                );
                run(
                    mysql_admin(Some(name)),
                    &b.schema(files),
                    "loading Kamailio's mysql schema",
                );
            }
            Backend::Postgres => {
                run(
                    psql_admin(),
                    &format!(
                        "DROP DATABASE IF EXISTS {name};\nCREATE DATABASE {name} OWNER {};\n",
                        user.name
                    ),
                    "creating a PostgreSQL database",
                );
                let (h, p) = b.server();
                run(
                    psql_user(user, name, &h, p),
                    &b.schema(files),
                    "loading Kamailio's postgres schema",
                );
            }
        }
        Self {
            backend: b,
            name: name.to_string(),
            user,
            path,
        }
    }

    /// A fresh SQLite database made by the operator's
    /// `kamdbctl create` (Kamailio's core tables, answering no to the
    /// optional ones).
    ///
    /// # Panics
    /// kamdbctl cannot run or fails.
    pub fn kamdbctl_sqlite(name: &str, tmp: &Path) -> Self {
        Self::kamdbctl_sqlite_answering(name, tmp, "n\nn\nn\n")
    }

    /// [`FreshDb::kamdbctl_sqlite`], kamdbctl's questions answered by the
    /// lines of `answers` (`"n\ny\n"`: no presence tables, the extra
    /// modules' tables, htable's among them).
    ///
    /// # Panics
    /// kamdbctl cannot run or fails.
    pub fn kamdbctl_sqlite_answering(name: &str, tmp: &Path, answers: &str) -> Self {
        std::fs::create_dir_all(tmp).expect("mkdir");
        let p = tmp.join(format!("{name}.db"));
        let _ = std::fs::remove_file(&p);
        let path = p.display().to_string();
        let mut c = Command::new("kamdbctl");
        c.args(["create", &path])
            .env_clear()
            .env("DBENGINE", "SQLITE")
            .env("DB_PATH", &path);
        if let Some(p) = std::env::var_os("PATH") {
            c.env("PATH", p);
        }
        let out = run(c, answers, "kamdbctl create (apt-get install sqlite3)");
        assert!(
            out.contains("successfully created"),
            "kamdbctl create: {out}"
        );
        Self {
            backend: Backend::Sqlite,
            name: name.to_string(),
            user: DbUser {
                name: "",
                password: "",
            },
            path,
        }
    }

    /// Its `db_url` for a proxy reaching the server at `server`.
    pub fn url_via(&self, server: &(String, u16)) -> String {
        let DbUser { name, password } = self.user;
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.path),
            Backend::Mysql => format!(
                "mysql://{name}:{password}@{}:{}/{}",
                server.0, server.1, self.name
            ),
            Backend::Postgres => format!(
                "postgres://{name}:{password}@{}:{}/{}",
                server.0, server.1, self.name
            ),
        }
    }

    /// Its `db_url` on the server itself.
    pub fn url(&self) -> String {
        self.url_via(&self.backend.server())
    }

    /// Runs `sql` on it as its owner (as an operator's own tooling would).
    ///
    /// # Panics
    /// The statement fails.
    pub fn sql(&self, sql: &str) -> String {
        let c = match self.backend {
            Backend::Sqlite => {
                let mut c = Command::new("sqlite3");
                c.arg(&self.path);
                c
            }
            Backend::Mysql => mysql_admin(Some(&self.name)),
            Backend::Postgres => {
                let (h, p) = self.backend.server();
                psql_user(self.user, &self.name, &h, p)
            }
        };
        run(c, sql, "a statement on the test database")
    }

    /// The rows `select` returns, one line each, without column names
    /// (columns separated by `|`, by a tab on MariaDB; empty lines left
    /// out).
    ///
    /// # Panics
    /// The statement fails.
    pub fn rows(&self, select: &str) -> Vec<String> {
        let c = match self.backend {
            Backend::Sqlite => {
                let mut c = Command::new("sqlite3");
                c.arg(&self.path);
                c
            }
            Backend::Mysql => {
                let mut c = mysql_admin(Some(&self.name));
                c.arg("--skip-column-names");
                c
            }
            Backend::Postgres => {
                let (h, p) = self.backend.server();
                let mut c = psql_user(self.user, &self.name, &h, p);
                c.args(["--no-align", "--tuples-only"]);
                c
            }
        };
        run(c, select, "a query on the test database")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Runs the operator's `kamctl` on it (`kamctl add alice@dom pw`),
    /// configured by the environment as a kamctlrc would be.
    ///
    /// # Panics
    /// kamctl cannot run or fails.
    pub fn kamctl(&self, args: &[&str]) -> String {
        let mut c = Command::new("kamctl");
        c.args(args).env_clear();
        if let Some(p) = std::env::var_os("PATH") {
            c.env("PATH", p);
        }
        let (host, port) = self.backend.server();
        let DbUser { name, password } = self.user;
        match self.backend {
            Backend::Sqlite => {
                c.env("DBENGINE", "SQLITE").env("DB_PATH", &self.path);
            }
            Backend::Mysql | Backend::Postgres => {
                let engine = if self.backend == Backend::Mysql {
                    "MYSQL"
                } else {
                    "PGSQL"
                };
                c.env("DBENGINE", engine)
                    .env("DBHOST", host)
                    .env("DBPORT", port.to_string())
                    .env("DBNAME", &self.name)
                    .env("DBRWUSER", name)
                    .env("DBRWPW", password)
                    .env("DBROUSER", name)
                    .env("DBROPW", password);
            }
        }
        let out = run(c, "", &format!("kamctl {}", args.join(" ")));
        assert!(
            !out.contains("already exists") && !out.contains("ERROR"),
            "kamctl {}: {out}",
            args.join(" ")
        );
        out
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let (mut c, sql) = match self.backend {
            Backend::Sqlite => {
                let _ = std::fs::remove_file(&self.path);
                return;
            }
            Backend::Mysql => (
                mysql_admin(None),
                format!("DROP DATABASE IF EXISTS {};\n", self.name),
            ),
            // FORCE: a proxy's connection that is still closing.
            Backend::Postgres => (
                psql_admin(),
                format!("DROP DATABASE IF EXISTS {} WITH (FORCE);\n", self.name),
            ),
        };
        let child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(mut child) = child {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(sql.as_bytes());
            }
            let _ = child.wait();
        }
    }
}

/// A TCP relay to a database server that the test can cut: every open
/// connection closed and new ones dropped at once, until restored.
pub struct Relay {
    /// The port the proxies connect to.
    pub port: u16,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    /// Connections accepted so far (dropped ones included).
    accepted: Arc<AtomicUsize>,
}

impl Relay {
    /// A relay on a free loopback port to `upstream` (host, port).
    ///
    /// # Panics
    /// No port can be bound.
    pub fn new(upstream: (String, u16)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("relay listens");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let accepted: Arc<AtomicUsize> = Arc::default();
        let (up2, conns2, accepted2) = (up.clone(), conns.clone(), accepted.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                accepted2.fetch_add(1, Ordering::SeqCst);
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect((upstream.0.as_str(), upstream.1)) else {
                    continue;
                };
                let mut list = conns2.lock().expect("lock");
                for s in [&client, &server] {
                    if let Ok(c) = s.try_clone() {
                        list.push(c);
                    }
                }
                for (mut from, mut to) in [
                    (client.try_clone(), server.try_clone()),
                    (server.try_clone(), client.try_clone()),
                ]
                .into_iter()
                .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
                {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Self {
            port,
            up,
            conns,
            accepted,
        }
    }

    /// Closes every connection and drops new ones, once no new
    /// connection has come for two seconds (at most 20 s): a proxy still
    /// starting its processes must not lose a start-up connection
    /// (Kamailio exits when its timer process cannot connect in
    /// `child_init`, which a loaded machine showed).
    pub fn cut(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut seen = self.accepted.load(Ordering::SeqCst);
        while std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_secs(2));
            let now = self.accepted.load(Ordering::SeqCst);
            if now == seen {
                break;
            }
            seen = now;
        }
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().expect("lock").drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}
