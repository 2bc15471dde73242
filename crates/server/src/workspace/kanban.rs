//! Kanban tasks: columns `todo`, `in_progress`, `done`; inside a column positions are dense
//! (0..n-1). Creating, moving and deleting a task renumber the affected columns in the same
//! transaction, behind the tenant's board lock, so positions never collide or leave gaps.

use super::service::{
    WorkspaceService, choose_id, empty_patch, id_in_use, id_taken, not_found, page, trimmed,
};
use super::store::{self, task};
use crate::auth::Principal;
use crate::db::time::{now_ms, to_rfc3339};
use crate::error::ApiResult;
use botmox_contract::ListMeta;
use botmox_contract::rules::normalize_labels;
use botmox_contract::workspace::{
    Deleted, KanbanListQuery, KanbanMoveRequest, KanbanStatus, KanbanTaskCreateRequest,
    KanbanTaskPatchRequest, KanbanTaskRecord,
};
use sea_orm::{ConnectionTrait, DbErr};

fn record(t: task::Model) -> KanbanTaskRecord {
    KanbanTaskRecord {
        labels: serde_json::from_str(&t.labels).unwrap_or_default(),
        status: KanbanStatus::parse(&t.status).unwrap_or(KanbanStatus::Todo),
        id: t.id,
        title: t.title,
        description: t.description,
        order: t.position,
        due_date: t.due_date,
        created_at: to_rfc3339(t.created_at),
        updated_at: to_rfc3339(t.updated_at),
    }
}

fn labels_json(labels: &[String]) -> String {
    serde_json::to_string(&normalize_labels(labels)).unwrap_or_else(|_| "[]".to_owned())
}

/// Gives `moving` position `position` (clamped to the column's end; `None` = last) in column
/// `to`, renumbering the column's other tasks around it and closing the gap it leaves in
/// `from`. Returns the position; the caller writes the moving task itself.
async fn place<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    moving: &str,
    from: Option<&str>,
    to: &str,
    position: Option<i64>,
) -> Result<i64, DbErr> {
    if let Some(from) = from.filter(|f| *f != to) {
        let rest: Vec<(String, i64)> = store::column_tasks(conn, tenant, from)
            .await?
            .into_iter()
            .filter(|(id, _)| id != moving)
            .collect();
        renumber(conn, tenant, &rest, moving).await?;
    }
    let mut list: Vec<(String, i64)> = store::column_tasks(conn, tenant, to)
        .await?
        .into_iter()
        .filter(|(id, _)| id != moving)
        .collect();
    let len = list.len();
    let target = position.map_or(len, |p| usize::try_from(p).unwrap_or(len).min(len));
    list.insert(target, (moving.to_owned(), -1));
    renumber(conn, tenant, &list, moving).await?;
    Ok(i64::try_from(target).unwrap_or(i64::MAX))
}

/// Sets positions 0..n-1 in list order, writing only rows whose position changes.
async fn renumber<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    list: &[(String, i64)],
    skip: &str,
) -> Result<(), DbErr> {
    for (index, (id, position)) in (0i64..).zip(list) {
        if id != skip && *position != index {
            store::set_task_position(conn, tenant, id, index).await?;
        }
    }
    Ok(())
}

impl WorkspaceService {
    pub async fn create_task(
        &self,
        p: &Principal,
        req: KanbanTaskCreateRequest,
    ) -> ApiResult<KanbanTaskRecord> {
        let status = req.status.unwrap_or(KanbanStatus::Todo);
        let now = now_ms();
        let mut row = task::Model {
            tenant_id: p.tenant_id.clone(),
            id: choose_id(req.id.as_deref()),
            title: trimmed(req.title.as_deref()),
            description: trimmed(req.description.as_deref()),
            status: status.as_str().to_owned(),
            status_rank: status.rank(),
            position: 0,
            due_date: req.due_date.flatten().map(|d| d.trim().to_owned()),
            labels: labels_json(req.labels.as_deref().unwrap_or_default()),
            created_at: now,
            updated_at: now,
        };
        let tx = self.db.begin_write().await?;
        store::lock_board(&tx, &p.tenant_id).await?;
        if store::find_task(&tx, &p.tenant_id, &row.id)
            .await?
            .is_some()
        {
            return Err(id_in_use("kanban task"));
        }
        row.position = place(&tx, &p.tenant_id, &row.id, None, &row.status, req.order).await?;
        store::insert_task(&tx, row.clone())
            .await
            .map_err(|e| id_taken(e, "kanban task"))?;
        tx.commit().await?;
        Ok(record(row))
    }

    pub async fn get_task(&self, p: &Principal, id: &str) -> ApiResult<KanbanTaskRecord> {
        store::find_task(&self.db.conn, &p.tenant_id, id)
            .await?
            .map(record)
            .ok_or_else(|| not_found("Kanban task"))
    }

    pub async fn list_tasks(
        &self,
        p: &Principal,
        q: &KanbanListQuery,
    ) -> ApiResult<(Vec<KanbanTaskRecord>, ListMeta)> {
        let (req, key) = page(q.cursor.as_deref(), q.limit, store::task_key)?;
        let (rows, total) = store::list_tasks(
            &self.db.conn,
            &p.tenant_id,
            q.status.map(KanbanStatus::as_str),
            key,
            req.fetch(),
        )
        .await?;
        let (rows, mut meta) = req.finish(rows, store::task_cursor);
        meta.total = Some(total);
        Ok((rows.into_iter().map(record).collect(), meta))
    }

    pub async fn patch_task(
        &self,
        p: &Principal,
        id: &str,
        req: KanbanTaskPatchRequest,
    ) -> ApiResult<KanbanTaskRecord> {
        if !req.has_changes() {
            return Err(empty_patch());
        }
        let tx = self.db.begin_write().await?;
        store::lock_board(&tx, &p.tenant_id).await?;
        let current = store::find_task(&tx, &p.tenant_id, id)
            .await?
            .ok_or_else(|| not_found("Kanban task"))?;
        let mut next = current.clone();
        if let Some(t) = req.title.as_deref() {
            next.title = t.trim().to_owned();
        }
        if let Some(d) = req.description.as_ref() {
            next.description = trimmed(d.as_deref());
        }
        if let Some(d) = req.due_date.as_ref() {
            next.due_date = d.as_deref().map(|s| s.trim().to_owned());
        }
        if let Some(l) = req.labels.as_deref() {
            next.labels = labels_json(l);
        }
        if req.status.is_some() || req.order.is_some() {
            let column = req
                .status
                .or_else(|| KanbanStatus::parse(&current.status))
                .unwrap_or(KanbanStatus::Todo);
            // A new column without a position means "last there"; the same column keeps the
            // current position unless `order` says otherwise.
            let position = req
                .order
                .or_else(|| (column.as_str() == current.status).then_some(current.position));
            next.position = place(
                &tx,
                &p.tenant_id,
                id,
                Some(&current.status),
                column.as_str(),
                position,
            )
            .await?;
            next.status = column.as_str().to_owned();
            next.status_rank = column.rank();
        }
        next.updated_at = super::service::next_update_ms(current.updated_at);
        store::update_task(&tx, &next).await?;
        tx.commit().await?;
        Ok(record(next))
    }

    /// Moves a task to `position` in `column`; the others in both columns are renumbered.
    pub async fn move_task(
        &self,
        p: &Principal,
        id: &str,
        req: KanbanMoveRequest,
    ) -> ApiResult<KanbanTaskRecord> {
        let tx = self.db.begin_write().await?;
        store::lock_board(&tx, &p.tenant_id).await?;
        let current = store::find_task(&tx, &p.tenant_id, id)
            .await?
            .ok_or_else(|| not_found("Kanban task"))?;
        let mut next = current.clone();
        next.position = place(
            &tx,
            &p.tenant_id,
            id,
            Some(&current.status),
            req.column.as_str(),
            req.position,
        )
        .await?;
        next.status = req.column.as_str().to_owned();
        next.status_rank = req.column.rank();
        next.updated_at = super::service::next_update_ms(current.updated_at);
        store::update_task(&tx, &next).await?;
        tx.commit().await?;
        Ok(record(next))
    }

    pub async fn delete_task(&self, p: &Principal, id: &str) -> ApiResult<Deleted> {
        let tx = self.db.begin_write().await?;
        store::lock_board(&tx, &p.tenant_id).await?;
        let current = store::find_task(&tx, &p.tenant_id, id)
            .await?
            .ok_or_else(|| not_found("Kanban task"))?;
        store::delete_task(&tx, &p.tenant_id, id).await?;
        let rest = store::column_tasks(&tx, &p.tenant_id, &current.status).await?;
        renumber(&tx, &p.tenant_id, &rest, id).await?;
        tx.commit().await?;
        Ok(Deleted {
            id: id.to_owned(),
            deleted: true,
        })
    }
}
