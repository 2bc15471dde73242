//! Agents, their tokens, the command queue and its durable event log.

use super::col;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("agents"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("tenant_id"))
                .col(col::text("name"))
                .col(col::text("status"))
                .col(col::text_null("owner_user_id"))
                .col(col::text_null("version"))
                .col(col::text_null("platform"))
                .col(col::text("capabilities"))
                .col(col::text_null("pairing_code_hash").unique_key().to_owned())
                .col(col::ms_null("pairing_expires_at"))
                .col(col::ms_null("paired_at"))
                .col(col::text_null("paired_by"))
                .col(col::ms_null("last_seen_at"))
                .col(col::ms_null("revoked_at"))
                .col(col::text_null("revoked_by"))
                .col(col::text_null("revoke_reason"))
                .col(col::text("metadata"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "agents",
            "idx_agents_tenant_created",
            &["tenant_id", "created_at"],
        ))
        .await?;
        m.create_index(col::index(
            "agents",
            "idx_agents_owner",
            &["tenant_id", "owner_user_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("agent_tokens"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("agent_id"))
                .col(col::text("tenant_id"))
                .col(col::text("token_hash").unique_key().to_owned())
                .col(col::ms("created_at"))
                .col(col::ms("expires_at"))
                .col(col::ms_null("revoked_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from(Alias::new("agent_tokens"), Alias::new("agent_id"))
                        .to(Alias::new("agents"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "agent_tokens",
            "idx_agent_tokens_agent",
            &["agent_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("agent_commands"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("tenant_id"))
                .col(col::text("agent_id"))
                .col(col::text("command_type"))
                .col(col::text("payload"))
                .col(col::text("status"))
                .col(col::text_null("result"))
                .col(col::text_null("error_message"))
                .col(col::ms("queued_at"))
                .col(col::ms_null("dispatched_at"))
                .col(col::ms_null("started_at"))
                .col(col::ms_null("last_progress_at"))
                .col(col::ms_null("completed_at"))
                .col(col::ms_null("expires_at"))
                .col(col::text_null("created_by"))
                .col(col::flag("creator_privileged"))
                .col(col::text_null("idempotency_key"))
                .col(col::count("lease_epoch"))
                .col(col::count("requeue_count"))
                .col(
                    ColumnDef::new(Alias::new("progress"))
                        .big_integer()
                        .null()
                        .to_owned(),
                )
                .col(col::text_null("progress_message"))
                .col(col::ms_null("cancel_requested_at"))
                .col(col::ms("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from(Alias::new("agent_commands"), Alias::new("agent_id"))
                        .to(Alias::new("agents"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "agent_commands",
            "idx_commands_claim",
            &["agent_id", "status", "queued_at"],
        ))
        .await?;
        m.create_index(col::index(
            "agent_commands",
            "idx_commands_tenant",
            &["tenant_id", "queued_at"],
        ))
        .await?;
        m.create_index(col::index(
            "agent_commands",
            "idx_commands_status",
            &["status"],
        ))
        .await?;
        m.create_index(
            col::index(
                "agent_commands",
                "uq_commands_idempotency",
                &["tenant_id", "idempotency_key"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("command_events"))
                .if_not_exists()
                .col(
                    ColumnDef::new(Alias::new("id"))
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(col::text("tenant_id"))
                .col(col::text("agent_id"))
                .col(col::text("command_id"))
                .col(col::text_null("created_by"))
                .col(col::text("payload"))
                .col(col::ms("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "command_events",
            "idx_command_events_tenant",
            &["tenant_id", "id"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["command_events", "agent_commands", "agent_tokens", "agents"] {
            m.drop_table(Table::drop().table(Alias::new(t)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
