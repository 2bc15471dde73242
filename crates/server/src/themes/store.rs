//! Persistence of theme asset metadata (the bytes live in the object store).

use crate::db::Db;
use crate::pagination::{AfterMs, PageRequest, newest_first_after};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

pub mod theme_asset {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "theme_assets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub created_by: String,
        pub object_key: String,
        pub filename: String,
        pub mime_type: String,
        pub size_bytes: i64,
        pub width: Option<i32>,
        pub height: Option<i32>,
        /// `pending`, `ready` or `deleted`.
        pub status: String,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use theme_asset::{Column, Entity, Model};

pub const PENDING: &str = "pending";
pub const READY: &str = "ready";
pub const DELETED: &str = "deleted";

#[derive(Clone, Debug)]
pub struct ThemeStore {
    db: Db,
}

impl ThemeStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn get(&self, tenant: &str, id: &str) -> Result<Option<Model>, sea_orm::DbErr> {
        Entity::find_by_id(id.to_owned())
            .filter(Column::TenantId.eq(tenant))
            .one(&self.db.conn)
            .await
    }

    /// By id alone: signed image URLs carry no tenant; the signature binds it.
    pub async fn get_any_tenant(&self, id: &str) -> Result<Option<Model>, sea_orm::DbErr> {
        Entity::find_by_id(id.to_owned()).one(&self.db.conn).await
    }

    /// Assets not deleted, most recently updated first; cursor `(updated_at, id)`.
    pub async fn list(
        &self,
        tenant: &str,
        page: &PageRequest,
        after: Option<&AfterMs>,
    ) -> Result<Vec<Model>, sea_orm::DbErr> {
        let mut query = Entity::find()
            .filter(Column::TenantId.eq(tenant))
            .filter(Column::Status.ne(DELETED));
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

    pub async fn insert(&self, row: Model) -> Result<(), sea_orm::DbErr> {
        let am: theme_asset::ActiveModel = row.into();
        am.insert(&self.db.conn).await?;
        Ok(())
    }

    /// Saves size, dimensions and status if the asset still has status `from` (so a
    /// concurrent delete wins); true when saved.
    pub async fn save_if(&self, row: &Model, from: &str) -> Result<bool, sea_orm::DbErr> {
        let result = Entity::update_many()
            .col_expr(Column::SizeBytes, Expr::value(row.size_bytes))
            .col_expr(Column::Width, Expr::value(row.width))
            .col_expr(Column::Height, Expr::value(row.height))
            .col_expr(Column::Status, Expr::value(row.status.as_str()))
            .col_expr(Column::UpdatedAt, Expr::value(row.updated_at))
            .filter(Column::TenantId.eq(row.tenant_id.as_str()))
            .filter(Column::Id.eq(row.id.as_str()))
            .filter(Column::Status.eq(from))
            .exec(&self.db.conn)
            .await?;
        Ok(result.rows_affected == 1)
    }
}
