//! Persistence of notes (with tags and event links), calendar events (with note links) and
//! kanban tasks. Every query is scoped by tenant; functions take any connection so the
//! service can run them inside one transaction.

use crate::pagination::Cursor;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashMap;

pub mod note {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "workspace_notes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub title: String,
        pub content: String,
        pub is_pinned: bool,
        pub bot_id: Option<String>,
        pub project_id: Option<String>,
        pub revision: i64,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod note_tag {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "workspace_note_tags")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub note_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tag: String,
        pub position: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A note's references to calendar events.
pub mod note_event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "workspace_note_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub note_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub position: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "workspace_calendar_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub title: String,
        pub description: String,
        pub start_at: i64,
        pub end_at: i64,
        pub all_day: bool,
        pub color: Option<String>,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An event's references to notes.
pub mod event_note {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "workspace_event_notes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub note_id: String,
        pub position: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod task {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "workspace_kanban_tasks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub title: String,
        pub description: String,
        pub status: String,
        pub status_rank: i32,
        pub position: i64,
        pub due_date: Option<String>,
        /// JSON array of strings.
        pub labels: String,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod board {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "workspace_kanban_boards")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `%text%` for LIKE, with the wildcards in `text` escaped by `\`.
fn contains_pattern(text: &str) -> LikeExpr {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    LikeExpr::new(p).escape('\\')
}

// ---------------------------------------------------------------- notes

#[derive(Debug, Default, Clone)]
pub struct NoteFilter {
    pub q: Option<String>,
    pub tag: Option<String>,
    pub pinned: Option<bool>,
}

fn note_condition(tenant: &str, f: &NoteFilter) -> Condition {
    let mut cond = Condition::all().add(note::Column::TenantId.eq(tenant));
    if let Some(p) = f.pinned {
        cond = cond.add(note::Column::IsPinned.eq(p));
    }
    if let Some(q) = f.q.as_deref() {
        cond = cond.add(
            Condition::any()
                .add(
                    Expr::expr(Func::lower(Expr::col(note::Column::Title)))
                        .like(contains_pattern(q)),
                )
                .add(
                    Expr::expr(Func::lower(Expr::col(note::Column::Content)))
                        .like(contains_pattern(q)),
                ),
        );
    }
    if let Some(tag) = f.tag.as_deref() {
        cond = cond.add(
            note::Column::Id.in_subquery(
                Query::select()
                    .column(note_tag::Column::NoteId)
                    .from(note_tag::Entity)
                    .and_where(note_tag::Column::TenantId.eq(tenant))
                    .and_where(note_tag::Column::Tag.eq(tag))
                    .to_owned(),
            ),
        );
    }
    cond
}

/// Rows after the cursor in the order pinned first, then newest `updated_at`, then id.
fn note_after(c: &NoteKey) -> Condition {
    let newer_tail = Condition::any()
        .add(note::Column::UpdatedAt.lt(c.updated_at))
        .add(
            Condition::all()
                .add(note::Column::UpdatedAt.eq(c.updated_at))
                .add(note::Column::Id.lt(c.id.clone())),
        );
    if c.pinned {
        Condition::any().add(note::Column::IsPinned.eq(false)).add(
            Condition::all()
                .add(note::Column::IsPinned.eq(true))
                .add(newer_tail),
        )
    } else {
        Condition::all()
            .add(note::Column::IsPinned.eq(false))
            .add(newer_tail)
    }
}

/// Keyset position in the notes order.
#[derive(Debug, Clone)]
pub struct NoteKey {
    pub pinned: bool,
    pub updated_at: i64,
    pub id: String,
}

impl NoteKey {
    pub fn of(n: &note::Model) -> Cursor {
        Cursor {
            key: serde_json::json!([n.is_pinned, n.updated_at]),
            id: n.id.clone(),
        }
    }

    pub fn from_cursor(c: &Cursor) -> Option<Self> {
        let arr = c.key.as_array()?;
        Some(Self {
            pinned: arr.first()?.as_bool()?,
            updated_at: arr.get(1)?.as_i64()?,
            id: c.id.clone(),
        })
    }
}

pub async fn list_notes<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    filter: &NoteFilter,
    after: Option<&NoteKey>,
    fetch: u64,
) -> Result<(Vec<note::Model>, u64), DbErr> {
    let base = note_condition(tenant, filter);
    let total = note::Entity::find()
        .filter(base.clone())
        .count(conn)
        .await?;
    let mut cond = base;
    if let Some(k) = after {
        cond = cond.add(note_after(k));
    }
    let rows = note::Entity::find()
        .filter(cond)
        .order_by_desc(note::Column::IsPinned)
        .order_by_desc(note::Column::UpdatedAt)
        .order_by_desc(note::Column::Id)
        .limit(fetch)
        .all(conn)
        .await?;
    Ok((rows, total))
}

pub async fn find_note<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
) -> Result<Option<note::Model>, DbErr> {
    note::Entity::find_by_id((tenant.to_owned(), id.to_owned()))
        .one(conn)
        .await
}

pub async fn insert_note<C: ConnectionTrait>(conn: &C, row: note::Model) -> Result<(), DbErr> {
    let am: note::ActiveModel = row.into();
    note::Entity::insert(am)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes `row` over the stored note if, and only if, it is still at `expected_revision`:
/// the compare-and-set that makes concurrent saves detectable. Returns whether it wrote.
pub async fn update_note_if_revision<C: ConnectionTrait>(
    conn: &C,
    row: &note::Model,
    expected_revision: i64,
) -> Result<bool, DbErr> {
    let res = note::Entity::update_many()
        .col_expr(note::Column::Title, Expr::value(row.title.clone()))
        .col_expr(note::Column::Content, Expr::value(row.content.clone()))
        .col_expr(note::Column::IsPinned, Expr::value(row.is_pinned))
        .col_expr(note::Column::BotId, Expr::value(row.bot_id.clone()))
        .col_expr(note::Column::ProjectId, Expr::value(row.project_id.clone()))
        .col_expr(note::Column::Revision, Expr::value(row.revision))
        .col_expr(note::Column::UpdatedAt, Expr::value(row.updated_at))
        .filter(note::Column::TenantId.eq(row.tenant_id.clone()))
        .filter(note::Column::Id.eq(row.id.clone()))
        .filter(note::Column::Revision.eq(expected_revision))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Deletes a note (its tags and links go with it); `revision` makes it conditional.
pub async fn delete_note<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
    revision: Option<i64>,
) -> Result<bool, DbErr> {
    let mut q = note::Entity::delete_many()
        .filter(note::Column::TenantId.eq(tenant))
        .filter(note::Column::Id.eq(id));
    if let Some(r) = revision {
        q = q.filter(note::Column::Revision.eq(r));
    }
    Ok(q.exec(conn).await?.rows_affected == 1)
}

/// Link tables that keep an owner's ordered list of ids: `(tenant_id, owner, item, position)`.
pub trait OrderedLinks: EntityTrait {
    fn tenant_col() -> Self::Column;
    fn owner_col() -> Self::Column;
    fn position_col() -> Self::Column;
    fn row(tenant: &str, owner: &str, item: &str, position: i32) -> Self::ActiveModel;
    /// `(owner, item)` of a stored row.
    fn parts(row: Self::Model) -> (String, String);
}

macro_rules! ordered_links {
    ($table:ident, $owner:ident, $Owner:ident, $item:ident) => {
        impl OrderedLinks for $table::Entity {
            fn tenant_col() -> $table::Column {
                $table::Column::TenantId
            }
            fn owner_col() -> $table::Column {
                $table::Column::$Owner
            }
            fn position_col() -> $table::Column {
                $table::Column::Position
            }
            fn row(tenant: &str, owner: &str, item: &str, position: i32) -> $table::ActiveModel {
                $table::ActiveModel {
                    tenant_id: Set(tenant.to_owned()),
                    $owner: Set(owner.to_owned()),
                    $item: Set(item.to_owned()),
                    position: Set(position),
                }
            }
            fn parts(row: $table::Model) -> (String, String) {
                (row.$owner, row.$item)
            }
        }
    };
}

ordered_links!(note_tag, note_id, NoteId, tag);
ordered_links!(note_event, note_id, NoteId, event_id);
ordered_links!(event_note, event_id, EventId, note_id);

/// A note's tags.
pub type NoteTags = note_tag::Entity;
/// A note's references to calendar events.
pub type NoteEvents = note_event::Entity;
/// An event's references to notes.
pub type EventNotes = event_note::Entity;

/// Replaces the owner's list with `items`, in that order.
pub async fn replace_links<E: OrderedLinks, C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    owner: &str,
    items: &[String],
) -> Result<(), DbErr> {
    E::delete_many()
        .filter(E::tenant_col().eq(tenant))
        .filter(E::owner_col().eq(owner))
        .exec(conn)
        .await?;
    if items.is_empty() {
        return Ok(());
    }
    let rows = items
        .iter()
        .zip(0..)
        .map(|(item, position)| E::row(tenant, owner, item, position));
    E::insert_many(rows).exec_without_returning(conn).await?;
    Ok(())
}

/// The lists of the given owners, each in its stored order.
pub async fn links_of<E: OrderedLinks, C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    owners: &[String],
) -> Result<HashMap<String, Vec<String>>, DbErr> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    if owners.is_empty() {
        return Ok(out);
    }
    let rows = E::find()
        .filter(E::tenant_col().eq(tenant))
        .filter(E::owner_col().is_in(owners.iter().cloned()))
        .order_by_asc(E::owner_col())
        .order_by_asc(E::position_col())
        .all(conn)
        .await?;
    for row in rows {
        let (owner, item) = E::parts(row);
        out.entry(owner).or_default().push(item);
    }
    Ok(out)
}

/// Which of `ids` name notes of the tenant.
pub async fn existing_note_ids<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    ids: &[String],
) -> Result<Vec<String>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    note::Entity::find()
        .select_only()
        .column(note::Column::Id)
        .filter(note::Column::TenantId.eq(tenant))
        .filter(note::Column::Id.is_in(ids.iter().cloned()))
        .into_tuple::<String>()
        .all(conn)
        .await
}

/// Which of `ids` name calendar events of the tenant.
pub async fn existing_event_ids<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    ids: &[String],
) -> Result<Vec<String>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    event::Entity::find()
        .select_only()
        .column(event::Column::Id)
        .filter(event::Column::TenantId.eq(tenant))
        .filter(event::Column::Id.is_in(ids.iter().cloned()))
        .into_tuple::<String>()
        .all(conn)
        .await
}

// ---------------------------------------------------------------- calendar

#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    /// Events ending at or after this instant.
    pub from: Option<i64>,
    /// Events starting at or before this instant.
    pub to: Option<i64>,
    pub note_id: Option<String>,
}

fn event_condition(tenant: &str, f: &EventFilter) -> Condition {
    let mut cond = Condition::all().add(event::Column::TenantId.eq(tenant));
    if let Some(from) = f.from {
        cond = cond.add(event::Column::EndAt.gte(from));
    }
    if let Some(to) = f.to {
        cond = cond.add(event::Column::StartAt.lte(to));
    }
    if let Some(note_id) = f.note_id.as_deref() {
        cond = cond.add(
            event::Column::Id.in_subquery(
                Query::select()
                    .column(event_note::Column::EventId)
                    .from(event_note::Entity)
                    .and_where(event_note::Column::TenantId.eq(tenant))
                    .and_where(event_note::Column::NoteId.eq(note_id))
                    .to_owned(),
            ),
        );
    }
    cond
}

pub fn event_cursor(e: &event::Model) -> Cursor {
    Cursor {
        key: serde_json::json!(e.start_at),
        id: e.id.clone(),
    }
}

pub async fn list_events<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    filter: &EventFilter,
    after: Option<(i64, String)>,
    fetch: u64,
) -> Result<(Vec<event::Model>, u64), DbErr> {
    let base = event_condition(tenant, filter);
    let total = event::Entity::find()
        .filter(base.clone())
        .count(conn)
        .await?;
    let mut cond = base;
    if let Some((start, id)) = after {
        cond = cond.add(
            Condition::any().add(event::Column::StartAt.gt(start)).add(
                Condition::all()
                    .add(event::Column::StartAt.eq(start))
                    .add(event::Column::Id.gt(id)),
            ),
        );
    }
    let rows = event::Entity::find()
        .filter(cond)
        .order_by_asc(event::Column::StartAt)
        .order_by_asc(event::Column::Id)
        .limit(fetch)
        .all(conn)
        .await?;
    Ok((rows, total))
}

pub async fn find_event<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
) -> Result<Option<event::Model>, DbErr> {
    event::Entity::find_by_id((tenant.to_owned(), id.to_owned()))
        .one(conn)
        .await
}

/// The event, row-locked until the transaction ends (PostgreSQL; SQLite's write transaction
/// already excludes other writers).
pub async fn find_event_for_update<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
) -> Result<Option<event::Model>, DbErr> {
    event::Entity::find_by_id((tenant.to_owned(), id.to_owned()))
        .lock_exclusive()
        .one(conn)
        .await
}

pub async fn insert_event<C: ConnectionTrait>(conn: &C, row: event::Model) -> Result<(), DbErr> {
    let am: event::ActiveModel = row.into();
    event::Entity::insert(am)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn update_event<C: ConnectionTrait>(conn: &C, row: &event::Model) -> Result<(), DbErr> {
    event::Entity::update_many()
        .col_expr(event::Column::Title, Expr::value(row.title.clone()))
        .col_expr(
            event::Column::Description,
            Expr::value(row.description.clone()),
        )
        .col_expr(event::Column::StartAt, Expr::value(row.start_at))
        .col_expr(event::Column::EndAt, Expr::value(row.end_at))
        .col_expr(event::Column::AllDay, Expr::value(row.all_day))
        .col_expr(event::Column::Color, Expr::value(row.color.clone()))
        .col_expr(event::Column::UpdatedAt, Expr::value(row.updated_at))
        .filter(event::Column::TenantId.eq(row.tenant_id.clone()))
        .filter(event::Column::Id.eq(row.id.clone()))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn delete_event<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
) -> Result<bool, DbErr> {
    let res = event::Entity::delete_many()
        .filter(event::Column::TenantId.eq(tenant))
        .filter(event::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

// ---------------------------------------------------------------- kanban

/// Serialises kanban writes of a tenant: the board row is updated first in every write
/// transaction, so concurrent renumberings queue behind each other (row lock on PostgreSQL,
/// the write lock on SQLite).
pub async fn lock_board<C: ConnectionTrait>(conn: &C, tenant: &str) -> Result<(), DbErr> {
    let row = board::ActiveModel {
        tenant_id: Set(tenant.to_owned()),
        version: Set(0),
    };
    board::Entity::insert(row)
        .on_conflict_do_nothing_on([board::Column::TenantId])
        .exec(conn)
        .await?;
    board::Entity::update_many()
        .col_expr(
            board::Column::Version,
            Expr::col(board::Column::Version).add(1),
        )
        .filter(board::Column::TenantId.eq(tenant))
        .exec(conn)
        .await?;
    Ok(())
}

pub fn task_cursor(t: &task::Model) -> Cursor {
    Cursor {
        key: serde_json::json!([t.status_rank, t.position]),
        id: t.id.clone(),
    }
}

/// Keyset position in the board order (column rank, position, id).
pub fn task_key(c: &Cursor) -> Option<(i32, i64, String)> {
    let arr = c.key.as_array()?;
    let rank = i32::try_from(arr.first()?.as_i64()?).ok()?;
    Some((rank, arr.get(1)?.as_i64()?, c.id.clone()))
}

pub async fn list_tasks<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    status: Option<&str>,
    after: Option<(i32, i64, String)>,
    fetch: u64,
) -> Result<(Vec<task::Model>, u64), DbErr> {
    let mut base = Condition::all().add(task::Column::TenantId.eq(tenant));
    if let Some(s) = status {
        base = base.add(task::Column::Status.eq(s));
    }
    let total = task::Entity::find()
        .filter(base.clone())
        .count(conn)
        .await?;
    let mut cond = base;
    if let Some((rank, pos, id)) = after {
        cond = cond.add(
            Condition::any()
                .add(task::Column::StatusRank.gt(rank))
                .add(
                    Condition::all()
                        .add(task::Column::StatusRank.eq(rank))
                        .add(task::Column::Position.gt(pos)),
                )
                .add(
                    Condition::all()
                        .add(task::Column::StatusRank.eq(rank))
                        .add(task::Column::Position.eq(pos))
                        .add(task::Column::Id.gt(id)),
                ),
        );
    }
    let rows = task::Entity::find()
        .filter(cond)
        .order_by_asc(task::Column::StatusRank)
        .order_by_asc(task::Column::Position)
        .order_by_asc(task::Column::Id)
        .limit(fetch)
        .all(conn)
        .await?;
    Ok((rows, total))
}

/// Ids and positions of one column, in board order.
pub async fn column_tasks<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    status: &str,
) -> Result<Vec<(String, i64)>, DbErr> {
    task::Entity::find()
        .select_only()
        .column(task::Column::Id)
        .column(task::Column::Position)
        .filter(task::Column::TenantId.eq(tenant))
        .filter(task::Column::Status.eq(status))
        .order_by_asc(task::Column::Position)
        .order_by_asc(task::Column::Id)
        .into_tuple::<(String, i64)>()
        .all(conn)
        .await
}

pub async fn set_task_position<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
    position: i64,
) -> Result<(), DbErr> {
    task::Entity::update_many()
        .col_expr(task::Column::Position, Expr::value(position))
        .filter(task::Column::TenantId.eq(tenant))
        .filter(task::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn find_task<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
) -> Result<Option<task::Model>, DbErr> {
    task::Entity::find_by_id((tenant.to_owned(), id.to_owned()))
        .one(conn)
        .await
}

pub async fn insert_task<C: ConnectionTrait>(conn: &C, row: task::Model) -> Result<(), DbErr> {
    let am: task::ActiveModel = row.into();
    task::Entity::insert(am)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn update_task<C: ConnectionTrait>(conn: &C, row: &task::Model) -> Result<(), DbErr> {
    task::Entity::update_many()
        .col_expr(task::Column::Title, Expr::value(row.title.clone()))
        .col_expr(
            task::Column::Description,
            Expr::value(row.description.clone()),
        )
        .col_expr(task::Column::Status, Expr::value(row.status.clone()))
        .col_expr(task::Column::StatusRank, Expr::value(row.status_rank))
        .col_expr(task::Column::Position, Expr::value(row.position))
        .col_expr(task::Column::DueDate, Expr::value(row.due_date.clone()))
        .col_expr(task::Column::Labels, Expr::value(row.labels.clone()))
        .col_expr(task::Column::UpdatedAt, Expr::value(row.updated_at))
        .filter(task::Column::TenantId.eq(row.tenant_id.clone()))
        .filter(task::Column::Id.eq(row.id.clone()))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn delete_task<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
) -> Result<bool, DbErr> {
    let res = task::Entity::delete_many()
        .filter(task::Column::TenantId.eq(tenant))
        .filter(task::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}
