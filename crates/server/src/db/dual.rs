//! Hot paths use sqlx directly. The SQL is written once (with `$N` placeholders, which both
//! PostgreSQL and SQLite accept) and this macro instantiates the same code for whichever pool
//! the database has; where the dialects really differ, the two strings sit side by side at the
//! call site.

/// `with_pool!(db, |pool| async-expression using pool)`.
#[macro_export]
macro_rules! with_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db.backend {
            $crate::db::Backend::Postgres => {
                let $pool = $db.conn.get_postgres_connection_pool();
                $body
            }
            $crate::db::Backend::Sqlite => {
                let $pool = $db.conn.get_sqlite_connection_pool();
                $body
            }
        }
    };
}

/// A value bound into dynamically built SQL.
#[derive(Debug, Clone)]
pub enum Bind {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
}

/// Binds values in order onto a query of either dialect.
#[macro_export]
macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                $crate::db::dual::Bind::Text(v) => q.bind(v),
                $crate::db::dual::Bind::OptText(v) => q.bind(v),
                $crate::db::dual::Bind::Int(v) => q.bind(v),
                $crate::db::dual::Bind::OptInt(v) => q.bind(v),
                $crate::db::dual::Bind::Bool(v) => q.bind(v),
            };
        }
        q
    }};
}

/// Numbered placeholders `$1, $2, …` handed out in order.
#[derive(Default)]
pub struct Placeholders(usize);

impl Placeholders {
    pub fn mark(&mut self) -> String {
        self.0 += 1;
        format!("${}", self.0)
    }

    /// Replaces each `?` in `sql` with the next numbered placeholder.
    pub fn number(&mut self, sql: &str) -> String {
        let mut out = String::with_capacity(sql.len() + 8);
        for ch in sql.chars() {
            if ch == '?' {
                out.push_str(&self.mark());
            } else {
                out.push(ch);
            }
        }
        out
    }
}
