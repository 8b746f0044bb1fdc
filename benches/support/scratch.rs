//! A scratch database per benchmark run (included with `#[path]`): a fresh name, and the drop
//! after the run whatever its outcome.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// Runs `run` on `rt` with a fresh database name (`nenufar_bench_<kind>_<random>`; the run
/// creates the database), then drops that database through `admin`. The run's error comes first.
pub fn run_then_drop<F, Fut>(
    rt: &tokio::runtime::Runtime,
    admin: &str,
    kind: &str,
    run: F,
) -> anyhow::Result<()>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let db = format!(
        "nenufar_bench_{kind}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let outcome = rt.block_on(run(db.clone()));
    rt.block_on(async {
        let mut conn = AsyncPgConnection::establish(admin).await?;
        diesel::sql_query(format!("drop database if exists {db} with (force)"))
            .execute(&mut conn)
            .await?;
        anyhow::Ok(())
    })?;
    outcome
}
