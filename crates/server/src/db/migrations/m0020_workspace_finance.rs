//! Workspace (notes with tags and links, calendar events, kanban tasks) and finance
//! operations. Every table is keyed by `(tenant_id, id)`; links between notes and events are
//! rows with foreign keys, so a deleted note or event takes its links with it.
//! Money columns hold fixed-point integers: units of 10^-8.

use super::col;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn t(name: &'static str) -> Alias {
    Alias::new(name)
}

fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(t(name)).text().null().to_owned()
}

fn int(name: &'static str) -> ColumnDef {
    ColumnDef::new(t(name)).integer().not_null().to_owned()
}

fn key(cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    for c in cols {
        idx.col(t(c));
    }
    idx.to_owned()
}

/// `(tenant_id, <column>)` referencing a tenant-scoped parent, deleted with it.
fn cascade(
    from: &'static str,
    column: &'static str,
    parent: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(t(from))
        .from_col(t("tenant_id"))
        .from_col(t(column))
        .to_tbl(t(parent))
        .to_col(t("tenant_id"))
        .to_col(t("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(t("workspace_notes"))
                .if_not_exists()
                .col(col::text("tenant_id"))
                .col(col::text("id"))
                .col(col::text("title"))
                .col(col::text("content"))
                .col(col::flag("is_pinned"))
                .col(text_null("bot_id"))
                .col(text_null("project_id"))
                .col(col::ms("revision"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .primary_key(&mut key(&["tenant_id", "id"]))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "workspace_notes",
            "idx_workspace_notes_order",
            &["tenant_id", "is_pinned", "updated_at"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(t("workspace_note_tags"))
                .if_not_exists()
                .col(col::text("tenant_id"))
                .col(col::text("note_id"))
                .col(col::text("tag"))
                .col(int("position"))
                .primary_key(&mut key(&["tenant_id", "note_id", "tag"]))
                .foreign_key(&mut cascade(
                    "workspace_note_tags",
                    "note_id",
                    "workspace_notes",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "workspace_note_tags",
            "idx_workspace_note_tags_tag",
            &["tenant_id", "tag"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(t("workspace_calendar_events"))
                .if_not_exists()
                .col(col::text("tenant_id"))
                .col(col::text("id"))
                .col(col::text("title"))
                .col(col::text("description"))
                .col(col::ms("start_at"))
                .col(col::ms("end_at"))
                .col(col::flag("all_day"))
                .col(text_null("color"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .primary_key(&mut key(&["tenant_id", "id"]))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "workspace_calendar_events",
            "idx_workspace_calendar_events_start",
            &["tenant_id", "start_at"],
        ))
        .await?;
        m.create_index(col::index(
            "workspace_calendar_events",
            "idx_workspace_calendar_events_end",
            &["tenant_id", "end_at"],
        ))
        .await?;
        // A note's references to events, and an event's references to notes: two directed
        // relations, each owned (and replaced) by its source.
        m.create_table(
            Table::create()
                .table(t("workspace_note_events"))
                .if_not_exists()
                .col(col::text("tenant_id"))
                .col(col::text("note_id"))
                .col(col::text("event_id"))
                .col(int("position"))
                .primary_key(&mut key(&["tenant_id", "note_id", "event_id"]))
                .foreign_key(&mut cascade(
                    "workspace_note_events",
                    "note_id",
                    "workspace_notes",
                ))
                .foreign_key(&mut cascade(
                    "workspace_note_events",
                    "event_id",
                    "workspace_calendar_events",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "workspace_note_events",
            "idx_workspace_note_events_event",
            &["tenant_id", "event_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(t("workspace_event_notes"))
                .if_not_exists()
                .col(col::text("tenant_id"))
                .col(col::text("event_id"))
                .col(col::text("note_id"))
                .col(int("position"))
                .primary_key(&mut key(&["tenant_id", "event_id", "note_id"]))
                .foreign_key(&mut cascade(
                    "workspace_event_notes",
                    "event_id",
                    "workspace_calendar_events",
                ))
                .foreign_key(&mut cascade(
                    "workspace_event_notes",
                    "note_id",
                    "workspace_notes",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "workspace_event_notes",
            "idx_workspace_event_notes_note",
            &["tenant_id", "note_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(t("workspace_kanban_tasks"))
                .if_not_exists()
                .col(col::text("tenant_id"))
                .col(col::text("id"))
                .col(col::text("title"))
                .col(col::text("description"))
                .col(col::text("status"))
                .col(int("status_rank"))
                .col(col::ms("position"))
                .col(text_null("due_date"))
                .col(col::text("labels"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .primary_key(&mut key(&["tenant_id", "id"]))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "workspace_kanban_tasks",
            "idx_workspace_kanban_tasks_board",
            &["tenant_id", "status_rank", "position"],
        ))
        .await?;
        // One row per tenant board: every kanban write updates it first, which serialises
        // renumbering on both databases.
        m.create_table(
            Table::create()
                .table(t("workspace_kanban_boards"))
                .if_not_exists()
                .col(col::id("tenant_id"))
                .col(col::ms("version"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(t("finance_operations"))
                .if_not_exists()
                .col(col::text("tenant_id"))
                .col(col::text("id"))
                .col(col::text("op_type"))
                .col(col::text("category"))
                .col(text_null("project_id"))
                .col(text_null("bot_id"))
                .col(col::ms("amount"))
                .col(col::text("currency"))
                .col(col::ms_null("gold_amount"))
                .col(col::ms_null("gold_price"))
                .col(col::ms("occurred_at"))
                .col(text_null("description"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .primary_key(&mut key(&["tenant_id", "id"]))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "idx_finance_operations_date",
                &["tenant_id", "occurred_at", "id"][..],
            ),
            (
                "idx_finance_operations_category",
                &["tenant_id", "category"][..],
            ),
            (
                "idx_finance_operations_project",
                &["tenant_id", "project_id"][..],
            ),
            ("idx_finance_operations_bot", &["tenant_id", "bot_id"][..]),
        ] {
            m.create_index(col::index("finance_operations", name, cols))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "finance_operations",
            "workspace_kanban_boards",
            "workspace_kanban_tasks",
            "workspace_event_notes",
            "workspace_note_events",
            "workspace_calendar_events",
            "workspace_note_tags",
            "workspace_notes",
        ] {
            m.drop_table(Table::drop().table(t(table)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
