//! The durable event log as a live stream. One tailer per node reads new rows in id order and
//! fans them out; SSE clients replay from the table and then follow the fan-out, so they can
//! resume with `last_event_id` on any node and after restarts.

use super::store::{CommandStore, EventFilter, EventRow};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, broadcast};

/// How long a hole in the id sequence may stay open before it is taken as a rolled-back
/// insert. Holes exist because concurrent PostgreSQL transactions can commit out of id order.
const GAP_GRACE: Duration = Duration::from_millis(1500);
const BATCH: i64 = 1000;

pub struct EventLog {
    store: CommandStore,
    tx: broadcast::Sender<Arc<EventRow>>,
    /// Every event with an id at or below this has been fanned out (and is final).
    high_water: AtomicI64,
}

impl EventLog {
    pub async fn start(store: CommandStore) -> anyhow::Result<Arc<Self>> {
        let start = store.max_event_id().await?;
        let (tx, _) = broadcast::channel(8192);
        Ok(Arc::new(Self {
            store,
            tx,
            high_water: AtomicI64::new(start),
        }))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EventRow>> {
        self.tx.subscribe()
    }

    pub fn high_water(&self) -> i64 {
        self.high_water.load(Ordering::SeqCst)
    }

    pub fn store(&self) -> &CommandStore {
        &self.store
    }

    /// Follows the table until `stop` fires.
    pub fn spawn_tailer(
        self: &Arc<Self>,
        wake: Arc<Notify>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let log = self.clone();
        tokio::spawn(async move {
            let mut gap_since: Option<Instant> = None;
            loop {
                let poll = if gap_since.is_some() {
                    Duration::from_millis(50)
                } else {
                    Duration::from_millis(1000)
                };
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = stop.changed() => return,
                }
                loop {
                    match log.advance(&mut gap_since).await {
                        Ok(true) => continue,
                        Ok(false) => break,
                        Err(err) => {
                            tracing::warn!(error = %err, "reading the event log failed");
                            break;
                        }
                    }
                }
            }
        });
    }

    /// Fans out the next contiguous run of events; true when a full batch was read.
    async fn advance(&self, gap_since: &mut Option<Instant>) -> Result<bool, sqlx::Error> {
        let from = self.high_water();
        let rows = self
            .store
            .events(EventFilter {
                tenant_id: None,
                after_id: from,
                up_to: None,
                limit: BATCH,
            })
            .await?;
        let full = rows.len() as i64 == BATCH;
        let mut expected = from + 1;
        for row in rows {
            if row.id != expected {
                let since = *gap_since.get_or_insert_with(Instant::now);
                if since.elapsed() < GAP_GRACE {
                    return Ok(false);
                }
            }
            *gap_since = None;
            expected = row.id + 1;
            self.high_water.store(row.id, Ordering::SeqCst);
            let _ = self.tx.send(Arc::new(row));
        }
        Ok(full)
    }
}
