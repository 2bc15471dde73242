//! Persistence of vault secrets (ciphertext only), their bindings, and the wrapped data keys
//! of the server-side envelope encryption.

use crate::db::Db;
use crate::pagination::{AfterMs, newest_first_after};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

pub mod secret {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "secrets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub label: String,
        pub kind: String,
        /// JSON object of string labels.
        pub labels: String,
        /// As the client sent it; the server cannot decrypt it.
        pub ciphertext: String,
        pub nonce: String,
        pub alg: String,
        pub key_id: String,
        pub aad_meta: String,
        pub material_version: i32,
        pub created_by: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub rotated_at: Option<i64>,
    }

    impl std::fmt::Debug for Model {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Secret")
                .field("id", &self.id)
                .field("tenant_id", &self.tenant_id)
                .field("ciphertext", &"<redacted>")
                .finish()
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod binding {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "secret_bindings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub scope_type: String,
        pub scope_id: String,
        pub field_name: String,
        pub secret_ref: String,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod data_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "envelope_data_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// base64(nonce || AEAD(master, data key)).
        pub wrapped_key: String,
        /// Fingerprint of the master key that wrapped it.
        pub master_key_id: String,
        /// `active` (new encryptions) or `retired` (decryption only).
        pub status: String,
        pub created_at: i64,
        pub rewrapped_at: Option<i64>,
    }

    impl std::fmt::Debug for Model {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("DataKey")
                .field("id", &self.id)
                .field("master_key_id", &self.master_key_id)
                .field("status", &self.status)
                .finish()
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(Clone, Debug)]
pub struct SecretStore {
    db: Db,
}

impl SecretStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    // ---- secrets ----

    pub async fn insert(&self, row: secret::Model) -> Result<(), sea_orm::DbErr> {
        let am: secret::ActiveModel = row.into();
        secret::Entity::insert(am)
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn get(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<secret::Model>, sea_orm::DbErr> {
        secret::Entity::find_by_id(id.to_owned())
            .filter(secret::Column::TenantId.eq(tenant))
            .one(&self.db.conn)
            .await
    }

    pub async fn rotate(&self, row: &secret::Model) -> Result<bool, sea_orm::DbErr> {
        let res = secret::Entity::update_many()
            .col_expr(
                secret::Column::Ciphertext,
                Expr::value(row.ciphertext.clone()),
            )
            .col_expr(secret::Column::Nonce, Expr::value(row.nonce.clone()))
            .col_expr(secret::Column::Alg, Expr::value(row.alg.clone()))
            .col_expr(secret::Column::KeyId, Expr::value(row.key_id.clone()))
            .col_expr(secret::Column::AadMeta, Expr::value(row.aad_meta.clone()))
            .col_expr(
                secret::Column::MaterialVersion,
                Expr::col(secret::Column::MaterialVersion).add(1),
            )
            .col_expr(secret::Column::RotatedAt, Expr::value(row.rotated_at))
            .col_expr(secret::Column::UpdatedAt, Expr::value(row.updated_at))
            .filter(secret::Column::Id.eq(row.id.clone()))
            .filter(secret::Column::TenantId.eq(row.tenant_id.clone()))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn delete(&self, tenant: &str, id: &str) -> Result<bool, sea_orm::DbErr> {
        binding::Entity::delete_many()
            .filter(binding::Column::TenantId.eq(tenant))
            .filter(binding::Column::SecretRef.eq(id))
            .exec(&self.db.conn)
            .await?;
        let res = secret::Entity::delete_many()
            .filter(secret::Column::Id.eq(id))
            .filter(secret::Column::TenantId.eq(tenant))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn list(
        &self,
        tenant: &str,
        kind: Option<&str>,
        after: Option<&AfterMs>,
        fetch: u64,
    ) -> Result<Vec<secret::Model>, sea_orm::DbErr> {
        let mut q = secret::Entity::find().filter(secret::Column::TenantId.eq(tenant));
        if let Some(k) = kind {
            q = q.filter(secret::Column::Kind.eq(k));
        }
        if let Some(c) = after {
            q = q.filter(newest_first_after(
                secret::Column::CreatedAt,
                secret::Column::Id,
                c,
            ));
        }
        q.order_by_desc(secret::Column::CreatedAt)
            .order_by_desc(secret::Column::Id)
            .limit(fetch)
            .all(&self.db.conn)
            .await
    }

    // ---- bindings ----

    /// Inserts, or points the existing binding of the same scope and field at the secret.
    pub async fn upsert_binding(&self, row: binding::Model) -> Result<(), sea_orm::DbErr> {
        let am: binding::ActiveModel = row.into();
        binding::Entity::insert(am)
            .on_conflict(
                OnConflict::columns([
                    binding::Column::TenantId,
                    binding::Column::ScopeType,
                    binding::Column::ScopeId,
                    binding::Column::FieldName,
                ])
                .update_columns([binding::Column::SecretRef, binding::Column::UpdatedAt])
                .to_owned(),
            )
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn binding_for(
        &self,
        tenant: &str,
        scope_type: &str,
        scope_id: &str,
        field_name: &str,
    ) -> Result<Option<binding::Model>, sea_orm::DbErr> {
        binding::Entity::find()
            .filter(binding::Column::TenantId.eq(tenant))
            .filter(binding::Column::ScopeType.eq(scope_type))
            .filter(binding::Column::ScopeId.eq(scope_id))
            .filter(binding::Column::FieldName.eq(field_name))
            .one(&self.db.conn)
            .await
    }

    pub async fn delete_binding(&self, tenant: &str, id: &str) -> Result<bool, sea_orm::DbErr> {
        let res = binding::Entity::delete_many()
            .filter(binding::Column::Id.eq(id))
            .filter(binding::Column::TenantId.eq(tenant))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn bindings(
        &self,
        tenant: &str,
        scope_type: Option<&str>,
        scope_id: Option<&str>,
        after: Option<&AfterMs>,
        fetch: u64,
    ) -> Result<Vec<binding::Model>, sea_orm::DbErr> {
        let mut q = binding::Entity::find().filter(binding::Column::TenantId.eq(tenant));
        if let Some(t) = scope_type {
            q = q.filter(binding::Column::ScopeType.eq(t));
        }
        if let Some(s) = scope_id {
            q = q.filter(binding::Column::ScopeId.eq(s));
        }
        if let Some(c) = after {
            q = q.filter(newest_first_after(
                binding::Column::CreatedAt,
                binding::Column::Id,
                c,
            ));
        }
        q.order_by_desc(binding::Column::CreatedAt)
            .order_by_desc(binding::Column::Id)
            .limit(fetch)
            .all(&self.db.conn)
            .await
    }

    // ---- data keys ----

    pub async fn insert_data_key(&self, row: data_key::Model) -> Result<(), sea_orm::DbErr> {
        let am: data_key::ActiveModel = row.into();
        data_key::Entity::insert(am)
            .exec_without_returning(&self.db.conn)
            .await?;
        Ok(())
    }

    pub async fn data_key(&self, id: &str) -> Result<Option<data_key::Model>, sea_orm::DbErr> {
        data_key::Entity::find_by_id(id.to_owned())
            .one(&self.db.conn)
            .await
    }

    /// The newest active data key.
    pub async fn active_data_key(&self) -> Result<Option<data_key::Model>, sea_orm::DbErr> {
        data_key::Entity::find()
            .filter(data_key::Column::Status.eq("active"))
            .order_by_desc(data_key::Column::CreatedAt)
            .order_by_desc(data_key::Column::Id)
            .one(&self.db.conn)
            .await
    }

    pub async fn data_keys(&self) -> Result<Vec<data_key::Model>, sea_orm::DbErr> {
        data_key::Entity::find()
            .order_by_asc(data_key::Column::CreatedAt)
            .all(&self.db.conn)
            .await
    }

    pub async fn rewrap_data_key(
        &self,
        id: &str,
        wrapped: &str,
        master_key_id: &str,
        now: i64,
    ) -> Result<(), sea_orm::DbErr> {
        data_key::Entity::update_many()
            .col_expr(data_key::Column::WrappedKey, Expr::value(wrapped))
            .col_expr(data_key::Column::MasterKeyId, Expr::value(master_key_id))
            .col_expr(data_key::Column::RewrappedAt, Expr::value(now))
            .filter(data_key::Column::Id.eq(id))
            .exec(&self.db.conn)
            .await?;
        Ok(())
    }

    /// Retires every active data key but `keep`.
    pub async fn retire_data_keys_except(&self, keep: &str) -> Result<(), sea_orm::DbErr> {
        data_key::Entity::update_many()
            .col_expr(data_key::Column::Status, Expr::value("retired"))
            .filter(data_key::Column::Status.eq("active"))
            .filter(data_key::Column::Id.ne(keep))
            .exec(&self.db.conn)
            .await?;
        Ok(())
    }
}
