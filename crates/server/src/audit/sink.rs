//! Asynchronous audit writing: requests hand their record to a bounded queue and move on; one
//! task writes the queue in batches. A full queue drops the record, counts it and warns, so a
//! slow database never slows the API. Shutdown flushes what is queued.

use super::store::{AuditStore, audit_log};
use crate::db::Db;
use crate::db::time::now_ms;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

const MAX_BATCH: usize = 500;

enum Msg {
    Entry(Box<audit_log::Model>),
    Flush(oneshot::Sender<()>),
    Stop(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Msg>,
    dropped: Arc<AtomicU64>,
    last_warning_ms: Arc<AtomicI64>,
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditSink(dropped={})", self.dropped())
    }
}

impl AuditSink {
    /// Starts the writer task.
    pub fn start(db: Db, capacity: usize) -> Self {
        let (sink, rx) = Self::channel(capacity);
        tokio::spawn(write_loop(AuditStore::new(db), rx));
        sink
    }

    fn channel(capacity: usize) -> (Self, mpsc::Receiver<Msg>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            Self {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
                last_warning_ms: Arc::new(AtomicI64::new(0)),
            },
            rx,
        )
    }

    /// Queues a record without waiting.
    pub fn record(&self, entry: audit_log::Model) {
        if self.tx.try_send(Msg::Entry(Box::new(entry))).is_err() {
            let total = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            metrics::counter!("audit_records_dropped_total").increment(1);
            // One warning per second at most: an overloaded queue must not flood the log.
            let now = now_ms();
            let last = self.last_warning_ms.load(Ordering::Relaxed);
            if now - last >= 1_000
                && self
                    .last_warning_ms
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                tracing::warn!(
                    dropped_total = total,
                    "audit queue is full or closed; audit records are being dropped"
                );
            }
        }
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until everything queued before this call is written.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Writes what is queued and stops the writer; later records are dropped.
    pub async fn shutdown(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Stop(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}

async fn write_loop(store: AuditStore, mut rx: mpsc::Receiver<Msg>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        let mut acks = Vec::new();
        let mut stop = None;
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Entry(entry) => batch.push(*entry),
                Msg::Flush(ack) => acks.push(ack),
                Msg::Stop(ack) => {
                    stop = Some(ack);
                    break;
                }
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        let count = batch.len();
        if let Err(err) = store.insert_batch(std::mem::take(&mut batch)).await {
            metrics::counter!("audit_records_lost_total").increment(count as u64);
            tracing::error!(error = %err, records = count, "writing audit records failed");
        }
        for ack in acks {
            let _ = ack.send(());
        }
        if let Some(ack) = stop {
            rx.close();
            let _ = ack.send(());
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> audit_log::Model {
        audit_log::Model {
            id: n.to_string(),
            tenant_id: "t".into(),
            at: 0,
            actor_uid: "u".into(),
            actor_email: "e".into(),
            auth_kind: "session".into(),
            actor_roles: String::new(),
            method: "POST".into(),
            route: "/r".into(),
            path: "/r".into(),
            target_id: None,
            status: 200,
            duration_ms: 0,
            request_id: None,
            body_shape: "{}".into(),
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (sink, mut rx) = AuditSink::channel(2);
        for n in 0..5 {
            sink.record(entry(n));
        }
        assert_eq!(sink.dropped(), 3);
        assert!(matches!(rx.try_recv(), Ok(Msg::Entry(e)) if e.id == "0"));
    }
}
