//! Settings tree, playbooks, theme assets, IPQS cache, audit log.

use super::col;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn key_text(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string()
        .not_null()
        .to_owned()
}

fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().null().to_owned()
}

fn int_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).integer().null().to_owned()
}

fn pk(cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    for c in cols {
        idx.col(Alias::new(*c));
    }
    idx.primary().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One row per tenant and top-level settings key, so writers of different sections
        // (theme, vmgenerator task logs, …) never contend; `version` makes updates optimistic.
        m.create_table(
            Table::create()
                .table(Alias::new("settings_nodes"))
                .if_not_exists()
                .col(key_text("tenant_id"))
                .col(key_text("key"))
                .col(col::text("data"))
                .col(col::ms("version"))
                .col(col::ms("updated_at"))
                .col(text_null("updated_by"))
                .primary_key(&mut pk(&["tenant_id", "key"]))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("playbooks"))
                .if_not_exists()
                .col(col::id("id"))
                .col(key_text("tenant_id"))
                .col(col::text("created_by"))
                .col(key_text("name"))
                .col(col::flag("is_default"))
                .col(col::text("content"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            col::index(
                "playbooks",
                "uq_playbooks_tenant_name",
                &["tenant_id", "name"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "playbooks",
            "idx_playbooks_tenant_updated",
            &["tenant_id", "updated_at", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("theme_assets"))
                .if_not_exists()
                .col(col::id("id"))
                .col(key_text("tenant_id"))
                .col(col::text("created_by"))
                .col(key_text("object_key"))
                .col(col::text("filename"))
                .col(col::text("mime_type"))
                .col(col::ms("size_bytes"))
                .col(int_null("width"))
                .col(int_null("height"))
                .col(key_text("status"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            col::index(
                "theme_assets",
                "uq_theme_assets_tenant_object",
                &["tenant_id", "object_key"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "theme_assets",
            "idx_theme_assets_tenant_updated",
            &["tenant_id", "updated_at", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("ipqs_cache"))
                .if_not_exists()
                .col(key_text("tenant_id"))
                .col(key_text("ip"))
                .col(col::text("result"))
                .col(col::ms("checked_at"))
                .col(col::ms("expires_at"))
                .primary_key(&mut pk(&["tenant_id", "ip"]))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("audit_log"))
                .if_not_exists()
                .col(col::id("id"))
                .col(key_text("tenant_id"))
                .col(col::ms("at"))
                .col(key_text("actor_uid"))
                .col(key_text("actor_email"))
                .col(col::text("auth_kind"))
                .col(col::text("actor_roles"))
                .col(key_text("method"))
                .col(key_text("route"))
                .col(col::text("path"))
                .col(text_null("target_id"))
                .col(ColumnDef::new(Alias::new("status")).integer().not_null())
                .col(col::ms("duration_ms"))
                .col(text_null("request_id"))
                .col(col::text("body_shape"))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "audit_log",
            "idx_audit_log_tenant_at",
            &["tenant_id", "at", "id"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "audit_log",
            "ipqs_cache",
            "theme_assets",
            "playbooks",
            "settings_nodes",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
