//! The per-tenant cache of IP reports.

use crate::db::Db;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

pub mod ipqs_cache {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ipqs_cache")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub ip: String,
        /// The mapped report as JSON text.
        pub result: String,
        pub checked_at: i64,
        pub expires_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use ipqs_cache::{Column, Entity, Model};

#[derive(Clone, Debug)]
pub struct IpqsStore {
    db: Db,
}

impl IpqsStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// A report still fresh at `now`.
    pub async fn fresh(
        &self,
        tenant: &str,
        ip: &str,
        now: i64,
    ) -> Result<Option<Model>, sea_orm::DbErr> {
        Entity::find_by_id((tenant.to_owned(), ip.to_owned()))
            .filter(Column::ExpiresAt.gt(now))
            .one(&self.db.conn)
            .await
    }

    /// Removes reports that expired before `now`; returns how many.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, sea_orm::DbErr> {
        let result = Entity::delete_many()
            .filter(Column::ExpiresAt.lte(now))
            .exec(&self.db.conn)
            .await?;
        Ok(result.rows_affected)
    }

    pub async fn put(&self, row: Model) -> Result<(), sea_orm::DbErr> {
        let am = ipqs_cache::ActiveModel {
            tenant_id: Set(row.tenant_id),
            ip: Set(row.ip),
            result: Set(row.result),
            checked_at: Set(row.checked_at),
            expires_at: Set(row.expires_at),
        };
        Entity::insert(am)
            .on_conflict(
                OnConflict::columns([Column::TenantId, Column::Ip])
                    .update_columns([Column::Result, Column::CheckedAt, Column::ExpiresAt])
                    .to_owned(),
            )
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }
}
