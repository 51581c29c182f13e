//! The storage backends the server's tests run on, each test once per backend: SQLite in a
//! temporary file, and PostgreSQL in a fresh database of the scratch cluster the test command
//! starts on loopback (`pacenote-scratch-pg`). Must not: fall back to SQLite, or skip, when
//! PostgreSQL cannot be had — the test fails and says why.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::storage::{DEFAULT_MAX_CONNECTIONS, PostgresStorage, SqliteStorage, Storage};

/// A backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where one test's server keeps its data: reopened on the same data after a restart.
#[derive(Debug, Clone)]
pub enum TestDatabase {
    Sqlite(PathBuf),
    Postgres(String),
}

impl TestDatabase {
    /// A new, empty database of `backend` (a file in `dir`, or a fresh PostgreSQL database).
    ///
    /// # Panics
    /// When the scratch PostgreSQL cluster cannot be started (the message says why).
    pub fn new(backend: Backend, dir: &Path) -> Self {
        match backend {
            Backend::Sqlite => Self::Sqlite(dir.join("server.db")),
            Backend::Postgres => {
                let cluster = pacenote_scratch_pg::for_tests()
                    .unwrap_or_else(|e| panic!("the scratch PostgreSQL cluster: {e}"));
                Self::Postgres(cluster.fresh_database("server").unwrap_or_else(|e| panic!("{e}")))
            }
        }
    }

    /// Opens (and on first use creates the schema of) the database.
    ///
    /// # Panics
    /// When it cannot be opened.
    pub fn open(&self) -> Arc<dyn Storage> {
        match self {
            Self::Sqlite(path) => Arc::new(SqliteStorage::open(path).expect("SQLite server db")),
            Self::Postgres(url) => Arc::new(
                PostgresStorage::connect(url, DEFAULT_MAX_CONNECTIONS).expect("PostgreSQL server db"),
            ),
        }
    }
}

/// `on_both_backends!(name, ...)`: for each `fn name(backend: Backend)`, a module `name` with
/// the tests `sqlite` and `postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name($crate::test_backends::Backend::Sqlite);
                }
                #[test]
                fn postgres() {
                    super::$name($crate::test_backends::Backend::Postgres);
                }
            }
        )*
    };
}
