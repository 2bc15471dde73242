//! The VM generator: durable jobs (leased to one node at a time, fenced by an epoch) and their
//! items, one per VM, with per-step state.

use super::col;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn int_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("vmgen_jobs"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("tenant_id"))
                .col(col::text("created_by"))
                .col(col::text("creator_roles"))
                .col(col::text("agent_id"))
                .col(col::text("request"))
                .col(col::text_null("request_url"))
                .col(col::text("status"))
                .col(col::text_null("lease_owner"))
                .col(col::ms_null("lease_until"))
                .col(col::count("lease_epoch"))
                .col(col::ms_null("cancel_requested_at"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .col(col::ms_null("started_at"))
                .col(col::ms_null("finished_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "vmgen_jobs",
            "idx_vmgen_jobs_tenant_created",
            &["tenant_id", "created_at"],
        ))
        .await?;
        m.create_index(col::index(
            "vmgen_jobs",
            "idx_vmgen_jobs_status",
            &["status", "created_at"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("vmgen_items"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("job_id"))
                .col(col::text("tenant_id"))
                .col(col::count("idx"))
                .col(col::text("name"))
                .col(col::text("status"))
                .col(int_null("vmid"))
                .col(col::text_null("vm_uuid"))
                .col(col::text_null("ip"))
                .col(col::text_null("token_id"))
                .col(col::text_null("current_step"))
                .col(col::text_null("error"))
                .col(col::text("steps"))
                .col(col::ms("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from(Alias::new("vmgen_items"), Alias::new("job_id"))
                        .to(Alias::new("vmgen_jobs"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "vmgen_items",
            "idx_vmgen_items_job",
            &["job_id", "idx"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["vmgen_items", "vmgen_jobs"] {
            m.drop_table(Table::drop().table(Alias::new(t)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
