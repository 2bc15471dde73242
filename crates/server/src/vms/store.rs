//! Persistence of the VM registry.

use crate::db::Db;
use crate::pagination::{AfterMs, newest_first_after};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

pub mod vm {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vm_registry")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub vm_uuid: String,
        pub user_id: String,
        pub vm_name: String,
        pub project_id: String,
        pub status: String,
        /// JSON object.
        pub metadata: String,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Filters of a list; `owner` is forced for callers who may only see their own VMs.
#[derive(Debug, Default, Clone)]
pub struct VmFilter {
    pub owner: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<String>,
    pub project_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct VmStore {
    db: Db,
}

impl VmStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn find(
        &self,
        tenant: &str,
        vm_uuid: &str,
    ) -> Result<Option<vm::Model>, sea_orm::DbErr> {
        vm::Entity::find_by_id((tenant.to_owned(), vm_uuid.to_owned()))
            .one(&self.db.conn)
            .await
    }

    /// Inserts or replaces every column but `created_at`.
    pub async fn upsert(&self, row: vm::Model) -> Result<(), sea_orm::DbErr> {
        let am = vm::ActiveModel {
            tenant_id: Set(row.tenant_id),
            vm_uuid: Set(row.vm_uuid),
            user_id: Set(row.user_id),
            vm_name: Set(row.vm_name),
            project_id: Set(row.project_id),
            status: Set(row.status),
            metadata: Set(row.metadata),
            created_at: Set(row.created_at),
            updated_at: Set(row.updated_at),
        };
        vm::Entity::insert(am)
            .on_conflict(
                OnConflict::columns([vm::Column::TenantId, vm::Column::VmUuid])
                    .update_columns([
                        vm::Column::UserId,
                        vm::Column::VmName,
                        vm::Column::ProjectId,
                        vm::Column::Status,
                        vm::Column::Metadata,
                        vm::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn set_status(
        &self,
        tenant: &str,
        vm_uuid: &str,
        status: &str,
        now: i64,
    ) -> Result<bool, sea_orm::DbErr> {
        let res = vm::Entity::update_many()
            .col_expr(vm::Column::Status, sea_orm::sea_query::Expr::value(status))
            .col_expr(vm::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now))
            .filter(vm::Column::TenantId.eq(tenant))
            .filter(vm::Column::VmUuid.eq(vm_uuid))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Newest registrations first, keyset on (`created_at`, `vm_uuid`).
    pub async fn list(
        &self,
        tenant: &str,
        filter: &VmFilter,
        after: Option<&AfterMs>,
        fetch: u64,
    ) -> Result<Vec<vm::Model>, sea_orm::DbErr> {
        let mut q = vm::Entity::find().filter(vm::Column::TenantId.eq(tenant));
        if let Some(o) = &filter.owner {
            q = q.filter(vm::Column::UserId.eq(o.as_str()));
        }
        if let Some(u) = &filter.user_id {
            q = q.filter(vm::Column::UserId.eq(u.as_str()));
        }
        if let Some(s) = &filter.status {
            q = q.filter(vm::Column::Status.eq(s.as_str()));
        }
        if let Some(p) = &filter.project_id {
            q = q.filter(vm::Column::ProjectId.eq(p.as_str()));
        }
        if let Some(c) = after {
            q = q.filter(newest_first_after(
                vm::Column::CreatedAt,
                vm::Column::VmUuid,
                c,
            ));
        }
        q.order_by_desc(vm::Column::CreatedAt)
            .order_by_desc(vm::Column::VmUuid)
            .limit(fetch)
            .all(&self.db.conn)
            .await
    }
}
