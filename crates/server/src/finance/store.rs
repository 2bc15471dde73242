//! Persistence of finance operations. Money columns are integers in units of 10^-8.

use crate::db::Db;
use futures::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

pub mod operation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "finance_operations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// `income` or `expense`.
        pub op_type: String,
        pub category: String,
        pub project_id: Option<String>,
        pub bot_id: Option<String>,
        pub amount: i64,
        pub currency: String,
        pub gold_amount: Option<i64>,
        /// USD per 1000 gold.
        pub gold_price: Option<i64>,
        /// When the operation happened (epoch ms).
        pub occurred_at: i64,
        pub description: Option<String>,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use operation::{Column, Entity};

/// Validated filters: exact matches and an inclusive time range in epoch ms.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub op_type: Option<&'static str>,
    pub category: Option<String>,
    pub project_id: Option<String>,
    pub bot_id: Option<String>,
    pub currency: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl Filter {
    fn condition(&self, tenant: &str) -> Condition {
        let mut c = Condition::all().add(Column::TenantId.eq(tenant));
        if let Some(t) = self.op_type {
            c = c.add(Column::OpType.eq(t));
        }
        if let Some(v) = &self.category {
            c = c.add(Column::Category.eq(v.clone()));
        }
        if let Some(v) = &self.project_id {
            c = c.add(Column::ProjectId.eq(v.clone()));
        }
        if let Some(v) = &self.bot_id {
            c = c.add(Column::BotId.eq(v.clone()));
        }
        if let Some(v) = &self.currency {
            c = c.add(Column::Currency.eq(v.clone()));
        }
        if let Some(v) = self.from_ms {
            c = c.add(Column::OccurredAt.gte(v));
        }
        if let Some(v) = self.to_ms {
            c = c.add(Column::OccurredAt.lte(v));
        }
        c
    }
}

/// One summary input row: date, type, category, project, amount, gold amount.
pub type SummaryRow = (i64, String, String, Option<String>, i64, Option<i64>);

#[derive(Clone, Debug)]
pub struct FinanceStore {
    db: Db,
}

impl FinanceStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn insert(&self, row: operation::Model) -> Result<(), DbErr> {
        let am: operation::ActiveModel = row.into();
        Entity::insert(am)
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn find(&self, tenant: &str, id: &str) -> Result<Option<operation::Model>, DbErr> {
        Entity::find_by_id((tenant.to_owned(), id.to_owned()))
            .one(&self.db.conn)
            .await
    }

    /// Read-modify-write of one operation in a write transaction, the row locked against
    /// concurrent patches; `None` when it does not exist.
    pub async fn modify(
        &self,
        tenant: &str,
        id: &str,
        change: impl FnOnce(&mut operation::Model),
    ) -> Result<Option<operation::Model>, DbErr> {
        let tx = self.db.begin_write().await?;
        let Some(mut row) = Entity::find_by_id((tenant.to_owned(), id.to_owned()))
            .lock_exclusive()
            .one(&tx)
            .await?
        else {
            return Ok(None);
        };
        change(&mut row);
        Entity::update_many()
            .col_expr(Column::OpType, Expr::value(row.op_type.clone()))
            .col_expr(Column::Category, Expr::value(row.category.clone()))
            .col_expr(Column::ProjectId, Expr::value(row.project_id.clone()))
            .col_expr(Column::BotId, Expr::value(row.bot_id.clone()))
            .col_expr(Column::Amount, Expr::value(row.amount))
            .col_expr(Column::Currency, Expr::value(row.currency.clone()))
            .col_expr(Column::GoldAmount, Expr::value(row.gold_amount))
            .col_expr(Column::GoldPrice, Expr::value(row.gold_price))
            .col_expr(Column::OccurredAt, Expr::value(row.occurred_at))
            .col_expr(Column::Description, Expr::value(row.description.clone()))
            .col_expr(Column::UpdatedAt, Expr::value(row.updated_at))
            .filter(Column::TenantId.eq(tenant))
            .filter(Column::Id.eq(id))
            .exec(&tx)
            .await?;
        tx.commit().await?;
        Ok(Some(row))
    }

    pub async fn delete(&self, tenant: &str, id: &str) -> Result<bool, DbErr> {
        let res = Entity::delete_many()
            .filter(Column::TenantId.eq(tenant))
            .filter(Column::Id.eq(id))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn count(&self, tenant: &str, filter: &Filter) -> Result<u64, DbErr> {
        Entity::find()
            .filter(filter.condition(tenant))
            .count(&self.db.conn)
            .await
    }

    /// A page in date order (then id), after the keyset position `after`.
    pub async fn page(
        &self,
        tenant: &str,
        filter: &Filter,
        descending: bool,
        after: Option<(i64, String)>,
        fetch: u64,
    ) -> Result<Vec<operation::Model>, DbErr> {
        let mut cond = filter.condition(tenant);
        if let Some((date, id)) = after {
            cond = cond.add(if descending {
                Condition::any().add(Column::OccurredAt.lt(date)).add(
                    Condition::all()
                        .add(Column::OccurredAt.eq(date))
                        .add(Column::Id.lt(id)),
                )
            } else {
                Condition::any().add(Column::OccurredAt.gt(date)).add(
                    Condition::all()
                        .add(Column::OccurredAt.eq(date))
                        .add(Column::Id.gt(id)),
                )
            });
        }
        let q = Entity::find().filter(cond);
        let q = if descending {
            q.order_by_desc(Column::OccurredAt)
                .order_by_desc(Column::Id)
        } else {
            q.order_by_asc(Column::OccurredAt).order_by_asc(Column::Id)
        };
        q.limit(fetch).all(&self.db.conn).await
    }

    /// Streams the columns the summary adds up, for every matching operation, into `each`
    /// (no page of rows is held in memory).
    pub async fn for_each_summary_row(
        &self,
        tenant: &str,
        filter: &Filter,
        mut each: impl FnMut(SummaryRow),
    ) -> Result<(), DbErr> {
        let mut rows = Entity::find()
            .select_only()
            .column(Column::OccurredAt)
            .column(Column::OpType)
            .column(Column::Category)
            .column(Column::ProjectId)
            .column(Column::Amount)
            .column(Column::GoldAmount)
            .filter(filter.condition(tenant))
            .into_tuple::<SummaryRow>()
            .stream(&self.db.conn)
            .await?;
        while let Some(row) = rows.next().await {
            each(row?);
        }
        Ok(())
    }
}
