//! Bots, their lifecycle log, resources (licenses, proxies, subscriptions in one typed table
//! keyed by kind) and the assignments between them. Tenant ids are not foreign keys: a
//! principal from an external JWT may name a tenant that has no row in `tenants`.

use super::col;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().null().to_owned()
}

fn int_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).integer().null().to_owned()
}

fn big(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .not_null()
        .default(0)
        .to_owned()
}

fn key(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string()
        .not_null()
        .to_owned()
}

fn pk(cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    for c in cols {
        idx.col(Alias::new(*c));
    }
    idx.primary().to_owned()
}

fn fk(
    from: &'static str,
    from_cols: &[&'static str],
    to: &'static str,
    to_cols: &[&'static str],
) -> ForeignKeyCreateStatement {
    let mut f = ForeignKey::create();
    f.from_tbl(Alias::new(from)).to_tbl(Alias::new(to));
    for c in from_cols {
        f.from_col(Alias::new(*c));
    }
    for c in to_cols {
        f.to_col(Alias::new(*c));
    }
    f.on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut bots = Table::create();
        bots.table(Alias::new("bots")).if_not_exists();
        bots.col(key("tenant_id")).col(key("id"));
        for c in ["name", "project_id"] {
            bots.col(text_null(c));
        }
        bots.col(col::text("status"))
            .col(col::text("current_stage"));
        for c in [
            "previous_status",
            "pre_ban_status",
            "pre_archive_status",
            "archive_reason",
            "ban_date",
            "ban_reason",
            "ban_mechanism",
        ] {
            bots.col(text_null(c));
        }
        for c in ["archived_at", "ban_timestamp", "unbanned_at", "last_seen"] {
            bots.col(col::ms_null(c));
        }
        for c in ["vm_uuid", "vm_name", "vm_ip"] {
            bots.col(text_null(c));
        }
        bots.col(col::ms_null("vm_created_at"));
        for c in ["character_name", "character_server"] {
            bots.col(text_null(c));
        }
        bots.col(int_null("character_level"));
        for c in [
            "character_faction",
            "character_race",
            "character_class",
            "person_first_name",
            "person_last_name",
            "person_birth_date",
            "person_country",
            "person_city",
            "person_address",
            "person_zip",
            "account_email",
            "account_password",
        ] {
            bots.col(text_null(c));
        }
        bots.col(col::ms_null("account_bnet_created_at"))
            .col(col::text("generation_locks"))
            .col(text_null("schedule"))
            .col(col::text("metadata"))
            .col(big("version"))
            .col(col::ms("created_at"))
            .col(col::ms("updated_at"))
            .primary_key(&mut pk(&["tenant_id", "id"]));
        m.create_table(bots.to_owned()).await?;
        m.create_index(col::index(
            "bots",
            "idx_bots_tenant_created",
            &["tenant_id", "created_at", "id"],
        ))
        .await?;
        m.create_index(col::index(
            "bots",
            "idx_bots_tenant_project",
            &["tenant_id", "project_id"],
        ))
        .await?;
        m.create_index(col::index(
            "bots",
            "idx_bots_tenant_status",
            &["tenant_id", "status"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("bot_lifecycle_log"))
                .if_not_exists()
                .col(col::id("id"))
                .col(key("tenant_id"))
                .col(key("bot_id"))
                .col(col::text("kind"))
                .col(text_null("from_status"))
                .col(text_null("to_status"))
                .col(text_null("from_stage"))
                .col(text_null("to_stage"))
                .col(col::text("message"))
                .col(col::text("details"))
                .col(text_null("actor"))
                .col(col::ms("at"))
                .foreign_key(&mut fk(
                    "bot_lifecycle_log",
                    &["tenant_id", "bot_id"],
                    "bots",
                    &["tenant_id", "id"],
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "bot_lifecycle_log",
            "idx_bot_lifecycle_log_bot",
            &["tenant_id", "bot_id", "at"],
        ))
        .await?;

        let mut res = Table::create();
        res.table(Alias::new("resources")).if_not_exists();
        res.col(key("tenant_id"))
            .col(key("kind"))
            .col(key("id"))
            .col(col::text("status"))
            .col(text_null("resource_type"))
            .col(col::ms_null("expires_at"))
            .col(text_null("notes"))
            // licenses
            .col(text_null("license_key"));
        // proxies
        for c in [
            "host",
            "ip",
            "username",
            "password",
            "provider",
            "country",
            "country_code",
        ] {
            res.col(text_null(c));
        }
        res.col(int_null("port"))
            .col(int_null("fraud_score"))
            .col(text_null("ipqs"))
            .col(col::ms_null("last_checked"))
            // subscriptions
            .col(text_null("service"))
            .col(col::ms_null("price_cents"))
            .col(text_null("currency"))
            .col(text_null("period"))
            .col(col::flag("auto_renew"))
            .col(text_null("account_email"))
            .col(text_null("project_id"))
            .col(big("version"))
            .col(col::ms("created_at"))
            .col(col::ms("updated_at"))
            .primary_key(&mut pk(&["tenant_id", "kind", "id"]));
        m.create_table(res.to_owned()).await?;
        m.create_index(col::index(
            "resources",
            "idx_resources_tenant_kind_created",
            &["tenant_id", "kind", "created_at", "id"],
        ))
        .await?;
        m.create_index(col::index(
            "resources",
            "idx_resources_tenant_kind_expires",
            &["tenant_id", "kind", "expires_at"],
        ))
        .await?;

        // One row per (resource, bot). `resource_slot` is set for kinds a resource serves one
        // bot with (proxies, subscriptions) and `bot_slot` for kinds a bot holds one of
        // (licenses, proxies): unique indexes on them enforce those limits in both databases
        // (NULLs never collide).
        m.create_table(
            Table::create()
                .table(Alias::new("resource_assignments"))
                .if_not_exists()
                .col(key("tenant_id"))
                .col(key("kind"))
                .col(key("resource_id"))
                .col(key("bot_id"))
                .col(text_null("resource_slot"))
                .col(text_null("bot_slot"))
                .col(col::ms("assigned_at"))
                .primary_key(&mut pk(&["tenant_id", "kind", "resource_id", "bot_id"]))
                .foreign_key(&mut fk(
                    "resource_assignments",
                    &["tenant_id", "kind", "resource_id"],
                    "resources",
                    &["tenant_id", "kind", "id"],
                ))
                .foreign_key(&mut fk(
                    "resource_assignments",
                    &["tenant_id", "bot_id"],
                    "bots",
                    &["tenant_id", "id"],
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            col::index(
                "resource_assignments",
                "uq_resource_assignments_resource_slot",
                &["tenant_id", "kind", "resource_slot"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(
            col::index(
                "resource_assignments",
                "uq_resource_assignments_bot_slot",
                &["tenant_id", "kind", "bot_slot"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "resource_assignments",
            "idx_resource_assignments_bot",
            &["tenant_id", "bot_id"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "resource_assignments",
            "resources",
            "bot_lifecycle_log",
            "bots",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
