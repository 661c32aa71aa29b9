//! The dialect-neutral layer both backends implement: values, rows and one executor trait. Every query is
//! written once, in PostgreSQL's `$N` placeholder style; the SQLite executor rewrites `$N` to `?N`.

use crate::error::{Error, Result};

/// Which database runs the statements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Embedded SQLite: one process, one writer.
    Sqlite,
    /// Shared PostgreSQL: a fleet of relayers.
    Postgres,
}

/// A bound parameter or a column value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Val {
    /// SQL NULL.
    Null,
    /// A 64-bit integer (SQLite INTEGER, PostgreSQL BIGINT).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes (SQLite BLOB, PostgreSQL BYTEA).
    Bytes(Vec<u8>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

impl From<u64> for Val {
    fn from(v: u64) -> Self {
        Self::Int(super::to_i64(v))
    }
}

impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Self::Int(i64::from(v))
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Self::Text(v.to_string())
    }
}

impl From<String> for Val {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

impl From<&[u8]> for Val {
    fn from(v: &[u8]) -> Self {
        Self::Bytes(v.to_vec())
    }
}

impl<T: Into<Self>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// Builds a parameter list: `params![a, b]`.
macro_rules! params {
    ($($v:expr),* $(,)?) => { &[$($crate::db::sql::Val::from($v)),*][..] };
}
pub(crate) use params;

/// One result row, owned.
#[derive(Clone, Debug)]
pub(crate) struct Row(pub(crate) Vec<Val>);

impl Row {
    fn at(&self, i: usize) -> Result<&Val> {
        self.0.get(i).ok_or_else(|| Error::Corrupt(format!("row has no column {i}")))
    }

    /// An integer column that may be NULL.
    pub(crate) fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match self.at(i)? {
            Val::Null => Ok(None),
            Val::Int(v) => Ok(Some(*v)),
            other => Err(Error::Corrupt(format!("column {i}: expected an integer, found {other:?}"))),
        }
    }

    /// An integer column.
    pub(crate) fn int(&self, i: usize) -> Result<i64> {
        self.opt_int(i)?.ok_or_else(|| Error::Corrupt(format!("column {i} is NULL")))
    }

    /// A text column that may be NULL.
    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self.at(i)? {
            Val::Null => Ok(None),
            Val::Text(v) => Ok(Some(v.clone())),
            other => Err(Error::Corrupt(format!("column {i}: expected text, found {other:?}"))),
        }
    }

    /// A text column.
    pub(crate) fn text(&self, i: usize) -> Result<String> {
        self.opt_text(i)?.ok_or_else(|| Error::Corrupt(format!("column {i} is NULL")))
    }

    /// A bytes column that may be NULL.
    pub(crate) fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>> {
        match self.at(i)? {
            Val::Null => Ok(None),
            Val::Bytes(v) => Ok(Some(v.clone())),
            other => Err(Error::Corrupt(format!("column {i}: expected bytes, found {other:?}"))),
        }
    }
}

/// Runs statements inside one open transaction of either backend.
pub(crate) trait Exec {
    /// The backend's dialect.
    fn dialect(&self) -> Dialect;
    /// Runs a statement; returns the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64>;
    /// Runs several `;`-separated statements without parameters (migrations).
    fn batch(&mut self, sql: &str) -> Result<()>;
    /// Runs a query; returns every row.
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>>;

    /// Runs a query; returns its first row, if any.
    fn query_opt(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Serialises this transaction with every other one that calls it (the intake's cursor and the
    /// migrations): PostgreSQL's transaction-level advisory lock; SQLite's write lock already does it.
    fn lock_exclusive(&mut self, key: i64) -> Result<()> {
        match self.dialect() {
            Dialect::Sqlite => Ok(()),
            Dialect::Postgres => self.execute("SELECT pg_advisory_xact_lock($1)", params![key]).map(|_| ()),
        }
    }

    /// ` FOR UPDATE SKIP LOCKED` where the dialect has row locks (claims), nothing on SQLite.
    fn skip_locked(&self) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// `$N` placeholders as SQLite's `?N`.
pub(crate) fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// The shared migration text in PostgreSQL's type names (one schema, two dialects).
pub(crate) fn postgres_types(sql: &str) -> String {
    sql.replace("INTEGER", "BIGINT").replace("BLOB", "BYTEA")
}

/// SQLite's executor: one IMMEDIATE transaction on the relayer's connection.
pub(crate) struct SqliteExec<'a>(pub(crate) &'a rusqlite::Transaction<'a>);

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Self::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Self::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Self::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Self::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

fn sqlite_row(row: &rusqlite::Row<'_>, n: usize) -> rusqlite::Result<Row> {
    use rusqlite::types::ValueRef;
    let mut vals = Vec::with_capacity(n);
    for i in 0..n {
        vals.push(match row.get_ref(i)? {
            ValueRef::Null => Val::Null,
            ValueRef::Integer(v) => Val::Int(v),
            // No column is REAL; a float would be a schema this version does not know.
            ValueRef::Real(v) => Val::Text(v.to_string()),
            ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Val::Bytes(b.to_vec()),
        });
    }
    Ok(Row(vals))
}

impl Exec for SqliteExec<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let mut stmt = self.0.prepare_cached(&sqlite_placeholders(sql))?;
        let n = stmt.execute(rusqlite::params_from_iter(params.iter()))?;
        Ok(n as u64)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.0.execute_batch(sql)?)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let mut stmt = self.0.prepare_cached(&sqlite_placeholders(sql))?;
        let n = stmt.column_count();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params.iter()), |r| sqlite_row(r, n))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_types() {
        assert_eq!(sqlite_placeholders("a = $1 AND b = $12, '$x'"), "a = ?1 AND b = ?12, '$x'");
        assert_eq!(postgres_types("n INTEGER, b BLOB"), "n BIGINT, b BYTEA");
    }
}
