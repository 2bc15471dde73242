//! Persistence of audit entries: batched inserts and a filtered, keyset-paged read.

use crate::db::Db;
use crate::pagination::{AfterMs, PageRequest, newest_first_after};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

pub mod audit_log {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub at: i64,
        pub actor_uid: String,
        pub actor_email: String,
        pub auth_kind: String,
        /// Comma-separated.
        pub actor_roles: String,
        pub method: String,
        pub route: String,
        pub path: String,
        pub target_id: Option<String>,
        pub status: i32,
        pub duration_ms: i64,
        pub request_id: Option<String>,
        /// JSON text.
        pub body_shape: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use audit_log::{Column, Entity, Model};

/// Filters of the audit list; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub method: Option<String>,
    pub route: Option<String>,
    pub status: Option<i32>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct AuditStore {
    db: Db,
}

impl AuditStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn insert_batch(&self, rows: Vec<Model>) -> Result<(), sea_orm::DbErr> {
        if rows.is_empty() {
            return Ok(());
        }
        let models: Vec<audit_log::ActiveModel> = rows.into_iter().map(Into::into).collect();
        Entity::insert_many(models)
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    /// Newest first; the cursor is the last row's `(at, id)`.
    pub async fn list(
        &self,
        tenant: &str,
        filter: &AuditFilter,
        page: &PageRequest,
        after: Option<&AfterMs>,
    ) -> Result<Vec<Model>, sea_orm::DbErr> {
        let mut query = Entity::find().filter(Column::TenantId.eq(tenant));
        if let Some(actor) = &filter.actor {
            query = query.filter(
                Condition::any()
                    .add(Column::ActorUid.eq(actor.as_str()))
                    .add(Column::ActorEmail.eq(actor.to_lowercase())),
            );
        }
        if let Some(method) = &filter.method {
            query = query.filter(Column::Method.eq(method.as_str()));
        }
        if let Some(route) = &filter.route {
            query = query.filter(Column::Route.eq(route.as_str()));
        }
        if let Some(status) = filter.status {
            query = query.filter(Column::Status.eq(status));
        }
        if let Some(from) = filter.from_ms {
            query = query.filter(Column::At.gte(from));
        }
        if let Some(to) = filter.to_ms {
            query = query.filter(Column::At.lt(to));
        }
        if let Some(after) = after {
            query = query.filter(newest_first_after(Column::At, Column::Id, after));
        }
        query
            .order_by_desc(Column::At)
            .order_by_desc(Column::Id)
            .limit(page.fetch())
            .all(&self.db.conn)
            .await
    }
}
