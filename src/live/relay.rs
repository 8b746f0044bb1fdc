//! The cross-node relay: LISTEN on `nenufar_events` (the sequencer notifies once per hunt per
//! batch, after commit) and wake the hunt's feed; a periodic poke is the safety net for anything
//! missed while the LISTEN connection was down.

use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;

use super::hub::Hub;
use crate::domain::ids::HuntId;

/// How often every feed catches up even without a notification.
pub const SAFETY_POLL: Duration = Duration::from_millis(1000);

/// Runs forever: reconnects with a pause when the LISTEN connection fails.
pub async fn run(url: String, hub: Arc<Hub>) {
    let mut poll = tokio::time::interval(SAFETY_POLL);
    loop {
        match AsyncPgConnection::establish(&url).await {
            Ok(mut conn) => {
                if let Err(e) = diesel::sql_query("listen nenufar_events")
                    .execute(&mut conn)
                    .await
                {
                    tracing::warn!(error = %e, "LISTEN failed");
                } else {
                    // Anything committed while we were not listening is read now.
                    hub.poke_all();
                    let mut stream = std::pin::pin!(conn.notifications_stream());
                    loop {
                        tokio::select! {
                            n = stream.next() => match n {
                                Some(Ok(n)) => {
                                    if let Ok(id) = uuid::Uuid::parse_str(&n.payload) {
                                        hub.poke(HuntId(id));
                                    }
                                }
                                Some(Err(e)) => {
                                    tracing::warn!(error = %e, "LISTEN connection lost");
                                    break;
                                }
                                None => break,
                            },
                            _ = poll.tick() => hub.poke_all(),
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot open the LISTEN connection"),
        }
        hub.poke_all();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
