//! Persistence of playbooks.

use crate::db::Db;
use crate::pagination::{AfterMs, PageRequest, newest_first_after};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

pub mod playbook {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "playbooks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub created_by: String,
        pub name: String,
        pub is_default: bool,
        pub content: String,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use playbook::{Column, Entity, Model};

#[derive(Clone, Debug)]
pub struct PlaybookStore {
    db: Db,
}

/// Clears the default flag on every other playbook of the tenant.
async fn clear_defaults(
    conn: &impl ConnectionTrait,
    tenant: &str,
    except: &str,
) -> Result<(), sea_orm::DbErr> {
    Entity::update_many()
        .col_expr(Column::IsDefault, Expr::value(false))
        .filter(Column::TenantId.eq(tenant))
        .filter(Column::IsDefault.eq(true))
        .filter(Column::Id.ne(except))
        .exec(conn)
        .await?;
    Ok(())
}

impl PlaybookStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn get(&self, tenant: &str, id: &str) -> Result<Option<Model>, sea_orm::DbErr> {
        Entity::find_by_id(id.to_owned())
            .filter(Column::TenantId.eq(tenant))
            .one(&self.db.conn)
            .await
    }

    /// Most recently updated first; the cursor is the last row's `(updated_at, id)`.
    pub async fn list(
        &self,
        tenant: &str,
        page: &PageRequest,
        after: Option<&AfterMs>,
    ) -> Result<Vec<Model>, sea_orm::DbErr> {
        let mut query = Entity::find().filter(Column::TenantId.eq(tenant));
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

    /// Inserts; a new default takes the flag from the others in the same transaction.
    pub async fn insert(&self, row: Model) -> Result<(), sea_orm::DbErr> {
        let txn = self.db.conn.begin().await?;
        if row.is_default {
            clear_defaults(&txn, &row.tenant_id, &row.id).await?;
        }
        let am: playbook::ActiveModel = row.into();
        am.insert(&txn).await?;
        txn.commit().await
    }

    /// Saves every field of `row`, clearing the other defaults when it becomes the default.
    pub async fn update(&self, row: Model) -> Result<(), sea_orm::DbErr> {
        let txn = self.db.conn.begin().await?;
        if row.is_default {
            clear_defaults(&txn, &row.tenant_id, &row.id).await?;
        }
        Entity::update_many()
            .col_expr(Column::Name, Expr::value(row.name))
            .col_expr(Column::IsDefault, Expr::value(row.is_default))
            .col_expr(Column::Content, Expr::value(row.content))
            .col_expr(Column::UpdatedAt, Expr::value(row.updated_at))
            .filter(Column::TenantId.eq(row.tenant_id.as_str()))
            .filter(Column::Id.eq(row.id.as_str()))
            .exec(&txn)
            .await?;
        txn.commit().await
    }

    /// True when a row was deleted.
    pub async fn delete(&self, tenant: &str, id: &str) -> Result<bool, sea_orm::DbErr> {
        let result = Entity::delete_many()
            .filter(Column::TenantId.eq(tenant))
            .filter(Column::Id.eq(id))
            .exec(&self.db.conn)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// The tenant's default playbook, if one is marked.
    pub async fn default_for(&self, tenant: &str) -> Result<Option<Model>, sea_orm::DbErr> {
        Entity::find()
            .filter(Column::TenantId.eq(tenant))
            .filter(Column::IsDefault.eq(true))
            .one(&self.db.conn)
            .await
    }
}

/// Whether a write failed on the `(tenant_id, name)` unique index.
pub fn is_name_conflict(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
