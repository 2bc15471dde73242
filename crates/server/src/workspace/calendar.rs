//! Calendar events: a time span (`start` ≤ `end`), optionally all-day, with links to notes of
//! the same tenant. Lists return the events overlapping a range, by start time.

use super::service::{
    WorkspaceService, choose_id, empty_patch, field_error, id_taken, ids, link_gone,
    list_query_error, not_found, page, require_all, trimmed,
};
use super::store::{self, EventFilter, event};
use crate::auth::Principal;
use crate::db::time::{now_ms, to_rfc3339};
use crate::error::ApiResult;
use botmox_contract::ListMeta;
use botmox_contract::rules::{self, DAY_MS, RangeBound, day_of_ms, day_start_ms};
use botmox_contract::workspace::{
    CalendarEventCreateRequest, CalendarEventPatchRequest, CalendarEventRecord, CalendarListQuery,
    Deleted,
};
use sea_orm::ConnectionTrait;

fn record(e: event::Model, notes: Vec<String>) -> CalendarEventRecord {
    CalendarEventRecord {
        date: day_of_ms(e.start_at).format("%Y-%m-%d").to_string(),
        linked_note_id: notes.first().cloned(),
        id: e.id,
        title: e.title,
        description: e.description,
        start: to_rfc3339(e.start_at),
        end: to_rfc3339(e.end_at),
        all_day: e.all_day,
        color: e.color,
        linked_note_ids: notes,
        created_at: to_rfc3339(e.created_at),
        updated_at: to_rfc3339(e.updated_at),
    }
}

/// The first and last millisecond of a `YYYY-MM-DD` day.
fn whole_day(day: &str) -> Option<(i64, i64)> {
    let start = day_start_ms(rules::parse_day(day)?);
    Some((start, start + DAY_MS - 1))
}

/// Links from `linked_note_ids`, or the original's single `linked_note_id`.
fn requested_links(many: Option<&[String]>, one: Option<&Option<String>>) -> Option<Vec<String>> {
    match (many, one) {
        (Some(list), _) => Some(ids(Some(list))),
        (None, Some(Some(id))) => Some(ids(Some(std::slice::from_ref(id)))),
        (None, Some(None)) => Some(Vec::new()),
        (None, None) => None,
    }
}

fn check_span(start: i64, end: i64) -> ApiResult<()> {
    if end < start {
        return Err(field_error("end", "must not be before start"));
    }
    Ok(())
}

impl WorkspaceService {
    async fn set_event_notes<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &str,
        id: &str,
        notes: &[String],
    ) -> ApiResult<()> {
        let found = store::existing_note_ids(conn, tenant, notes).await?;
        require_all("linked_note_ids", notes, &found)?;
        store::replace_links::<store::EventNotes, _>(conn, tenant, id, notes)
            .await
            .map_err(|e| link_gone(e, "linked_note_ids"))?;
        Ok(())
    }

    pub async fn create_event(
        &self,
        p: &Principal,
        req: CalendarEventCreateRequest,
    ) -> ApiResult<CalendarEventRecord> {
        let (start, end, all_day) = match (req.start.as_deref(), req.date.as_deref()) {
            (Some(s), _) => {
                let start = rules::parse_rfc3339_ms(s).unwrap_or_default();
                let end = req
                    .end
                    .as_deref()
                    .and_then(rules::parse_rfc3339_ms)
                    .unwrap_or(start);
                (start, end, req.all_day.unwrap_or(false))
            }
            (None, Some(d)) => {
                let (start, end) = whole_day(d).unwrap_or_default();
                (start, end, req.all_day.unwrap_or(true))
            }
            (None, None) => return Err(field_error("start", "is required (or date)")),
        };
        check_span(start, end)?;
        let now = now_ms();
        let row = event::Model {
            tenant_id: p.tenant_id.clone(),
            id: choose_id(req.id.as_deref()),
            title: trimmed(req.title.as_deref()),
            description: trimmed(req.description.as_deref()),
            start_at: start,
            end_at: end,
            all_day,
            color: req.color.flatten(),
            created_at: now,
            updated_at: now,
        };
        let notes = requested_links(req.linked_note_ids.as_deref(), req.linked_note_id.as_ref())
            .unwrap_or_default();
        let tx = self.db.begin_write().await?;
        store::insert_event(&tx, row.clone())
            .await
            .map_err(|e| id_taken(e, "calendar event"))?;
        self.set_event_notes(&tx, &row.tenant_id, &row.id, &notes)
            .await?;
        tx.commit().await?;
        Ok(record(row, notes))
    }

    pub async fn get_event(&self, p: &Principal, id: &str) -> ApiResult<CalendarEventRecord> {
        let conn = &self.db.conn;
        let e = store::find_event(conn, &p.tenant_id, id)
            .await?
            .ok_or_else(|| not_found("Calendar event"))?;
        let notes = store::links_of::<store::EventNotes, _>(
            conn,
            &p.tenant_id,
            std::slice::from_ref(&e.id),
        )
        .await?
        .remove(&e.id)
        .unwrap_or_default();
        Ok(record(e, notes))
    }

    pub async fn list_events(
        &self,
        p: &Principal,
        q: &CalendarListQuery,
    ) -> ApiResult<(Vec<CalendarEventRecord>, ListMeta)> {
        let from = q
            .from
            .as_deref()
            .and_then(RangeBound::parse)
            .map(RangeBound::start_ms);
        let to =
            q.to.as_deref()
                .and_then(RangeBound::parse)
                .map(RangeBound::end_ms);
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            return Err(list_query_error("to", "must not be before from"));
        }
        let (req, key) = page(q.cursor.as_deref(), q.limit, |c| {
            Some((c.key.as_i64()?, c.id.clone()))
        })?;
        let filter = EventFilter {
            from,
            to,
            note_id: q.note_id.as_deref().map(|s| s.trim().to_owned()),
        };
        let conn = &self.db.conn;
        let (rows, total) =
            store::list_events(conn, &p.tenant_id, &filter, key, req.fetch()).await?;
        let (rows, mut meta) = req.finish(rows, store::event_cursor);
        meta.total = Some(total);
        let ids: Vec<String> = rows.iter().map(|e| e.id.clone()).collect();
        let mut links = store::links_of::<store::EventNotes, _>(conn, &p.tenant_id, &ids).await?;
        let out = rows
            .into_iter()
            .map(|e| {
                let n = links.remove(&e.id).unwrap_or_default();
                record(e, n)
            })
            .collect();
        Ok((out, meta))
    }

    pub async fn patch_event(
        &self,
        p: &Principal,
        id: &str,
        req: CalendarEventPatchRequest,
    ) -> ApiResult<CalendarEventRecord> {
        if !req.has_changes() {
            return Err(empty_patch());
        }
        let tx = self.db.begin_write().await?;
        let current = store::find_event_for_update(&tx, &p.tenant_id, id)
            .await?
            .ok_or_else(|| not_found("Calendar event"))?;
        let mut next = current.clone();
        if let Some(t) = req.title.as_deref() {
            next.title = t.trim().to_owned();
        }
        if let Some(d) = req.description.as_ref() {
            next.description = trimmed(d.as_deref());
        }
        match (req.start.as_deref(), req.date.as_deref()) {
            (Some(s), _) => {
                next.start_at = rules::parse_rfc3339_ms(s).unwrap_or(current.start_at);
                // A new start alone shifts the event and keeps its duration.
                next.end_at = next.start_at + (current.end_at - current.start_at);
            }
            (None, Some(d)) => {
                let (s, e) = whole_day(d).unwrap_or((current.start_at, current.end_at));
                next.start_at = s;
                next.end_at = e;
                next.all_day = true;
            }
            (None, None) => {}
        }
        if let Some(e) = req.end.as_deref().and_then(rules::parse_rfc3339_ms) {
            next.end_at = e;
        }
        if let Some(a) = req.all_day {
            next.all_day = a;
        }
        if let Some(c) = req.color.clone() {
            next.color = c;
        }
        check_span(next.start_at, next.end_at)?;
        next.updated_at = super::service::next_update_ms(current.updated_at);
        store::update_event(&tx, &next).await?;
        let links = requested_links(req.linked_note_ids.as_deref(), req.linked_note_id.as_ref());
        if let Some(notes) = &links {
            self.set_event_notes(&tx, &p.tenant_id, id, notes).await?;
        }
        let notes = match links {
            Some(n) => n,
            None => store::links_of::<store::EventNotes, _>(&tx, &p.tenant_id, &[id.to_owned()])
                .await?
                .remove(id)
                .unwrap_or_default(),
        };
        tx.commit().await?;
        Ok(record(next, notes))
    }

    pub async fn delete_event(&self, p: &Principal, id: &str) -> ApiResult<Deleted> {
        if !store::delete_event(&self.db.conn, &p.tenant_id, id).await? {
            return Err(not_found("Calendar event"));
        }
        Ok(Deleted {
            id: id.to_owned(),
            deleted: true,
        })
    }
}
