//! Notes: Markdown documents with tags and links, saved revision-safely.
//!
//! Every change bumps `revision` by one and moves `updated_at` strictly forward. An update
//! (PATCH/PUT) must name the version it was based on — `If-Match: <revision>` (wins when
//! present), else `expected_revision`, else `expected_updated_at` — and is refused with
//! 409 `WORKSPACE_CONFLICT` (carrying the current note) when the note has moved on. The write
//! itself is a compare-and-set on the revision, so of two concurrent saves from the same base
//! exactly one lands.

use super::service::{
    WorkspaceService, choose_id, empty_patch, field_error, id_taken, ids, link_gone, not_found,
    page, require_all, trimmed,
};
use super::store::{self, NoteFilter, NoteKey, note};
use crate::auth::Principal;
use crate::db::time::{now_ms, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use botmox_contract::ListMeta;
use botmox_contract::rules::normalize_labels;
use botmox_contract::workspace::{
    Deleted, NoteCreateRequest, NoteListQuery, NotePatchRequest, NotePrecondition, NoteRecord,
    NoteReplaceRequest, WORKSPACE_CONFLICT, WORKSPACE_PRECONDITION_REQUIRED,
};
use sea_orm::ConnectionTrait;
use serde_json::json;

/// The version an update was based on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// `If-Match: *`: any existing version (an explicit overwrite).
    Any,
    Revision(i64),
    UpdatedAt(i64),
}

impl Expect {
    fn holds_for(self, n: &note::Model) -> bool {
        match self {
            Expect::Any => true,
            Expect::Revision(r) => n.revision == r,
            Expect::UpdatedAt(ms) => n.updated_at == ms,
        }
    }

    /// Reads an `If-Match` value: `*`, `3`, `"3"` or `W/"3"`.
    pub fn from_if_match(raw: &str) -> ApiResult<Self> {
        let v = raw.trim();
        if v == "*" {
            return Ok(Expect::Any);
        }
        let v = v.strip_prefix("W/").unwrap_or(v).trim_matches('"');
        match v.parse::<i64>() {
            Ok(r) if r >= 1 => Ok(Expect::Revision(r)),
            _ => Err(field_error(
                "if-match",
                "must be a note revision such as \"3\" (or *)",
            )),
        }
    }

    /// The header wins; then `expected_revision`; then `expected_updated_at`.
    pub fn resolve(if_match: Option<&str>, body: &NotePrecondition) -> ApiResult<Self> {
        if let Some(h) = if_match {
            return Self::from_if_match(h);
        }
        if let Some(r) = body.expected_revision {
            return Ok(Expect::Revision(r));
        }
        if let Some(ms) = body.expected_updated_at.as_ref().and_then(|t| t.to_ms()) {
            return Ok(Expect::UpdatedAt(ms));
        }
        Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            WORKSPACE_PRECONDITION_REQUIRED,
            "A note update must say which version it is based on: send If-Match: <revision> \
             or expected_revision / expected_updated_at",
        ))
    }
}

/// What an update sets; `None` keeps the stored value.
#[derive(Debug, Default)]
struct NoteChange {
    title: Option<String>,
    content: Option<String>,
    is_pinned: Option<bool>,
    bot_id: Option<Option<String>>,
    project_id: Option<Option<String>>,
    tags: Option<Vec<String>>,
    events: Option<Vec<String>>,
}

fn opt_trimmed(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn record(n: note::Model, tags: Vec<String>, events: Vec<String>) -> NoteRecord {
    NoteRecord {
        id: n.id,
        title: n.title,
        content: n.content,
        tags,
        is_pinned: n.is_pinned,
        bot_id: n.bot_id,
        project_id: n.project_id,
        calendar_event_ids: events,
        revision: n.revision,
        created_at: to_rfc3339(n.created_at),
        updated_at: to_rfc3339(n.updated_at),
    }
}

impl WorkspaceService {
    async fn note_record<C: ConnectionTrait>(
        &self,
        conn: &C,
        n: note::Model,
    ) -> ApiResult<NoteRecord> {
        let ids = [n.id.clone()];
        let tags = store::links_of::<store::NoteTags, _>(conn, &n.tenant_id, &ids)
            .await?
            .remove(&n.id)
            .unwrap_or_default();
        let events = store::links_of::<store::NoteEvents, _>(conn, &n.tenant_id, &ids)
            .await?
            .remove(&n.id)
            .unwrap_or_default();
        Ok(record(n, tags, events))
    }

    async fn conflict<C: ConnectionTrait>(&self, conn: &C, current: note::Model) -> ApiError {
        let revision = current.revision;
        match self.note_record(conn, current).await {
            Ok(rec) => ApiError::conflict(
                WORKSPACE_CONFLICT,
                format!("The note has changed (now at revision {revision}); reload and merge"),
            )
            .with_details(json!({ "current": rec })),
            Err(e) => e,
        }
    }

    async fn set_note_links<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &str,
        id: &str,
        tags: Option<&[String]>,
        events: Option<&[String]>,
    ) -> ApiResult<()> {
        if let Some(tags) = tags {
            store::replace_links::<store::NoteTags, _>(conn, tenant, id, tags).await?;
        }
        if let Some(events) = events {
            let found = store::existing_event_ids(conn, tenant, events).await?;
            require_all("calendar_event_ids", events, &found)?;
            store::replace_links::<store::NoteEvents, _>(conn, tenant, id, events)
                .await
                .map_err(|e| link_gone(e, "calendar_event_ids"))?;
        }
        Ok(())
    }

    pub async fn create_note(
        &self,
        p: &Principal,
        req: NoteCreateRequest,
    ) -> ApiResult<NoteRecord> {
        let now = now_ms();
        let row = note::Model {
            tenant_id: p.tenant_id.clone(),
            id: choose_id(req.id.as_deref()),
            title: trimmed(req.title.as_deref()),
            content: req.content.unwrap_or_default(),
            is_pinned: req.is_pinned.unwrap_or(false),
            bot_id: opt_trimmed(req.bot_id.as_deref()),
            project_id: opt_trimmed(req.project_id.as_deref()),
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        let tags = normalize_labels(req.tags.as_deref().unwrap_or_default());
        let events = ids(req.calendar_event_ids.as_deref());
        let tx = self.db.begin_write().await?;
        store::insert_note(&tx, row.clone())
            .await
            .map_err(|e| id_taken(e, "note"))?;
        self.set_note_links(&tx, &row.tenant_id, &row.id, Some(&tags), Some(&events))
            .await?;
        tx.commit().await?;
        Ok(record(row, tags, events))
    }

    pub async fn get_note(&self, p: &Principal, id: &str) -> ApiResult<NoteRecord> {
        let n = store::find_note(&self.db.conn, &p.tenant_id, id)
            .await?
            .ok_or_else(|| not_found("Note"))?;
        self.note_record(&self.db.conn, n).await
    }

    pub async fn list_notes(
        &self,
        p: &Principal,
        q: &NoteListQuery,
    ) -> ApiResult<(Vec<NoteRecord>, ListMeta)> {
        let (req, key) = page(q.cursor.as_deref(), q.limit, NoteKey::from_cursor)?;
        let filter = NoteFilter {
            q: opt_trimmed(q.q.as_deref()),
            tag: opt_trimmed(q.tag.as_deref()),
            pinned: q.pinned,
        };
        let conn = &self.db.conn;
        let (rows, total) =
            store::list_notes(conn, &p.tenant_id, &filter, key.as_ref(), req.fetch()).await?;
        let (rows, mut meta) = req.finish(rows, NoteKey::of);
        meta.total = Some(total);
        let ids: Vec<String> = rows.iter().map(|n| n.id.clone()).collect();
        let mut tags = store::links_of::<store::NoteTags, _>(conn, &p.tenant_id, &ids).await?;
        let mut events = store::links_of::<store::NoteEvents, _>(conn, &p.tenant_id, &ids).await?;
        let out = rows
            .into_iter()
            .map(|n| {
                let t = tags.remove(&n.id).unwrap_or_default();
                let e = events.remove(&n.id).unwrap_or_default();
                record(n, t, e)
            })
            .collect();
        Ok((out, meta))
    }

    pub async fn patch_note(
        &self,
        p: &Principal,
        id: &str,
        if_match: Option<&str>,
        req: NotePatchRequest,
    ) -> ApiResult<NoteRecord> {
        if !req.has_changes() {
            return Err(empty_patch());
        }
        let expect = Expect::resolve(if_match, &req.precondition())?;
        let change = NoteChange {
            title: req.title.as_deref().map(|t| t.trim().to_owned()),
            content: req.content,
            is_pinned: req.is_pinned,
            bot_id: req.bot_id.map(|v| opt_trimmed(v.as_deref())),
            project_id: req.project_id.map(|v| opt_trimmed(v.as_deref())),
            tags: req.tags.as_deref().map(normalize_labels),
            events: req.calendar_event_ids.as_deref().map(|v| ids(Some(v))),
        };
        self.save_note(p, id, expect, change).await
    }

    pub async fn replace_note(
        &self,
        p: &Principal,
        id: &str,
        if_match: Option<&str>,
        req: NoteReplaceRequest,
    ) -> ApiResult<NoteRecord> {
        let expect = Expect::resolve(if_match, &req.precondition())?;
        let change = NoteChange {
            title: Some(trimmed(req.title.as_deref())),
            content: Some(req.content.unwrap_or_default()),
            is_pinned: Some(req.is_pinned.unwrap_or(false)),
            bot_id: Some(opt_trimmed(req.bot_id.as_deref())),
            project_id: Some(opt_trimmed(req.project_id.as_deref())),
            tags: Some(normalize_labels(req.tags.as_deref().unwrap_or_default())),
            events: Some(ids(req.calendar_event_ids.as_deref())),
        };
        self.save_note(p, id, expect, change).await
    }

    async fn save_note(
        &self,
        p: &Principal,
        id: &str,
        expect: Expect,
        change: NoteChange,
    ) -> ApiResult<NoteRecord> {
        let tx = self.db.begin_write().await?;
        let current = store::find_note(&tx, &p.tenant_id, id)
            .await?
            .ok_or_else(|| not_found("Note"))?;
        if !expect.holds_for(&current) {
            return Err(self.conflict(&tx, current).await);
        }
        let mut next = current.clone();
        if let Some(t) = change.title {
            next.title = t;
        }
        if let Some(c) = change.content {
            next.content = c;
        }
        if let Some(pin) = change.is_pinned {
            next.is_pinned = pin;
        }
        if let Some(b) = change.bot_id {
            next.bot_id = b;
        }
        if let Some(pr) = change.project_id {
            next.project_id = pr;
        }
        next.revision = current.revision + 1;
        next.updated_at = super::service::next_update_ms(current.updated_at);
        if !store::update_note_if_revision(&tx, &next, current.revision).await? {
            // Another save from the same base got in first (PostgreSQL re-checks the
            // revision after waiting for its lock).
            let latest = store::find_note(&tx, &p.tenant_id, id)
                .await?
                .ok_or_else(|| not_found("Note"))?;
            return Err(self.conflict(&tx, latest).await);
        }
        self.set_note_links(
            &tx,
            &p.tenant_id,
            id,
            change.tags.as_deref(),
            change.events.as_deref(),
        )
        .await?;
        let rec = self.note_record(&tx, next).await?;
        tx.commit().await?;
        Ok(rec)
    }

    /// Deletes a note; with `If-Match` only if it is still at that version.
    pub async fn delete_note(
        &self,
        p: &Principal,
        id: &str,
        if_match: Option<&str>,
    ) -> ApiResult<Deleted> {
        let expect = if_match.map(Expect::from_if_match).transpose()?;
        let tx = self.db.begin_write().await?;
        let current = store::find_note(&tx, &p.tenant_id, id)
            .await?
            .ok_or_else(|| not_found("Note"))?;
        if let Some(e) = expect
            && !e.holds_for(&current)
        {
            return Err(self.conflict(&tx, current).await);
        }
        if !store::delete_note(&tx, &p.tenant_id, id, Some(current.revision)).await? {
            let latest = store::find_note(&tx, &p.tenant_id, id)
                .await?
                .ok_or_else(|| not_found("Note"))?;
            return Err(self.conflict(&tx, latest).await);
        }
        tx.commit().await?;
        Ok(Deleted {
            id: id.to_owned(),
            deleted: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use botmox_contract::rules::TimeInput;

    #[test]
    fn if_match_accepts_plain_quoted_weak_and_star() {
        assert_eq!(Expect::from_if_match("3").ok(), Some(Expect::Revision(3)));
        assert_eq!(
            Expect::from_if_match("\"3\"").ok(),
            Some(Expect::Revision(3))
        );
        assert_eq!(
            Expect::from_if_match("W/\"7\"").ok(),
            Some(Expect::Revision(7))
        );
        assert_eq!(Expect::from_if_match("*").ok(), Some(Expect::Any));
        assert!(Expect::from_if_match("abc").is_err());
        assert!(Expect::from_if_match("0").is_err());
    }

    #[test]
    fn header_wins_then_revision_then_updated_at() {
        let body = NotePrecondition {
            expected_revision: Some(2),
            expected_updated_at: Some(TimeInput::Millis(5)),
        };
        assert_eq!(
            Expect::resolve(Some("9"), &body).ok(),
            Some(Expect::Revision(9))
        );
        assert_eq!(Expect::resolve(None, &body).ok(), Some(Expect::Revision(2)));
        let only_time = NotePrecondition {
            expected_revision: None,
            expected_updated_at: Some(TimeInput::Millis(5)),
        };
        assert_eq!(
            Expect::resolve(None, &only_time).ok(),
            Some(Expect::UpdatedAt(5))
        );
        assert!(Expect::resolve(None, &NotePrecondition::default()).is_err());
    }
}
