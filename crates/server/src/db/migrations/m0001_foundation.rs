//! Tenants, users, sessions (refresh tokens), API tokens, revoked access tokens, server keys.

use super::col;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("tenants"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("name"))
                .col(col::ms("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("users"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("tenant_id"))
                .col(col::text("email").unique_key().to_owned())
                .col(col::text("password_hash"))
                .col(col::text("roles"))
                .col(col::flag("disabled"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from(Alias::new("users"), Alias::new("tenant_id"))
                        .to(Alias::new("tenants"), Alias::new("id")),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(col::index("users", "idx_users_tenant", &["tenant_id"]))
            .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("refresh_tokens"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("family_id"))
                .col(col::text("user_id"))
                .col(col::text("tenant_id"))
                .col(col::text("token_hash").unique_key().to_owned())
                .col(col::ms("created_at"))
                .col(col::ms("expires_at"))
                .col(col::ms_null("used_at"))
                .col(col::ms_null("revoked_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from(Alias::new("refresh_tokens"), Alias::new("user_id"))
                        .to(Alias::new("users"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "refresh_tokens",
            "idx_refresh_tokens_family",
            &["family_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("api_tokens"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("tenant_id"))
                .col(col::text("name"))
                .col(col::text("token_hash").unique_key().to_owned())
                .col(col::text("roles"))
                .col(col::text("created_by"))
                .col(col::ms("created_at"))
                .col(col::ms_null("expires_at"))
                .col(col::ms_null("revoked_at"))
                .col(col::ms_null("last_used_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "api_tokens",
            "idx_api_tokens_tenant",
            &["tenant_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("revoked_access_tokens"))
                .if_not_exists()
                .col(col::id("jti"))
                .col(col::ms("expires_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("server_keys"))
                .if_not_exists()
                .col(col::id("name"))
                .col(col::text("value"))
                .col(col::ms("created_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "server_keys",
            "revoked_access_tokens",
            "api_tokens",
            "refresh_tokens",
            "users",
            "tenants",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
