//! The PostgreSQL backend: a small connection pool shared by the relayer's tasks, one transaction per
//! operation, run on a blocking thread so the operations stay the same synchronous code as SQLite's.

use super::{
    sql::{params, postgres_types, Dialect, Exec, Row, Val},
    MIGRATIONS,
};
use crate::error::{Error, Result};
use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio_postgres::{
    types::{to_sql_checked, IsNull, ToSql, Type},
    NoTls,
};

/// Advisory lock key of the migrations ("zkmg").
const MIGRATION_LOCK: i64 = 0x7a6b_6d67;

/// Connections per relayer process.
const POOL_SIZE: usize = 8;

/// A pool of connections to one PostgreSQL database.
#[derive(Clone)]
pub(crate) struct Pg {
    pool: Pool,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never print it.
        f.debug_struct("Pg").field("status", &self.pool.status()).finish()
    }
}

impl Pg {
    /// Connects to `url` (`postgres://user@host:port/db`) and applies pending migrations.
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| Error::Config(format!("database: not a PostgreSQL URL: {e}")))?;
        let manager =
            Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::Pool(e.to_string()))?;
        let pg = Self { pool };
        pg.run(migrate).await?;
        Ok(pg)
    }

    /// Runs `f` in one transaction on a blocking thread; commits when it returns `Ok`.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Exec) -> Result<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        let rt = Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut client = rt.block_on(pool.get()).map_err(|e| Error::Pool(e.to_string()))?;
            let tx = rt.block_on(client.transaction())?;
            let mut exec = PgExec { tx, rt: &rt };
            let out = f(&mut exec)?;
            rt.block_on(exec.tx.commit())?;
            Ok(out)
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?
    }
}

struct PgExec<'a> {
    tx: deadpool_postgres::Transaction<'a>,
    rt: &'a Handle,
}

impl Exec for PgExec<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.rt.block_on(async {
            let st = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.execute(&st, &refs).await?)
        })
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.rt.block_on(self.tx.batch_execute(sql))?)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.rt.block_on(async {
            let st = self.tx.prepare_cached(sql).await?;
            self.tx.query(&st, &refs).await
        })?;
        rows.iter().map(pg_row).collect()
    }
}

fn pg_row(row: &tokio_postgres::Row) -> Result<Row> {
    let mut vals = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let ty = col.type_();
        let v = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Val::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?.map(|v| Val::Int(v.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?.map(|v| Val::Int(v.into()))
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i)?.map(Val::Bytes)
        } else if [Type::TEXT, Type::VARCHAR, Type::NAME, Type::BPCHAR].contains(ty) {
            row.try_get::<_, Option<String>>(i)?.map(Val::Text)
        } else {
            return Err(Error::Corrupt(format!("column {} has unsupported type {ty}", col.name())));
        };
        vals.push(v.unwrap_or(Val::Null));
    }
    Ok(Row(vals))
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Self::Null => Ok(IsNull::Yes),
            Self::Int(v) if *ty == Type::INT8 => v.to_sql(ty, out),
            Self::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Self::Int(v) if *ty == Type::BOOL => (*v != 0).to_sql(ty, out),
            Self::Int(v) => v.to_string().to_sql(ty, out),
            Self::Text(v) => v.to_sql(ty, out),
            Self::Bytes(v) => v.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Applies the shared migrations with PostgreSQL's type names, once even when a fleet starts at once.
fn migrate(x: &mut dyn Exec) -> Result<()> {
    x.lock_exclusive(MIGRATION_LOCK)?;
    x.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)", &[])?;
    let current = match x.query_opt("SELECT version FROM schema_version", &[])? {
        Some(r) => u32::try_from(r.int(0)?).unwrap_or(u32::MAX),
        None => {
            x.execute("INSERT INTO schema_version (version) VALUES (0)", &[])?;
            0
        }
    };
    let latest = MIGRATIONS.last().map(|(v, _)| *v).unwrap_or_default();
    if current > latest {
        return Err(Error::DbMismatch(format!(
            "database schema version {current} is newer than this relayer ({latest})"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        x.batch(&postgres_types(sql))
            .map_err(|e| Error::Migration { version: *version, reason: e.to_string() })?;
        x.execute("UPDATE schema_version SET version = $1", params![i64::from(*version)])?;
    }
    Ok(())
}
