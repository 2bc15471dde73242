//! Persistence of releases, assignments and the download audit.

use crate::db::Db;
use crate::pagination::{AfterMs, newest_first_after};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

pub mod release {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "artifact_releases")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub module: String,
        pub platform: String,
        pub channel: String,
        pub version: String,
        pub object_key: Option<String>,
        pub sha256: String,
        pub size_bytes: i64,
        pub status: String,
        pub file_name: String,
        pub uploaded_at: Option<i64>,
        pub created_by: String,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod assignment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "artifact_assignments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub module: String,
        pub platform: String,
        pub channel: String,
        /// Lower-cased user id, or `__default__`.
        pub user_key: String,
        pub user_id: Option<String>,
        pub release_id: String,
        pub updated_by: String,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod audit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Default)]
    #[sea_orm(table_name = "artifact_download_audit")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub event_type: String,
        pub result: String,
        pub reason: String,
        pub lease_id: Option<String>,
        pub user_id: Option<String>,
        pub actor_uid: Option<String>,
        pub vm_uuid: Option<String>,
        pub module: Option<String>,
        pub platform: Option<String>,
        pub channel: Option<String>,
        pub release_id: Option<String>,
        pub request_ip: Option<String>,
        pub url_expires_at: Option<i64>,
        pub created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(Debug, Default, Clone)]
pub struct ReleaseFilter {
    pub module: Option<String>,
    pub platform: Option<String>,
    pub channel: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub result: Option<String>,
    pub reason: Option<String>,
    pub vm_uuid: Option<String>,
    pub lease_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ArtifactStore {
    db: Db,
}

impl ArtifactStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    // ---- releases ----

    pub async fn insert_release(&self, row: release::Model) -> Result<(), sea_orm::DbErr> {
        let am: release::ActiveModel = row.into();
        release::Entity::insert(am)
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn release(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<release::Model>, sea_orm::DbErr> {
        release::Entity::find_by_id(id.to_owned())
            .filter(release::Column::TenantId.eq(tenant))
            .one(&self.db.conn)
            .await
    }

    pub async fn release_by_scope(
        &self,
        tenant: &str,
        module: &str,
        platform: &str,
        channel: &str,
        version: &str,
    ) -> Result<Option<release::Model>, sea_orm::DbErr> {
        release::Entity::find()
            .filter(release::Column::TenantId.eq(tenant))
            .filter(release::Column::Module.eq(module))
            .filter(release::Column::Platform.eq(platform))
            .filter(release::Column::Channel.eq(channel))
            .filter(release::Column::Version.eq(version))
            .one(&self.db.conn)
            .await
    }

    pub async fn set_release_status(
        &self,
        tenant: &str,
        id: &str,
        status: &str,
        now: i64,
    ) -> Result<bool, sea_orm::DbErr> {
        let res = release::Entity::update_many()
            .col_expr(release::Column::Status, Expr::value(status))
            .col_expr(release::Column::UpdatedAt, Expr::value(now))
            .filter(release::Column::Id.eq(id))
            .filter(release::Column::TenantId.eq(tenant))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Records a verified upload unless another upload won first.
    pub async fn mark_uploaded(
        &self,
        tenant: &str,
        id: &str,
        object_key: &str,
        now: i64,
    ) -> Result<bool, sea_orm::DbErr> {
        let res = release::Entity::update_many()
            .col_expr(release::Column::ObjectKey, Expr::value(object_key))
            .col_expr(release::Column::UploadedAt, Expr::value(now))
            .col_expr(release::Column::UpdatedAt, Expr::value(now))
            .filter(release::Column::Id.eq(id))
            .filter(release::Column::TenantId.eq(tenant))
            .filter(release::Column::UploadedAt.is_null())
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn releases(
        &self,
        tenant: &str,
        filter: &ReleaseFilter,
        after: Option<&AfterMs>,
        fetch: u64,
    ) -> Result<Vec<release::Model>, sea_orm::DbErr> {
        let mut q = release::Entity::find().filter(release::Column::TenantId.eq(tenant));
        if let Some(v) = &filter.module {
            q = q.filter(release::Column::Module.eq(v.as_str()));
        }
        if let Some(v) = &filter.platform {
            q = q.filter(release::Column::Platform.eq(v.as_str()));
        }
        if let Some(v) = &filter.channel {
            q = q.filter(release::Column::Channel.eq(v.as_str()));
        }
        if let Some(v) = &filter.status {
            q = q.filter(release::Column::Status.eq(v.as_str()));
        }
        if let Some(c) = after {
            q = q.filter(newest_first_after(
                release::Column::CreatedAt,
                release::Column::Id,
                c,
            ));
        }
        q.order_by_desc(release::Column::CreatedAt)
            .order_by_desc(release::Column::Id)
            .limit(fetch)
            .all(&self.db.conn)
            .await
    }

    // ---- assignments ----

    /// Inserts, or points the existing assignment of the same scope and user at the release.
    pub async fn upsert_assignment(&self, row: assignment::Model) -> Result<(), sea_orm::DbErr> {
        let am: assignment::ActiveModel = row.into();
        assignment::Entity::insert(am)
            .on_conflict(
                OnConflict::columns([
                    assignment::Column::TenantId,
                    assignment::Column::Module,
                    assignment::Column::Platform,
                    assignment::Column::Channel,
                    assignment::Column::UserKey,
                ])
                .update_columns([
                    assignment::Column::ReleaseId,
                    assignment::Column::UserId,
                    assignment::Column::UpdatedBy,
                    assignment::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn assignment_for(
        &self,
        tenant: &str,
        module: &str,
        platform: &str,
        channel: &str,
        user_key: &str,
    ) -> Result<Option<assignment::Model>, sea_orm::DbErr> {
        assignment::Entity::find()
            .filter(assignment::Column::TenantId.eq(tenant))
            .filter(assignment::Column::Module.eq(module))
            .filter(assignment::Column::Platform.eq(platform))
            .filter(assignment::Column::Channel.eq(channel))
            .filter(assignment::Column::UserKey.eq(user_key))
            .one(&self.db.conn)
            .await
    }

    pub async fn delete_assignment(&self, tenant: &str, id: &str) -> Result<bool, sea_orm::DbErr> {
        let res = assignment::Entity::delete_many()
            .filter(assignment::Column::Id.eq(id))
            .filter(assignment::Column::TenantId.eq(tenant))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn assignments(
        &self,
        tenant: &str,
        module: Option<&str>,
        user_key: Option<&str>,
        after: Option<&AfterMs>,
        fetch: u64,
    ) -> Result<Vec<assignment::Model>, sea_orm::DbErr> {
        let mut q = assignment::Entity::find().filter(assignment::Column::TenantId.eq(tenant));
        if let Some(m) = module {
            q = q.filter(assignment::Column::Module.eq(m));
        }
        if let Some(u) = user_key {
            q = q.filter(assignment::Column::UserKey.eq(u));
        }
        if let Some(c) = after {
            q = q.filter(newest_first_after(
                assignment::Column::CreatedAt,
                assignment::Column::Id,
                c,
            ));
        }
        q.order_by_desc(assignment::Column::CreatedAt)
            .order_by_desc(assignment::Column::Id)
            .limit(fetch)
            .all(&self.db.conn)
            .await
    }

    // ---- audit ----

    pub async fn insert_audit(&self, row: audit::Model) -> Result<(), sea_orm::DbErr> {
        let am: audit::ActiveModel = row.into();
        audit::Entity::insert(am)
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn audit(
        &self,
        tenant: &str,
        filter: &AuditFilter,
        after: Option<&AfterMs>,
        fetch: u64,
    ) -> Result<Vec<audit::Model>, sea_orm::DbErr> {
        let mut q = audit::Entity::find().filter(audit::Column::TenantId.eq(tenant));
        if let Some(v) = &filter.result {
            q = q.filter(audit::Column::Result.eq(v.as_str()));
        }
        if let Some(v) = &filter.reason {
            q = q.filter(audit::Column::Reason.eq(v.as_str()));
        }
        if let Some(v) = &filter.vm_uuid {
            q = q.filter(audit::Column::VmUuid.eq(v.as_str()));
        }
        if let Some(v) = &filter.lease_id {
            q = q.filter(audit::Column::LeaseId.eq(v.as_str()));
        }
        if let Some(c) = after {
            q = q.filter(newest_first_after(
                audit::Column::CreatedAt,
                audit::Column::Id,
                c,
            ));
        }
        q.order_by_desc(audit::Column::CreatedAt)
            .order_by_desc(audit::Column::Id)
            .limit(fetch)
            .all(&self.db.conn)
            .await
    }
}
