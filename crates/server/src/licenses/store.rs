//! Persistence of licenses, entitlements and execution leases.

use crate::db::Db;
use crate::pagination::{AfterMs, newest_first_after};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

pub mod license {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenant_licenses")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub user_id: Option<String>,
        pub license_type: String,
        pub status: String,
        pub expires_at: Option<i64>,
        pub metadata: String,
        pub created_by: String,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod entitlement {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenant_entitlements")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        /// JSON array of module names; `"*"` allows all.
        pub modules: String,
        pub updated_by: String,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod lease {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "execution_leases")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub user_id: String,
        pub vm_uuid: String,
        pub module: String,
        pub version: Option<String>,
        pub agent_id: String,
        pub runner_id: String,
        pub license_id: String,
        pub status: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub expires_at: i64,
        pub last_heartbeat_at: Option<i64>,
        pub revoked_at: Option<i64>,
        pub revoked_by: Option<String>,
        pub revoke_reason: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(Debug, Default, Clone)]
pub struct LeaseFilter {
    pub user_id: Option<String>,
    pub vm_uuid: Option<String>,
    /// `active` (and unexpired), `revoked` or `expired` (stored or past `expires_at`).
    pub status: Option<String>,
}

#[derive(Clone, Debug)]
pub struct LicenseStore {
    db: Db,
}

impl LicenseStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    // ---- licenses ----

    pub async fn insert_license(&self, row: license::Model) -> Result<(), sea_orm::DbErr> {
        let am: license::ActiveModel = row.into();
        license::Entity::insert(am)
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn license(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<license::Model>, sea_orm::DbErr> {
        license::Entity::find_by_id(id.to_owned())
            .filter(license::Column::TenantId.eq(tenant))
            .one(&self.db.conn)
            .await
    }

    pub async fn update_license(&self, row: license::Model) -> Result<(), sea_orm::DbErr> {
        license::Entity::update_many()
            .col_expr(license::Column::LicenseType, Expr::value(row.license_type))
            .col_expr(license::Column::Status, Expr::value(row.status))
            .col_expr(license::Column::ExpiresAt, Expr::value(row.expires_at))
            .col_expr(license::Column::Metadata, Expr::value(row.metadata))
            .col_expr(license::Column::UpdatedAt, Expr::value(row.updated_at))
            .filter(license::Column::Id.eq(row.id))
            .filter(license::Column::TenantId.eq(row.tenant_id))
            .exec(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn delete_license(&self, tenant: &str, id: &str) -> Result<bool, sea_orm::DbErr> {
        let res = license::Entity::delete_many()
            .filter(license::Column::Id.eq(id))
            .filter(license::Column::TenantId.eq(tenant))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Newest first, keyset on (`created_at`, `id`).
    pub async fn licenses(
        &self,
        tenant: &str,
        user_id: Option<&str>,
        status: Option<&str>,
        after: Option<&AfterMs>,
        fetch: u64,
    ) -> Result<Vec<license::Model>, sea_orm::DbErr> {
        let mut q = license::Entity::find().filter(license::Column::TenantId.eq(tenant));
        if let Some(u) = user_id {
            q = q.filter(license::Column::UserId.eq(u));
        }
        if let Some(s) = status {
            q = q.filter(license::Column::Status.eq(s));
        }
        if let Some(c) = after {
            q = q.filter(newest_first_after(
                license::Column::CreatedAt,
                license::Column::Id,
                c,
            ));
        }
        q.order_by_desc(license::Column::CreatedAt)
            .order_by_desc(license::Column::Id)
            .limit(fetch)
            .all(&self.db.conn)
            .await
    }

    /// Active licenses that cover `user_id`: the user's own and the tenant-wide ones.
    pub async fn licenses_covering(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> Result<Vec<license::Model>, sea_orm::DbErr> {
        license::Entity::find()
            .filter(license::Column::TenantId.eq(tenant))
            .filter(license::Column::Status.eq("active"))
            .filter(
                Condition::any()
                    .add(license::Column::UserId.eq(user_id))
                    .add(license::Column::UserId.is_null()),
            )
            .all(&self.db.conn)
            .await
    }

    // ---- entitlements ----

    pub async fn entitlement(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> Result<Option<entitlement::Model>, sea_orm::DbErr> {
        entitlement::Entity::find_by_id((tenant.to_owned(), user_id.to_owned()))
            .one(&self.db.conn)
            .await
    }

    pub async fn put_entitlement(&self, row: entitlement::Model) -> Result<(), sea_orm::DbErr> {
        let am: entitlement::ActiveModel = row.into();
        entitlement::Entity::insert(am)
            .on_conflict(
                OnConflict::columns([entitlement::Column::TenantId, entitlement::Column::UserId])
                    .update_columns([
                        entitlement::Column::Modules,
                        entitlement::Column::UpdatedBy,
                        entitlement::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn delete_entitlement(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> Result<bool, sea_orm::DbErr> {
        let res = entitlement::Entity::delete_many()
            .filter(entitlement::Column::TenantId.eq(tenant))
            .filter(entitlement::Column::UserId.eq(user_id))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// By user id, keyset on `user_id`.
    pub async fn entitlements(
        &self,
        tenant: &str,
        after_user: Option<&str>,
        fetch: u64,
    ) -> Result<Vec<entitlement::Model>, sea_orm::DbErr> {
        let mut q = entitlement::Entity::find().filter(entitlement::Column::TenantId.eq(tenant));
        if let Some(user) = after_user {
            q = q.filter(entitlement::Column::UserId.gt(user));
        }
        q.order_by_asc(entitlement::Column::UserId)
            .limit(fetch)
            .all(&self.db.conn)
            .await
    }

    // ---- leases ----

    pub async fn insert_lease(&self, row: lease::Model) -> Result<(), sea_orm::DbErr> {
        let am: lease::ActiveModel = row.into();
        lease::Entity::insert(am)
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn lease(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<lease::Model>, sea_orm::DbErr> {
        lease::Entity::find_by_id(id.to_owned())
            .filter(lease::Column::TenantId.eq(tenant))
            .one(&self.db.conn)
            .await
    }

    /// Extends a lease only while it is still active and unexpired (compare-and-set against
    /// a concurrent revoke or expiry).
    pub async fn extend_lease(
        &self,
        tenant: &str,
        id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, sea_orm::DbErr> {
        let res = lease::Entity::update_many()
            .col_expr(lease::Column::ExpiresAt, Expr::value(expires_at))
            .col_expr(lease::Column::LastHeartbeatAt, Expr::value(now))
            .col_expr(lease::Column::UpdatedAt, Expr::value(now))
            .filter(lease::Column::Id.eq(id))
            .filter(lease::Column::TenantId.eq(tenant))
            .filter(lease::Column::Status.eq("active"))
            .filter(lease::Column::ExpiresAt.gt(now))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn mark_expired(
        &self,
        tenant: &str,
        id: &str,
        now: i64,
    ) -> Result<(), sea_orm::DbErr> {
        lease::Entity::update_many()
            .col_expr(lease::Column::Status, Expr::value("expired"))
            .col_expr(lease::Column::UpdatedAt, Expr::value(now))
            .filter(lease::Column::Id.eq(id))
            .filter(lease::Column::TenantId.eq(tenant))
            .filter(lease::Column::Status.eq("active"))
            .filter(lease::Column::ExpiresAt.lte(now))
            .exec(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn revoke_lease(
        &self,
        tenant: &str,
        id: &str,
        now: i64,
        by: &str,
        reason: Option<&str>,
    ) -> Result<bool, sea_orm::DbErr> {
        let res = lease::Entity::update_many()
            .col_expr(lease::Column::Status, Expr::value("revoked"))
            .col_expr(lease::Column::RevokedAt, Expr::value(now))
            .col_expr(lease::Column::RevokedBy, Expr::value(by))
            .col_expr(
                lease::Column::RevokeReason,
                Expr::value(reason.map(str::to_owned)),
            )
            .col_expr(lease::Column::UpdatedAt, Expr::value(now))
            .filter(lease::Column::Id.eq(id))
            .filter(lease::Column::TenantId.eq(tenant))
            .filter(lease::Column::Status.ne("revoked"))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Newest first, keyset on (`created_at`, `id`).
    pub async fn leases(
        &self,
        tenant: &str,
        filter: &LeaseFilter,
        now: i64,
        after: Option<&AfterMs>,
        fetch: u64,
    ) -> Result<Vec<lease::Model>, sea_orm::DbErr> {
        let mut q = lease::Entity::find().filter(lease::Column::TenantId.eq(tenant));
        if let Some(u) = &filter.user_id {
            q = q.filter(lease::Column::UserId.eq(u.as_str()));
        }
        if let Some(v) = &filter.vm_uuid {
            q = q.filter(lease::Column::VmUuid.eq(v.as_str()));
        }
        match filter.status.as_deref() {
            Some("active") => {
                q = q
                    .filter(lease::Column::Status.eq("active"))
                    .filter(lease::Column::ExpiresAt.gt(now));
            }
            Some("expired") => {
                q = q.filter(
                    Condition::any()
                        .add(lease::Column::Status.eq("expired"))
                        .add(
                            Condition::all()
                                .add(lease::Column::Status.eq("active"))
                                .add(lease::Column::ExpiresAt.lte(now)),
                        ),
                );
            }
            Some(other) => q = q.filter(lease::Column::Status.eq(other)),
            None => {}
        }
        if let Some(c) = after {
            q = q.filter(newest_first_after(
                lease::Column::CreatedAt,
                lease::Column::Id,
                c,
            ));
        }
        q.order_by_desc(lease::Column::CreatedAt)
            .order_by_desc(lease::Column::Id)
            .limit(fetch)
            .all(&self.db.conn)
            .await
    }
}
