//! Persistence of tenants, users, refresh tokens, API tokens and revoked access tokens.

use crate::db::Db;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

pub mod tenant {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub email: String,
        pub password_hash: String,
        /// Comma-separated.
        pub roles: String,
        pub disabled: bool,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod refresh_token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub family_id: String,
        pub user_id: String,
        pub tenant_id: String,
        pub token_hash: String,
        pub created_at: i64,
        pub expires_at: i64,
        pub used_at: Option<i64>,
        pub revoked_at: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod api_token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub name: String,
        pub token_hash: String,
        pub roles: String,
        pub created_by: String,
        pub created_at: i64,
        pub expires_at: Option<i64>,
        pub revoked_at: Option<i64>,
        pub last_used_at: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod revoked_access_token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "revoked_access_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub jti: String,
        pub expires_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod server_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "server_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub value: String,
        pub created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub fn join_roles(roles: &[String]) -> String {
    roles.join(",")
}

pub fn split_roles(roles: &str) -> Vec<String> {
    roles
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Clone, Debug)]
pub struct AuthStore {
    db: Db,
}

impl AuthStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Returns the named key, creating it with `make` if absent (first writer wins across
    /// nodes).
    pub async fn server_key(
        &self,
        name: &str,
        make: impl FnOnce() -> String,
        now: i64,
    ) -> Result<String, sea_orm::DbErr> {
        let row = server_key::ActiveModel {
            name: Set(name.to_owned()),
            value: Set(make()),
            created_at: Set(now),
        };
        server_key::Entity::insert(row)
            .on_conflict_do_nothing_on([server_key::Column::Name])
            .exec(&self.db.conn)
            .await?;
        let stored = server_key::Entity::find_by_id(name.to_owned())
            .one(&self.db.conn)
            .await?
            .ok_or_else(|| sea_orm::DbErr::RecordNotFound(format!("server key {name}")))?;
        Ok(stored.value)
    }

    pub async fn find_server_key(&self, name: &str) -> Result<Option<String>, sea_orm::DbErr> {
        Ok(server_key::Entity::find_by_id(name.to_owned())
            .one(&self.db.conn)
            .await?
            .map(|k| k.value))
    }

    pub async fn ensure_tenant(&self, id: &str, now: i64) -> Result<(), sea_orm::DbErr> {
        let row = tenant::ActiveModel {
            id: Set(id.to_owned()),
            name: Set(id.to_owned()),
            created_at: Set(now),
        };
        tenant::Entity::insert(row)
            .on_conflict_do_nothing_on([tenant::Column::Id])
            .exec(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn count_users(&self) -> Result<u64, sea_orm::DbErr> {
        user::Entity::find().count(&self.db.conn).await
    }

    pub async fn insert_user(&self, row: user::Model) -> Result<(), sea_orm::DbErr> {
        let am: user::ActiveModel = row.into();
        user::Entity::insert(am)
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<user::Model>, sea_orm::DbErr> {
        user::Entity::find()
            .filter(user::Column::Email.eq(email))
            .one(&self.db.conn)
            .await
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<user::Model>, sea_orm::DbErr> {
        user::Entity::find_by_id(id.to_owned())
            .one(&self.db.conn)
            .await
    }

    pub async fn users_in_tenant(
        &self,
        tenant_id: Option<&str>,
    ) -> Result<Vec<user::Model>, sea_orm::DbErr> {
        let mut q = user::Entity::find().order_by_asc(user::Column::Email);
        if let Some(t) = tenant_id {
            q = q.filter(user::Column::TenantId.eq(t));
        }
        q.all(&self.db.conn).await
    }

    pub async fn update_user_password(
        &self,
        id: &str,
        hash: &str,
        now: i64,
    ) -> Result<bool, sea_orm::DbErr> {
        let res = user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash.to_owned()))
            .col_expr(user::Column::UpdatedAt, Expr::value(now))
            .filter(user::Column::Id.eq(id))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn set_user_disabled(
        &self,
        id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<bool, sea_orm::DbErr> {
        let res = user::Entity::update_many()
            .col_expr(user::Column::Disabled, Expr::value(disabled))
            .col_expr(user::Column::UpdatedAt, Expr::value(now))
            .filter(user::Column::Id.eq(id))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn insert_refresh(&self, row: refresh_token::Model) -> Result<(), sea_orm::DbErr> {
        let am: refresh_token::ActiveModel = row.into();
        refresh_token::Entity::insert(am)
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn refresh_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<refresh_token::Model>, sea_orm::DbErr> {
        refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(hash))
            .one(&self.db.conn)
            .await
    }

    /// Marks a refresh token used if, and only if, nobody used or revoked it first: the
    /// compare-and-set that makes concurrent reuse detectable.
    pub async fn mark_refresh_used(&self, id: &str, now: i64) -> Result<bool, sea_orm::DbErr> {
        let res = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(id))
            .filter(refresh_token::Column::UsedAt.is_null())
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn revoke_family(&self, family_id: &str, now: i64) -> Result<u64, sea_orm::DbErr> {
        let res = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
            .filter(refresh_token::Column::FamilyId.eq(family_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected)
    }

    pub async fn revoke_user_sessions(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<u64, sea_orm::DbErr> {
        let res = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
            .filter(refresh_token::Column::UserId.eq(user_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected)
    }

    pub async fn insert_api_token(&self, row: api_token::Model) -> Result<(), sea_orm::DbErr> {
        let am: api_token::ActiveModel = row.into();
        api_token::Entity::insert(am)
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn api_token_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<api_token::Model>, sea_orm::DbErr> {
        api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash))
            .one(&self.db.conn)
            .await
    }

    pub async fn api_tokens(
        &self,
        tenant_id: Option<&str>,
    ) -> Result<Vec<api_token::Model>, sea_orm::DbErr> {
        let mut q = api_token::Entity::find().order_by_desc(api_token::Column::CreatedAt);
        if let Some(t) = tenant_id {
            q = q.filter(api_token::Column::TenantId.eq(t));
        }
        q.all(&self.db.conn).await
    }

    /// Revokes a token; `tenant_id` scopes the lookup (None only for the local CLI).
    pub async fn revoke_api_token(
        &self,
        id: &str,
        tenant_id: Option<&str>,
        now: i64,
    ) -> Result<bool, sea_orm::DbErr> {
        let mut cond = Condition::all()
            .add(api_token::Column::Id.eq(id))
            .add(api_token::Column::RevokedAt.is_null());
        if let Some(t) = tenant_id {
            cond = cond.add(api_token::Column::TenantId.eq(t));
        }
        let res = api_token::Entity::update_many()
            .col_expr(api_token::Column::RevokedAt, Expr::value(now))
            .filter(cond)
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn touch_api_token(&self, id: &str, now: i64) -> Result<(), sea_orm::DbErr> {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
            .filter(api_token::Column::Id.eq(id))
            .exec(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn revoke_access(&self, jti: &str, expires_at: i64) -> Result<(), sea_orm::DbErr> {
        let row = revoked_access_token::ActiveModel {
            jti: Set(jti.to_owned()),
            expires_at: Set(expires_at),
        };
        revoked_access_token::Entity::insert(row)
            .on_conflict_do_nothing_on([revoked_access_token::Column::Jti])
            .exec(&self.db.conn)
            .await?;
        Ok(())
    }

    /// Revoked access tokens that have not expired yet; expired ones are deleted.
    pub async fn live_revoked_access(
        &self,
        now: i64,
    ) -> Result<Vec<revoked_access_token::Model>, sea_orm::DbErr> {
        revoked_access_token::Entity::delete_many()
            .filter(revoked_access_token::Column::ExpiresAt.lt(now))
            .exec(&self.db.conn)
            .await?;
        revoked_access_token::Entity::find()
            .all(&self.db.conn)
            .await
    }
}
