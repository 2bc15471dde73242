//! Persistence of the settings tree: one row per tenant and top-level key, JSON as text,
//! updated optimistically by version.

use crate::db::Db;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TryInsertResult,
};

pub mod settings_node {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "settings_nodes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// JSON text; secret fields inside are sealed.
        pub data: String,
        pub version: i64,
        pub updated_at: i64,
        pub updated_by: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use settings_node::{Column, Entity, Model};

#[derive(Clone, Debug)]
pub struct SettingsStore {
    db: Db,
}

impl SettingsStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn node(&self, tenant: &str, key: &str) -> Result<Option<Model>, sea_orm::DbErr> {
        Entity::find_by_id((tenant.to_owned(), key.to_owned()))
            .one(&self.db.conn)
            .await
    }

    pub async fn nodes(&self, tenant: &str) -> Result<Vec<Model>, sea_orm::DbErr> {
        Entity::find()
            .filter(Column::TenantId.eq(tenant))
            .order_by_asc(Column::Key)
            .all(&self.db.conn)
            .await
    }

    /// Inserts a new node; false when another writer created it first.
    pub async fn insert(
        &self,
        tenant: &str,
        key: &str,
        data: String,
        updated_by: &str,
        now: i64,
    ) -> Result<bool, sea_orm::DbErr> {
        let row = settings_node::ActiveModel {
            tenant_id: Set(tenant.to_owned()),
            key: Set(key.to_owned()),
            data: Set(data),
            version: Set(1),
            updated_at: Set(now),
            updated_by: Set(Some(updated_by.to_owned())),
        };
        let inserted = Entity::insert(row)
            .on_conflict_do_nothing_on([Column::TenantId, Column::Key])
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(matches!(inserted, TryInsertResult::Inserted(1)))
    }

    /// Replaces a node if it is still at `version`; false when someone wrote in between.
    pub async fn update(
        &self,
        tenant: &str,
        key: &str,
        version: i64,
        data: String,
        updated_by: &str,
        now: i64,
    ) -> Result<bool, sea_orm::DbErr> {
        let result = Entity::update_many()
            .col_expr(Column::Data, Expr::value(data))
            .col_expr(Column::Version, Expr::value(version + 1))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .col_expr(Column::UpdatedBy, Expr::value(updated_by.to_owned()))
            .filter(Column::TenantId.eq(tenant))
            .filter(Column::Key.eq(key))
            .filter(Column::Version.eq(version))
            .exec(&self.db.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }
}
