//! Where PostgreSQL's work went in the measured window, per check-in, when
//! `NENUFAR_BENCH_PROFILE_SQL=stats`: statements from `pg_stat_statements` (time, rows, buffers,
//! WAL; nested statements of triggers too), tables (rows inserted, updated, HOT-updated) and
//! indexes (scans, buffers, growth) from the cumulative statistics views, trigger functions from
//! `pg_stat_user_functions`, and the window's WAL by relation and by record type from
//! `pg_walinspect`. Counters are sampled at both ends of the window and subtracted. Statement
//! times are inside the executor: a `COMMIT`'s deferred triggers and WAL flush are not in it (the
//! log profile, `NENUFAR_BENCH_PROFILE_SQL=1`, has them).
//!
//! `ops/bench.sh` preloads `pg_stat_statements` (with `track = all` and `track_functions = pl`)
//! when this profile is asked for; the extensions are created in the benchmark's database.

use std::collections::HashMap;

use diesel::sql_types::{BigInt, Bool, Double, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// Whether this profile was asked for.
pub fn enabled() -> bool {
    std::env::var("NENUFAR_BENCH_PROFILE_SQL").is_ok_and(|v| v == "stats")
}

/// A connection to the benchmark's database that samples its statistics.
pub struct Stats {
    conn: tokio::sync::Mutex<AsyncPgConnection>,
}

#[derive(diesel::QueryableByName, Clone, Default)]
struct Statement {
    #[diesel(sql_type = BigInt)]
    queryid: i64,
    #[diesel(sql_type = Bool)]
    toplevel: bool,
    #[diesel(sql_type = Text)]
    query: String,
    #[diesel(sql_type = BigInt)]
    calls: i64,
    #[diesel(sql_type = Double)]
    ms: f64,
    #[diesel(sql_type = BigInt)]
    rows: i64,
    #[diesel(sql_type = BigInt)]
    hit: i64,
    #[diesel(sql_type = BigInt)]
    dirtied: i64,
    #[diesel(sql_type = Double)]
    wal_bytes: f64,
    #[diesel(sql_type = BigInt)]
    wal_fpi: i64,
}

#[derive(diesel::QueryableByName, Clone, Default)]
struct Relation {
    #[diesel(sql_type = Text)]
    name: String,
    /// Rows inserted (tables) or index scans (indexes).
    #[diesel(sql_type = BigInt)]
    ins: i64,
    #[diesel(sql_type = BigInt)]
    upd: i64,
    #[diesel(sql_type = BigInt)]
    hot: i64,
    #[diesel(sql_type = BigInt)]
    del: i64,
    #[diesel(sql_type = BigInt)]
    hit: i64,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

#[derive(diesel::QueryableByName, Clone, Default)]
struct Function {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    calls: i64,
    #[diesel(sql_type = Double)]
    ms: f64,
}

#[derive(diesel::QueryableByName)]
struct Lsn {
    #[diesel(sql_type = Text)]
    lsn: String,
}

/// The counters at one instant.
pub struct Sample {
    lsn: String,
    statements: HashMap<(i64, bool), Statement>,
    tables: HashMap<String, Relation>,
    indexes: HashMap<String, Relation>,
    functions: HashMap<String, Function>,
}

#[derive(diesel::QueryableByName)]
struct WalRow {
    #[diesel(sql_type = Text)]
    what: String,
    #[diesel(sql_type = BigInt)]
    records: i64,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
    #[diesel(sql_type = BigInt)]
    fpi_bytes: i64,
}

impl Stats {
    /// Connects to `url` and creates the two extensions there.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let mut conn = AsyncPgConnection::establish(url).await?;
        for sql in [
            "create extension if not exists pg_stat_statements",
            "create extension if not exists pg_walinspect",
        ] {
            diesel::sql_query(sql).execute(&mut conn).await?;
        }
        Ok(Self {
            conn: tokio::sync::Mutex::new(conn),
        })
    }

    pub async fn sample(&self) -> anyhow::Result<Sample> {
        let mut conn = self.conn.lock().await;
        let conn = &mut *conn;
        let lsn: Lsn = diesel::sql_query("select pg_current_wal_insert_lsn()::text as lsn")
            .get_result(conn)
            .await?;
        let statements: Vec<Statement> = diesel::sql_query(
            "select queryid, toplevel, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) as query, \
                    calls, total_exec_time as ms, rows, shared_blks_hit as hit, \
                    shared_blks_dirtied as dirtied, wal_bytes::float8 as wal_bytes, wal_fpi \
             from pg_stat_statements \
             where dbid = (select oid from pg_database where datname = current_database())",
        )
        .load(conn)
        .await?;
        let tables: Vec<Relation> = diesel::sql_query(
            "select t.relname::text as name, t.n_tup_ins as ins, t.n_tup_upd as upd, \
                    t.n_tup_hot_upd as hot, t.n_tup_del as del, \
                    coalesce(io.heap_blks_hit, 0) as hit, pg_relation_size(t.relid) as bytes \
             from pg_stat_user_tables t join pg_statio_user_tables io using (relid)",
        )
        .load(conn)
        .await?;
        let indexes: Vec<Relation> = diesel::sql_query(
            "select i.indexrelname::text as name, i.idx_scan as ins, i.idx_tup_read as upd, \
                    i.idx_tup_fetch as hot, 0::int8 as del, io.idx_blks_hit as hit, \
                    pg_relation_size(i.indexrelid) as bytes \
             from pg_stat_user_indexes i join pg_statio_user_indexes io using (indexrelid)",
        )
        .load(conn)
        .await?;
        let functions: Vec<Function> = diesel::sql_query(
            "select funcname::text as name, calls, total_time as ms from pg_stat_user_functions",
        )
        .load(conn)
        .await?;
        Ok(Sample {
            lsn: lsn.lsn,
            statements: statements
                .into_iter()
                .map(|s| ((s.queryid, s.toplevel), s))
                .collect(),
            tables: tables.into_iter().map(|r| (r.name.clone(), r)).collect(),
            indexes: indexes.into_iter().map(|r| (r.name.clone(), r)).collect(),
            functions: functions.into_iter().map(|f| (f.name.clone(), f)).collect(),
        })
    }

    /// Prints what happened between `first` and `last`, per operation (`ops` in the window).
    pub async fn report(&self, first: &Sample, last: &Sample, ops: f64) -> anyhow::Result<()> {
        let ops = ops.max(1.0);
        let per = |v: f64| v / ops;

        let mut statements: Vec<Statement> = last
            .statements
            .iter()
            .map(|(k, s)| {
                let b = first.statements.get(k).cloned().unwrap_or_default();
                Statement {
                    calls: s.calls - b.calls,
                    ms: s.ms - b.ms,
                    rows: s.rows - b.rows,
                    hit: s.hit - b.hit,
                    dirtied: s.dirtied - b.dirtied,
                    wal_bytes: s.wal_bytes - b.wal_bytes,
                    wal_fpi: s.wal_fpi - b.wal_fpi,
                    ..s.clone()
                }
            })
            .filter(|s| s.calls > 0)
            .collect();
        statements.sort_by(|a, b| b.ms.total_cmp(&a.ms));
        let total_ms: f64 = statements.iter().filter(|s| s.toplevel).map(|s| s.ms).sum();
        println!(
            "  pg_stat_statements over the window: {:.0} us of executor time per check-in (top \
             level); per check-in: calls, us, rows, buffer hits, pages dirtied, WAL bytes \
             (full-page images); '>' marks a statement run inside another (a trigger's):",
            per(total_ms * 1000.0)
        );
        for s in statements.iter().take(22) {
            println!(
                "    {:>6.3} x {:>5.0} us {:>6.2} rows {:>6.1} hit {:>5.2} dirtied {:>6.0} WAL ({:.3} fpi) {}{}",
                per(s.calls as f64),
                per(s.ms * 1000.0),
                per(s.rows as f64),
                per(s.hit as f64),
                per(s.dirtied as f64),
                per(s.wal_bytes),
                per(s.wal_fpi as f64),
                if s.toplevel { "" } else { "> " },
                s.query
            );
        }

        let delta = |a: &Relation, b: Option<&Relation>| {
            let b = b.cloned().unwrap_or_default();
            Relation {
                name: a.name.clone(),
                ins: a.ins - b.ins,
                upd: a.upd - b.upd,
                hot: a.hot - b.hot,
                del: a.del - b.del,
                hit: a.hit - b.hit,
                bytes: a.bytes - b.bytes,
            }
        };
        let mut tables: Vec<Relation> = last
            .tables
            .values()
            .map(|t| delta(t, first.tables.get(&t.name)))
            .filter(|t| t.ins + t.upd + t.del > 0)
            .collect();
        tables.sort_by_key(|t| -(t.ins + t.upd + t.del));
        println!(
            "  tables, per check-in: rows inserted, updated (of which HOT), deleted; heap buffer \
             hits; bytes grown:"
        );
        for t in &tables {
            println!(
                "    {:<24} ins {:>6.3} upd {:>6.3} (hot {:>6.3}) del {:>6.3} hit {:>6.1} grown {:>6.0} B",
                t.name,
                per(t.ins as f64),
                per(t.upd as f64),
                per(t.hot as f64),
                per(t.del as f64),
                per(t.hit as f64),
                per(t.bytes as f64)
            );
        }
        let mut indexes: Vec<Relation> = last
            .indexes
            .values()
            .map(|i| delta(i, first.indexes.get(&i.name)))
            .filter(|i| i.ins + i.hit + i.bytes > 0)
            .collect();
        indexes.sort_by_key(|i| -i.hit);
        println!(
            "  indexes, per check-in: scans, entries read, buffer hits (reads and inserts), bytes \
             grown:"
        );
        for i in &indexes {
            println!(
                "    {:<40} scans {:>6.3} read {:>6.3} hit {:>6.2} grown {:>6.0} B",
                i.name,
                per(i.ins as f64),
                per(i.upd as f64),
                per(i.hit as f64),
                per(i.bytes as f64)
            );
        }
        let mut functions: Vec<(String, i64, f64)> = last
            .functions
            .values()
            .map(|f| {
                let b = first.functions.get(&f.name).cloned().unwrap_or_default();
                (f.name.clone(), f.calls - b.calls, f.ms - b.ms)
            })
            .filter(|f| f.1 > 0)
            .collect();
        functions.sort_by(|a, b| b.2.total_cmp(&a.2));
        println!("  trigger functions (track_functions = pl), per check-in: calls, us:");
        for (name, calls, ms) in &functions {
            println!(
                "    {:<32} {:>6.3} x {:>5.1} us",
                name,
                per(*calls as f64),
                per(ms * 1000.0)
            );
        }

        let mut conn = self.conn.lock().await;
        let conn = &mut *conn;
        let wal = |sql: &'static str| {
            diesel::sql_query(sql)
                .bind::<Text, _>(first.lsn.clone())
                .bind::<Text, _>(last.lsn.clone())
        };
        // A record is put on the relation of its first block reference.
        let by_relation: Vec<WalRow> = wal(
            "select coalesce(pg_filenode_relation(m[1]::oid, m[2]::oid)::text, \
                             case when m is null then resource_manager || ' (no block)' \
                                  else 'relfilenode ' || m[2] end) as what, \
                    count(*) as records, sum(record_length)::int8 as bytes, \
                    sum(fpi_length)::int8 as fpi_bytes \
             from (select resource_manager, record_length, fpi_length, \
                          regexp_match(block_ref, 'rel (\\d+)/\\d+/(\\d+)') as m \
                   from pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)) r \
             group by 1 order by 3 desc limit 24",
        )
        .load(conn)
        .await?;
        let wal_total: i64 = by_relation.iter().map(|r| r.bytes).sum();
        println!(
            "  WAL of the window by relation (first block of each record), per check-in: records, \
             bytes (of which full-page images); top {} relations hold {:.0} B:",
            by_relation.len(),
            per(wal_total as f64)
        );
        for r in &by_relation {
            println!(
                "    {:<40} {:>6.3} records {:>6.0} B ({:.0} fpi)",
                r.what,
                per(r.records as f64),
                per(r.bytes as f64),
                per(r.fpi_bytes as f64)
            );
        }
        let by_kind: Vec<WalRow> = wal(
            "select resource_manager || '/' || record_type as what, count(*) as records, \
                    sum(record_length)::int8 as bytes, sum(fpi_length)::int8 as fpi_bytes \
             from pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn) \
             group by 1 order by 3 desc limit 16",
        )
        .load(conn)
        .await?;
        println!("  WAL of the window by record type, per check-in: records, bytes:");
        for r in &by_kind {
            println!(
                "    {:<40} {:>6.3} records {:>6.0} B ({:.0} fpi)",
                r.what,
                per(r.records as f64),
                per(r.bytes as f64),
                per(r.fpi_bytes as f64)
            );
        }
        Ok(())
    }
}
