//! Persistence of agents and agent tokens.

use crate::db::Db;
use crate::db::dual::{Bind, Placeholders};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

pub mod agent {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "agents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub name: String,
        pub status: String,
        pub owner_user_id: Option<String>,
        pub version: Option<String>,
        pub platform: Option<String>,
        /// JSON array of strings.
        pub capabilities: String,
        pub pairing_code_hash: Option<String>,
        pub pairing_expires_at: Option<i64>,
        pub paired_at: Option<i64>,
        pub paired_by: Option<String>,
        pub last_seen_at: Option<i64>,
        pub revoked_at: Option<i64>,
        pub revoked_by: Option<String>,
        pub revoke_reason: Option<String>,
        /// JSON object.
        pub metadata: String,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod agent_token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "agent_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub agent_id: String,
        pub tenant_id: String,
        pub token_hash: String,
        pub created_at: i64,
        pub expires_at: i64,
        pub revoked_at: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A list page's filter.
pub struct ListFilter<'a> {
    pub tenant_id: &'a str,
    pub owner: Option<&'a str>,
    pub status: Option<&'a str>,
    /// `(created_at, id)` of the last row of the previous page.
    pub after: Option<(i64, String)>,
    pub limit: u64,
}

#[derive(Clone, Debug)]
pub struct AgentStore {
    db: Db,
}

impl AgentStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn insert(&self, row: agent::Model) -> Result<(), sea_orm::DbErr> {
        let am: agent::ActiveModel = row.into();
        agent::Entity::insert(am)
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn get(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<agent::Model>, sea_orm::DbErr> {
        agent::Entity::find_by_id(id.to_owned())
            .filter(agent::Column::TenantId.eq(tenant_id))
            .one(&self.db.conn)
            .await
    }

    pub async fn get_many(
        &self,
        tenant_id: &str,
        ids: &[&str],
    ) -> Result<Vec<agent::Model>, sea_orm::DbErr> {
        agent::Entity::find()
            .filter(agent::Column::TenantId.eq(tenant_id))
            .filter(agent::Column::Id.is_in(ids.iter().map(|s| (*s).to_owned())))
            .all(&self.db.conn)
            .await
    }

    pub async fn by_pairing_hash(
        &self,
        hash: &str,
    ) -> Result<Option<agent::Model>, sea_orm::DbErr> {
        agent::Entity::find()
            .filter(agent::Column::PairingCodeHash.eq(hash))
            .one(&self.db.conn)
            .await
    }

    /// Activates a pending agent if it is still pending (single use of the code).
    pub async fn activate(&self, row: &agent::Model) -> Result<bool, sea_orm::DbErr> {
        let res = agent::Entity::update_many()
            .col_expr(agent::Column::Status, Expr::value("active"))
            .col_expr(agent::Column::Name, Expr::value(row.name.clone()))
            .col_expr(agent::Column::Version, Expr::value(row.version.clone()))
            .col_expr(agent::Column::Platform, Expr::value(row.platform.clone()))
            .col_expr(
                agent::Column::Capabilities,
                Expr::value(row.capabilities.clone()),
            )
            .col_expr(agent::Column::Metadata, Expr::value(row.metadata.clone()))
            .col_expr(
                agent::Column::PairingCodeHash,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                agent::Column::PairingExpiresAt,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(agent::Column::PairedAt, Expr::value(row.paired_at))
            .col_expr(agent::Column::PairedBy, Expr::value(row.paired_by.clone()))
            .col_expr(agent::Column::LastSeenAt, Expr::value(row.last_seen_at))
            .col_expr(agent::Column::UpdatedAt, Expr::value(row.updated_at))
            .filter(agent::Column::Id.eq(row.id.clone()))
            .filter(agent::Column::Status.eq("pending"))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn list(&self, f: ListFilter<'_>) -> Result<Vec<agent::Model>, sea_orm::DbErr> {
        let mut cond = Condition::all().add(agent::Column::TenantId.eq(f.tenant_id));
        if let Some(owner) = f.owner {
            cond = cond.add(agent::Column::OwnerUserId.eq(owner));
        }
        if let Some(status) = f.status {
            cond = cond.add(agent::Column::Status.eq(status));
        }
        if let Some((created, id)) = f.after {
            cond = cond.add(
                Condition::any()
                    .add(agent::Column::CreatedAt.lt(created))
                    .add(
                        Condition::all()
                            .add(agent::Column::CreatedAt.eq(created))
                            .add(agent::Column::Id.lt(id)),
                    ),
            );
        }
        agent::Entity::find()
            .filter(cond)
            .order_by_desc(agent::Column::CreatedAt)
            .order_by_desc(agent::Column::Id)
            .limit(f.limit)
            .all(&self.db.conn)
            .await
    }

    pub async fn revoke(
        &self,
        tenant_id: &str,
        id: &str,
        by: &str,
        reason: Option<&str>,
        now: i64,
    ) -> Result<bool, sea_orm::DbErr> {
        let res = agent::Entity::update_many()
            .col_expr(agent::Column::Status, Expr::value("revoked"))
            .col_expr(agent::Column::RevokedAt, Expr::value(now))
            .col_expr(agent::Column::RevokedBy, Expr::value(by.to_owned()))
            .col_expr(
                agent::Column::RevokeReason,
                Expr::value(reason.map(str::to_owned)),
            )
            .col_expr(
                agent::Column::PairingCodeHash,
                Expr::value(Option::<String>::None),
            )
            .col_expr(agent::Column::UpdatedAt, Expr::value(now))
            .filter(agent::Column::Id.eq(id))
            .filter(agent::Column::TenantId.eq(tenant_id))
            .filter(agent::Column::Status.ne("revoked"))
            .exec(&self.db.conn)
            .await?;
        agent_token::Entity::update_many()
            .col_expr(agent_token::Column::RevokedAt, Expr::value(now))
            .filter(agent_token::Column::AgentId.eq(id))
            .filter(agent_token::Column::RevokedAt.is_null())
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn insert_token(&self, row: agent_token::Model) -> Result<(), sea_orm::DbErr> {
        let am: agent_token::ActiveModel = row.into();
        agent_token::Entity::insert(am)
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn token_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<agent_token::Model>, sea_orm::DbErr> {
        agent_token::Entity::find()
            .filter(agent_token::Column::TokenHash.eq(hash))
            .one(&self.db.conn)
            .await
    }

    /// Revokes every token of the agent except `keep`.
    pub async fn revoke_tokens_except(
        &self,
        agent_id: &str,
        keep: &str,
        now: i64,
    ) -> Result<(), sea_orm::DbErr> {
        agent_token::Entity::update_many()
            .col_expr(agent_token::Column::RevokedAt, Expr::value(now))
            .filter(agent_token::Column::AgentId.eq(agent_id))
            .filter(agent_token::Column::Id.ne(keep))
            .filter(agent_token::Column::RevokedAt.is_null())
            .exec(&self.db.conn)
            .await?;
        Ok(())
    }

    /// Writes buffered heartbeats in one statement: `last_seen_at` and, for agents that sent
    /// it, the latest metadata.
    pub async fn flush_heartbeats(
        &self,
        beats: &[(String, i64, Option<String>)],
    ) -> Result<(), sqlx::Error> {
        if beats.is_empty() {
            return Ok(());
        }
        let mut p = Placeholders::default();
        let mut binds: Vec<Bind> = Vec::new();
        let mut sql = String::from("UPDATE agents SET last_seen_at = CASE id");
        for (id, seen, _) in beats {
            sql.push_str(&format!(" WHEN {} THEN {}", p.mark(), p.mark()));
            binds.push(Bind::Text(id.clone()));
            binds.push(Bind::Int(*seen));
        }
        sql.push_str(" ELSE last_seen_at END");
        if beats.iter().any(|b| b.2.is_some()) {
            sql.push_str(", metadata = CASE id");
            for (id, _, meta) in beats {
                if let Some(m) = meta {
                    sql.push_str(&format!(" WHEN {} THEN {}", p.mark(), p.mark()));
                    binds.push(Bind::Text(id.clone()));
                    binds.push(Bind::Text(m.clone()));
                }
            }
            sql.push_str(" ELSE metadata END");
        }
        let ids: Vec<String> = beats
            .iter()
            .map(|(id, _, _)| {
                binds.push(Bind::Text(id.clone()));
                p.mark()
            })
            .collect();
        sql.push_str(&format!(
            " WHERE status = 'active' AND id IN ({})",
            ids.join(", ")
        ));
        crate::with_pool!(self.db, |pool| {
            crate::bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), binds.clone())
                .execute(pool)
                .await
                .map(|_| ())
        })
    }
}
