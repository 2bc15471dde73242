//! Windows provisioning: unattend profiles, provisioning tokens (stored as SHA-256) with the
//! ISO generated for each, and the per-VM progress log the bootstrap reports into.

use super::col;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn small_int_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).integer().null().to_owned()
}

fn key(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("unattend_profiles"))
                .if_not_exists()
                .col(col::id("id"))
                .col(key("tenant_id"))
                .col(col::text("created_by"))
                .col(col::text("name"))
                .col(col::flag("is_default"))
                .col(col::text("config"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "unattend_profiles",
            "idx_unattend_profiles_updated",
            &["tenant_id", "updated_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("provisioning_tokens"))
                .if_not_exists()
                .col(col::id("id"))
                .col(key("tenant_id"))
                .col(key("vm_uuid"))
                .col(col::text("created_by"))
                .col(key("token_hash"))
                .col(col::text("status"))
                .col(col::text("iso_object_key"))
                .col(col::text("sha256"))
                .col(col::count("size"))
                .col(col::ms("issued_at"))
                .col(col::ms("expires_at"))
                .col(col::ms_null("used_at"))
                .col(col::ms_null("revoked_at"))
                .to_owned(),
        )
        .await?;
        let mut by_hash = col::index(
            "provisioning_tokens",
            "idx_provisioning_tokens_hash",
            &["token_hash"],
        );
        by_hash.unique();
        m.create_index(by_hash).await?;
        m.create_index(col::index(
            "provisioning_tokens",
            "idx_provisioning_tokens_vm",
            &["tenant_id", "vm_uuid", "issued_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("provisioning_progress"))
                .if_not_exists()
                .col(col::id("id"))
                .col(key("tenant_id"))
                .col(key("vm_uuid"))
                .col(col::text("token_id"))
                .col(col::text("step"))
                .col(col::text("status"))
                .col(col::text_null("message"))
                .col(small_int_null("progress"))
                .col(col::text("details"))
                .col(col::ms("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "provisioning_progress",
            "idx_provisioning_progress_vm",
            &["tenant_id", "vm_uuid", "created_at"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "provisioning_progress",
            "provisioning_tokens",
            "unattend_profiles",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
