//! Persistence of resources (one typed table for the three kinds) and of their assignments to
//! bots.

use crate::db::Db;
use crate::pagination::PageRequest;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

pub mod resource {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resources")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub status: String,
        pub resource_type: Option<String>,
        pub expires_at: Option<i64>,
        pub notes: Option<String>,
        pub license_key: Option<String>,
        pub host: Option<String>,
        pub ip: Option<String>,
        pub username: Option<String>,
        pub password: Option<String>,
        pub provider: Option<String>,
        pub country: Option<String>,
        pub country_code: Option<String>,
        pub port: Option<i32>,
        pub fraud_score: Option<i32>,
        /// IPQS result, JSON.
        pub ipqs: Option<String>,
        pub last_checked: Option<i64>,
        pub service: Option<String>,
        pub price_cents: Option<i64>,
        pub currency: Option<String>,
        pub period: Option<String>,
        pub auto_renew: bool,
        pub account_email: Option<String>,
        pub project_id: Option<String>,
        /// Bumped by every write; updates check it so concurrent writers cannot both win.
        pub version: i64,
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
    #[sea_orm(table_name = "resource_assignments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub resource_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub bot_id: String,
        /// `resource_id` for kinds whose resource serves one bot; unique.
        pub resource_slot: Option<String>,
        /// `bot_id` for kinds a bot holds one of; unique.
        pub bot_slot: Option<String>,
        pub assigned_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use assignment::{Column as A, Entity as Assignments};
use resource::{Column as R, Entity as Resources};

/// A bound on `expires_at` for list filters.
#[derive(Debug, Clone, Copy)]
pub enum ExpiryBound {
    /// `expires_at > t`.
    After(i64),
    /// `expires_at <= t`.
    AtOrBefore(i64),
    /// No date, or `expires_at > t`.
    NoneOrAfter(i64),
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    pub resource_type: Option<String>,
    pub q: Option<String>,
    pub expiry: Vec<ExpiryBound>,
    pub assigned: Option<bool>,
    pub bot_id: Option<String>,
}

/// `LOWER(col) LIKE '%text%'` with `%`, `_` and `\` in the text taken literally.
pub fn contains_ci(col: impl sea_orm::sea_query::IntoColumnRef, text: &str) -> Expr {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

#[derive(Clone, Debug)]
pub struct ResourceStore {
    db: Db,
}

impl ResourceStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// A write transaction. On SQLite it takes the write lock at BEGIN (IMMEDIATE), so
    /// concurrent writers wait on the busy timeout instead of failing when a read turns into a
    /// write; PostgreSQL ignores the mode.
    pub async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db
            .conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    pub fn conn(&self) -> &sea_orm::DatabaseConnection {
        &self.db.conn
    }

    pub async fn get<C: ConnectionTrait>(
        conn: &C,
        tenant: &str,
        kind: &str,
        id: &str,
    ) -> Result<Option<resource::Model>, DbErr> {
        Resources::find_by_id((tenant.to_owned(), kind.to_owned(), id.to_owned()))
            .one(conn)
            .await
    }

    /// Reads a row inside a write transaction and locks it (PostgreSQL `FOR UPDATE`), so
    /// writers of one resource take turns; SQLite transactions are already serialised.
    pub async fn get_for_update(
        txn: &DatabaseTransaction,
        tenant: &str,
        kind: &str,
        id: &str,
    ) -> Result<Option<resource::Model>, DbErr> {
        Resources::find_by_id((tenant.to_owned(), kind.to_owned(), id.to_owned()))
            .lock_exclusive()
            .one(txn)
            .await
    }

    pub async fn insert<C: ConnectionTrait>(conn: &C, row: resource::Model) -> Result<(), DbErr> {
        let am: resource::ActiveModel = row.into();
        Resources::insert(am).exec_without_returning(conn).await?;
        Ok(())
    }

    /// Writes `row` if its stored version is still `row.version - 1`.
    pub async fn update<C: ConnectionTrait>(conn: &C, row: resource::Model) -> Result<bool, DbErr> {
        let expected = row.version - 1;
        let (tenant, kind, id) = (row.tenant_id.clone(), row.kind.clone(), row.id.clone());
        let am: resource::ActiveModel =
            sea_orm::ActiveModelTrait::reset_all(resource::ActiveModel::from(row));
        let res = Resources::update_many()
            .set(am)
            .filter(R::TenantId.eq(tenant))
            .filter(R::Kind.eq(kind))
            .filter(R::Id.eq(id))
            .filter(R::Version.eq(expected))
            .exec(conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn delete<C: ConnectionTrait>(
        conn: &C,
        tenant: &str,
        kind: &str,
        id: &str,
    ) -> Result<bool, DbErr> {
        let res = Resources::delete_many()
            .filter(R::TenantId.eq(tenant))
            .filter(R::Kind.eq(kind))
            .filter(R::Id.eq(id))
            .exec(conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Which of `ids` exist for this kind in the tenant.
    pub async fn existing_ids<C: ConnectionTrait>(
        conn: &C,
        tenant: &str,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<String>, DbErr> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Resources::find()
            .select_only()
            .column(R::Id)
            .filter(R::TenantId.eq(tenant))
            .filter(R::Kind.eq(kind))
            .filter(R::Id.is_in(ids.iter().cloned()))
            .into_tuple()
            .all(conn)
            .await
    }

    /// One page, newest first (`created_at`, then id, both descending).
    pub async fn list(
        &self,
        tenant: &str,
        kind: &str,
        filter: &ListFilter,
        page: &PageRequest,
        after: Option<(i64, String)>,
    ) -> Result<Vec<resource::Model>, DbErr> {
        let mut q = Resources::find()
            .filter(R::TenantId.eq(tenant))
            .filter(R::Kind.eq(kind));
        if let Some(s) = &filter.status {
            q = q.filter(R::Status.eq(s.as_str()));
        }
        if let Some(t) = &filter.resource_type {
            q = q.filter(R::ResourceType.eq(t.as_str()));
        }
        for bound in &filter.expiry {
            q = q.filter(match *bound {
                ExpiryBound::After(t) => Condition::all().add(R::ExpiresAt.gt(t)),
                ExpiryBound::AtOrBefore(t) => Condition::all().add(R::ExpiresAt.lte(t)),
                ExpiryBound::NoneOrAfter(t) => Condition::any()
                    .add(R::ExpiresAt.is_null())
                    .add(R::ExpiresAt.gt(t)),
            });
        }
        if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
            let mut any = Condition::any();
            for c in [
                R::Id,
                R::ResourceType,
                R::Notes,
                R::LicenseKey,
                R::Host,
                R::Ip,
                R::Provider,
                R::Country,
                R::Username,
                R::Service,
                R::AccountEmail,
            ] {
                any = any.add(contains_ci((Resources, c), text));
            }
            q = q.filter(any);
        }
        if filter.assigned.is_some() || filter.bot_id.is_some() {
            let mut sub = Query::select();
            sub.column(A::ResourceId)
                .from(Assignments)
                .and_where(Expr::col(A::TenantId).eq(tenant))
                .and_where(Expr::col(A::Kind).eq(kind));
            if let Some(bot) = &filter.bot_id {
                sub.and_where(Expr::col(A::BotId).eq(bot.as_str()));
            }
            let sub = sub.to_owned();
            q = q.filter(match filter.assigned {
                Some(false) => R::Id.not_in_subquery(sub),
                _ => R::Id.in_subquery(sub),
            });
        }
        if let Some((created, id)) = after {
            q = q.filter(
                Condition::any().add(R::CreatedAt.lt(created)).add(
                    Condition::all()
                        .add(R::CreatedAt.eq(created))
                        .add(R::Id.lt(id)),
                ),
            );
        }
        q.order_by_desc(R::CreatedAt)
            .order_by_desc(R::Id)
            .limit(page.fetch())
            .all(&self.db.conn)
            .await
    }

    /// Every resource of the tenant: kind, id, status and expiry (for stats and health).
    pub async fn expiry_rows(
        &self,
        tenant: &str,
    ) -> Result<Vec<(String, String, String, Option<i64>)>, DbErr> {
        Resources::find()
            .select_only()
            .column(R::Kind)
            .column(R::Id)
            .column(R::Status)
            .column(R::ExpiresAt)
            .filter(R::TenantId.eq(tenant))
            .into_tuple()
            .all(&self.db.conn)
            .await
    }

    // ---- assignments ----

    pub async fn links_of_resources<C: ConnectionTrait>(
        conn: &C,
        tenant: &str,
        kind: &str,
        resource_ids: &[String],
    ) -> Result<Vec<assignment::Model>, DbErr> {
        if resource_ids.is_empty() {
            return Ok(Vec::new());
        }
        Assignments::find()
            .filter(A::TenantId.eq(tenant))
            .filter(A::Kind.eq(kind))
            .filter(A::ResourceId.is_in(resource_ids.iter().cloned()))
            .order_by_asc(A::AssignedAt)
            .order_by_asc(A::BotId)
            .all(conn)
            .await
    }

    /// Links of these bots; all the tenant's links when `bot_ids` is `None`.
    pub async fn links_of_bots<C: ConnectionTrait>(
        conn: &C,
        tenant: &str,
        bot_ids: Option<&[String]>,
    ) -> Result<Vec<assignment::Model>, DbErr> {
        let mut q = Assignments::find().filter(A::TenantId.eq(tenant));
        if let Some(ids) = bot_ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            q = q.filter(A::BotId.is_in(ids.iter().cloned()));
        }
        q.order_by_asc(A::AssignedAt)
            .order_by_asc(A::ResourceId)
            .all(conn)
            .await
    }

    pub async fn link<C: ConnectionTrait>(conn: &C, row: assignment::Model) -> Result<(), DbErr> {
        let am: assignment::ActiveModel = row.into();
        Assignments::insert(am).exec_without_returning(conn).await?;
        Ok(())
    }

    /// Removes links of a resource: to one bot, or to all when `bot_id` is `None`.
    pub async fn unlink_resource<C: ConnectionTrait>(
        conn: &C,
        tenant: &str,
        kind: &str,
        resource_id: &str,
        bot_id: Option<&str>,
    ) -> Result<u64, DbErr> {
        let mut q = Assignments::delete_many()
            .filter(A::TenantId.eq(tenant))
            .filter(A::Kind.eq(kind))
            .filter(A::ResourceId.eq(resource_id));
        if let Some(b) = bot_id {
            q = q.filter(A::BotId.eq(b));
        }
        Ok(q.exec(conn).await?.rows_affected)
    }

    /// Removes a bot's links of one kind, except to the resources in `keep`.
    pub async fn unlink_bot<C: ConnectionTrait>(
        conn: &C,
        tenant: &str,
        kind: &str,
        bot_id: &str,
        keep: &[String],
    ) -> Result<u64, DbErr> {
        let mut q = Assignments::delete_many()
            .filter(A::TenantId.eq(tenant))
            .filter(A::Kind.eq(kind))
            .filter(A::BotId.eq(bot_id));
        if !keep.is_empty() {
            q = q.filter(A::ResourceId.is_not_in(keep.iter().cloned()));
        }
        Ok(q.exec(conn).await?.rows_affected)
    }
}
