//! Persistence of unattend profiles, provisioning tokens and progress reports.

use crate::db::Db;
use crate::pagination::{AfterMs, PageRequest, newest_first_after};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

pub mod profile {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "unattend_profiles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub created_by: String,
        pub name: String,
        pub is_default: bool,
        /// The `UnattendProfileConfig`, JSON.
        pub config: String,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "provisioning_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub vm_uuid: String,
        pub created_by: String,
        /// SHA-256 (hex) of the token; the token itself is never stored.
        pub token_hash: String,
        /// `active`, `used`, `expired` or `revoked`.
        pub status: String,
        pub iso_object_key: String,
        pub sha256: String,
        pub size: i64,
        pub issued_at: i64,
        pub expires_at: i64,
        pub used_at: Option<i64>,
        pub revoked_at: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod progress {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "provisioning_progress")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub vm_uuid: String,
        pub token_id: String,
        pub step: String,
        pub status: String,
        pub message: Option<String>,
        pub progress: Option<i32>,
        /// JSON object.
        pub details: String,
        pub created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub const ACTIVE: &str = "active";
pub const USED: &str = "used";
pub const EXPIRED: &str = "expired";
pub const REVOKED: &str = "revoked";

/// Most progress reports returned for one VM (the oldest are dropped beyond this).
const PROGRESS_MAX: u64 = 1000;

#[derive(Clone, Debug)]
pub struct ProvisioningStore {
    db: Db,
}

/// Clears the default flag on every other profile of the tenant.
async fn clear_defaults(
    conn: &impl ConnectionTrait,
    tenant: &str,
    except: &str,
    now: i64,
) -> Result<(), sea_orm::DbErr> {
    profile::Entity::update_many()
        .col_expr(profile::Column::IsDefault, Expr::value(false))
        .col_expr(profile::Column::UpdatedAt, Expr::value(now))
        .filter(profile::Column::TenantId.eq(tenant))
        .filter(profile::Column::IsDefault.eq(true))
        .filter(profile::Column::Id.ne(except))
        .exec(conn)
        .await?;
    Ok(())
}

impl ProvisioningStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    // ---- profiles ----

    pub async fn profile(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<profile::Model>, sea_orm::DbErr> {
        profile::Entity::find_by_id(id.to_owned())
            .filter(profile::Column::TenantId.eq(tenant))
            .one(&self.db.conn)
            .await
    }

    /// Most recently updated first; the cursor is the last row's `(updated_at, id)`.
    pub async fn profiles(
        &self,
        tenant: &str,
        page: &PageRequest,
        after: Option<&AfterMs>,
    ) -> Result<Vec<profile::Model>, sea_orm::DbErr> {
        use profile::Column;
        let mut query = profile::Entity::find().filter(Column::TenantId.eq(tenant));
        if let Some(after) = after {
            query = query.filter(newest_first_after(Column::UpdatedAt, Column::Id, after));
        }
        query
            .order_by_desc(Column::UpdatedAt)
            .order_by_desc(Column::Id)
            .limit(page.fetch())
            .all(&self.db.conn)
            .await
    }

    /// Inserts or replaces every field of `row`; a new default takes the flag from the others
    /// in the same transaction.
    pub async fn save_profile(
        &self,
        row: profile::Model,
        insert: bool,
    ) -> Result<(), sea_orm::DbErr> {
        use profile::Column;
        let txn = self.db.conn.begin().await?;
        if row.is_default {
            clear_defaults(&txn, &row.tenant_id, &row.id, row.updated_at).await?;
        }
        if insert {
            let am: profile::ActiveModel = row.into();
            am.insert(&txn).await?;
        } else {
            profile::Entity::update_many()
                .col_expr(Column::Name, Expr::value(row.name))
                .col_expr(Column::IsDefault, Expr::value(row.is_default))
                .col_expr(Column::Config, Expr::value(row.config))
                .col_expr(Column::UpdatedAt, Expr::value(row.updated_at))
                .filter(Column::TenantId.eq(row.tenant_id.as_str()))
                .filter(Column::Id.eq(row.id.as_str()))
                .exec(&txn)
                .await?;
        }
        txn.commit().await
    }

    /// True when a row was deleted.
    pub async fn delete_profile(&self, tenant: &str, id: &str) -> Result<bool, sea_orm::DbErr> {
        let result = profile::Entity::delete_many()
            .filter(profile::Column::TenantId.eq(tenant))
            .filter(profile::Column::Id.eq(id))
            .exec(&self.db.conn)
            .await?;
        Ok(result.rows_affected > 0)
    }

    // ---- tokens ----

    /// Stores a new token, revoking the VM's other active tokens in the same transaction:
    /// one live token (and ISO) per VM. Returns the object keys of the tokens it replaced.
    pub async fn issue_token(&self, row: token::Model) -> Result<Vec<String>, sea_orm::DbErr> {
        use token::Column;
        let txn = self.db.conn.begin().await?;
        let previous: Vec<String> = token::Entity::find()
            .filter(Column::TenantId.eq(row.tenant_id.as_str()))
            .filter(Column::VmUuid.eq(row.vm_uuid.as_str()))
            .all(&txn)
            .await?
            .into_iter()
            .map(|t| t.iso_object_key)
            .collect();
        token::Entity::update_many()
            .col_expr(Column::Status, Expr::value(REVOKED))
            .col_expr(Column::RevokedAt, Expr::value(row.issued_at))
            .filter(Column::TenantId.eq(row.tenant_id.as_str()))
            .filter(Column::VmUuid.eq(row.vm_uuid.as_str()))
            .filter(Column::Status.eq(ACTIVE))
            .exec(&txn)
            .await?;
        let am: token::ActiveModel = row.into();
        am.insert(&txn).await?;
        txn.commit().await?;
        Ok(previous)
    }

    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<token::Model>, sea_orm::DbErr> {
        token::Entity::find()
            .filter(token::Column::TokenHash.eq(hash))
            .one(&self.db.conn)
            .await
    }

    pub async fn token(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<token::Model>, sea_orm::DbErr> {
        token::Entity::find_by_id(id.to_owned())
            .filter(token::Column::TenantId.eq(tenant))
            .one(&self.db.conn)
            .await
    }

    /// The VM's most recently issued token.
    pub async fn latest_token(
        &self,
        tenant: &str,
        vm_uuid: &str,
    ) -> Result<Option<token::Model>, sea_orm::DbErr> {
        token::Entity::find()
            .filter(token::Column::TenantId.eq(tenant))
            .filter(token::Column::VmUuid.eq(vm_uuid))
            .order_by_desc(token::Column::IssuedAt)
            .order_by_desc(token::Column::Id)
            .one(&self.db.conn)
            .await
    }

    /// Moves an `active` token to `status`; false when it was no longer active (a concurrent
    /// change won).
    pub async fn finish_token(
        &self,
        id: &str,
        status: &str,
        at: i64,
    ) -> Result<bool, sea_orm::DbErr> {
        use token::Column;
        let mut update = token::Entity::update_many().col_expr(Column::Status, Expr::value(status));
        update = match status {
            USED => update.col_expr(Column::UsedAt, Expr::value(at)),
            REVOKED => update.col_expr(Column::RevokedAt, Expr::value(at)),
            _ => update,
        };
        let result = update
            .filter(Column::Id.eq(id))
            .filter(Column::Status.eq(ACTIVE))
            .exec(&self.db.conn)
            .await?;
        Ok(result.rows_affected > 0)
    }

    // ---- progress ----

    pub async fn add_progress(&self, row: progress::Model) -> Result<(), sea_orm::DbErr> {
        let am: progress::ActiveModel = row.into();
        am.insert(&self.db.conn).await?;
        Ok(())
    }

    /// The VM's reports, oldest first.
    pub async fn progress(
        &self,
        tenant: &str,
        vm_uuid: &str,
    ) -> Result<Vec<progress::Model>, sea_orm::DbErr> {
        let mut rows = progress::Entity::find()
            .filter(progress::Column::TenantId.eq(tenant))
            .filter(progress::Column::VmUuid.eq(vm_uuid))
            .order_by_desc(progress::Column::CreatedAt)
            .order_by_desc(progress::Column::Id)
            .limit(PROGRESS_MAX)
            .all(&self.db.conn)
            .await?;
        rows.reverse();
        Ok(rows)
    }
}
