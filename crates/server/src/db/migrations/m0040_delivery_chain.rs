//! The lease-gated delivery chain: VM registry, licenses, entitlements, execution leases,
//! artifact releases and assignments, the download audit, the vault and the data keys of
//! the server-side envelope encryption.

use super::col;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().null().to_owned()
}

fn key(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string()
        .not_null()
        .to_owned()
}

fn unique(table: &'static str, name: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = col::index(table, name, cols);
    idx.unique();
    idx
}

fn pk(cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    for c in cols {
        idx.col(Alias::new(*c));
    }
    idx.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("vm_registry"))
                .if_not_exists()
                .col(key("tenant_id"))
                .col(key("vm_uuid"))
                .col(col::text("user_id"))
                .col(col::text("vm_name"))
                .col(col::text("project_id"))
                .col(col::text("status"))
                .col(col::text("metadata"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .primary_key(&mut pk(&["tenant_id", "vm_uuid"]))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "vm_registry",
            "idx_vm_registry_owner",
            &["tenant_id", "user_id"],
        ))
        .await?;
        m.create_index(col::index(
            "vm_registry",
            "idx_vm_registry_created",
            &["tenant_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("tenant_licenses"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("tenant_id"))
                .col(text_null("user_id"))
                .col(col::text("license_type"))
                .col(col::text("status"))
                .col(col::ms_null("expires_at"))
                .col(col::text("metadata"))
                .col(col::text("created_by"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "tenant_licenses",
            "idx_tenant_licenses_user",
            &["tenant_id", "user_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("tenant_entitlements"))
                .if_not_exists()
                .col(key("tenant_id"))
                .col(key("user_id"))
                .col(col::text("modules"))
                .col(col::text("updated_by"))
                .col(col::ms("updated_at"))
                .primary_key(&mut pk(&["tenant_id", "user_id"]))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("execution_leases"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("tenant_id"))
                .col(col::text("user_id"))
                .col(col::text("vm_uuid"))
                .col(col::text("module"))
                .col(text_null("version"))
                .col(col::text("agent_id"))
                .col(col::text("runner_id"))
                .col(col::text("license_id"))
                .col(col::text("status"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .col(col::ms("expires_at"))
                .col(col::ms_null("last_heartbeat_at"))
                .col(col::ms_null("revoked_at"))
                .col(text_null("revoked_by"))
                .col(text_null("revoke_reason"))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "execution_leases",
            "idx_execution_leases_created",
            &["tenant_id", "created_at"],
        ))
        .await?;
        m.create_index(col::index(
            "execution_leases",
            "idx_execution_leases_user",
            &["tenant_id", "user_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("artifact_releases"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("tenant_id"))
                .col(key("module"))
                .col(key("platform"))
                .col(key("channel"))
                .col(key("version"))
                .col(
                    ColumnDef::new(Alias::new("object_key"))
                        .string()
                        .null()
                        .unique_key()
                        .to_owned(),
                )
                .col(col::text("sha256"))
                .col(
                    ColumnDef::new(Alias::new("size_bytes"))
                        .big_integer()
                        .not_null()
                        .to_owned(),
                )
                .col(col::text("status"))
                .col(col::text("file_name"))
                .col(col::ms_null("uploaded_at"))
                .col(col::text("created_by"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "artifact_releases",
            "uq_artifact_releases_scope_version",
            &["tenant_id", "module", "platform", "channel", "version"],
        ))
        .await?;
        m.create_index(col::index(
            "artifact_releases",
            "idx_artifact_releases_created",
            &["tenant_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("artifact_assignments"))
                .if_not_exists()
                .col(col::id("id"))
                .col(key("tenant_id"))
                .col(key("module"))
                .col(key("platform"))
                .col(key("channel"))
                .col(key("user_key"))
                .col(text_null("user_id"))
                .col(key("release_id"))
                .col(col::text("updated_by"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from(Alias::new("artifact_assignments"), Alias::new("release_id"))
                        .to(Alias::new("artifact_releases"), Alias::new("id")),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "artifact_assignments",
            "uq_artifact_assignments_scope_user",
            &["tenant_id", "module", "platform", "channel", "user_key"],
        ))
        .await?;
        m.create_index(col::index(
            "artifact_assignments",
            "idx_artifact_assignments_created",
            &["tenant_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("artifact_download_audit"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("tenant_id"))
                .col(col::text("event_type"))
                .col(col::text("result"))
                .col(col::text("reason"))
                .col(text_null("lease_id"))
                .col(text_null("user_id"))
                .col(text_null("actor_uid"))
                .col(text_null("vm_uuid"))
                .col(text_null("module"))
                .col(text_null("platform"))
                .col(text_null("channel"))
                .col(text_null("release_id"))
                .col(text_null("request_ip"))
                .col(col::ms_null("url_expires_at"))
                .col(col::ms("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "artifact_download_audit",
            "idx_artifact_download_audit_created",
            &["tenant_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("secrets"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("tenant_id"))
                .col(col::text("label"))
                .col(col::text("kind"))
                .col(col::text("labels"))
                .col(col::text("ciphertext"))
                .col(col::text("nonce"))
                .col(col::text("alg"))
                .col(col::text("key_id"))
                .col(col::text("aad_meta"))
                .col(
                    ColumnDef::new(Alias::new("material_version"))
                        .integer()
                        .not_null()
                        .default(1)
                        .to_owned(),
                )
                .col(col::text("created_by"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .col(col::ms_null("rotated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(col::index(
            "secrets",
            "idx_secrets_created",
            &["tenant_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("secret_bindings"))
                .if_not_exists()
                .col(col::id("id"))
                .col(key("tenant_id"))
                .col(key("scope_type"))
                .col(key("scope_id"))
                .col(key("field_name"))
                .col(key("secret_ref"))
                .col(col::ms("created_at"))
                .col(col::ms("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from(Alias::new("secret_bindings"), Alias::new("secret_ref"))
                        .to(Alias::new("secrets"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "secret_bindings",
            "uq_secret_bindings_scope_field",
            &["tenant_id", "scope_type", "scope_id", "field_name"],
        ))
        .await?;
        m.create_index(col::index(
            "secret_bindings",
            "idx_secret_bindings_created",
            &["tenant_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("envelope_data_keys"))
                .if_not_exists()
                .col(col::id("id"))
                .col(col::text("wrapped_key"))
                .col(col::text("master_key_id"))
                .col(col::text("status"))
                .col(col::ms("created_at"))
                .col(col::ms_null("rewrapped_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "envelope_data_keys",
            "secret_bindings",
            "secrets",
            "artifact_download_audit",
            "artifact_assignments",
            "artifact_releases",
            "execution_leases",
            "tenant_entitlements",
            "tenant_licenses",
            "vm_registry",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
