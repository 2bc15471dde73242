//! Persistence of bots and their lifecycle log.

use crate::db::Db;
use crate::pagination::PageRequest;
use crate::resources::store::contains_ci;
use botmox_contract::bots::{BotStatus, LifecycleStage};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

pub mod bot {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bots")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: Option<String>,
        pub project_id: Option<String>,
        pub status: String,
        pub current_stage: String,
        pub previous_status: Option<String>,
        pub pre_ban_status: Option<String>,
        pub pre_archive_status: Option<String>,
        pub archive_reason: Option<String>,
        pub ban_date: Option<String>,
        pub ban_reason: Option<String>,
        pub ban_mechanism: Option<String>,
        pub archived_at: Option<i64>,
        pub ban_timestamp: Option<i64>,
        pub unbanned_at: Option<i64>,
        pub last_seen: Option<i64>,
        pub vm_uuid: Option<String>,
        pub vm_name: Option<String>,
        pub vm_ip: Option<String>,
        pub vm_created_at: Option<i64>,
        pub character_name: Option<String>,
        pub character_server: Option<String>,
        pub character_level: Option<i32>,
        pub character_faction: Option<String>,
        pub character_race: Option<String>,
        pub character_class: Option<String>,
        pub person_first_name: Option<String>,
        pub person_last_name: Option<String>,
        pub person_birth_date: Option<String>,
        pub person_country: Option<String>,
        pub person_city: Option<String>,
        pub person_address: Option<String>,
        pub person_zip: Option<String>,
        pub account_email: Option<String>,
        pub account_password: Option<String>,
        pub account_bnet_created_at: Option<i64>,
        /// JSON object of booleans.
        pub generation_locks: String,
        /// JSON of the normalised schedule.
        pub schedule: Option<String>,
        /// JSON object, free-form.
        pub metadata: String,
        /// Bumped by every write; updates check it so concurrent writers cannot both win.
        pub version: i64,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl Model {
        pub fn status(&self) -> botmox_contract::bots::BotStatus {
            botmox_contract::bots::BotStatus::parse(&self.status)
                .unwrap_or(botmox_contract::bots::BotStatus::Offline)
        }

        pub fn stage(&self) -> botmox_contract::bots::LifecycleStage {
            botmox_contract::bots::LifecycleStage::parse(&self.current_stage)
                .unwrap_or(botmox_contract::bots::LifecycleStage::Prepare)
        }
    }
}

pub mod lifecycle_log {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bot_lifecycle_log")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub bot_id: String,
        pub kind: String,
        pub from_status: Option<String>,
        pub to_status: Option<String>,
        pub from_stage: Option<String>,
        pub to_stage: Option<String>,
        pub message: String,
        /// JSON.
        pub details: String,
        pub actor: Option<String>,
        pub at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use bot::{Column as B, Entity as Bots};
use lifecycle_log::{Column as L, Entity as Log};

/// A new bot row with nothing but its identity and status.
pub fn blank(tenant: &str, id: &str, status: BotStatus, now: i64) -> bot::Model {
    bot::Model {
        tenant_id: tenant.to_owned(),
        id: id.to_owned(),
        name: None,
        project_id: None,
        status: status.as_str().to_owned(),
        current_stage: status
            .stage()
            .unwrap_or(LifecycleStage::Prepare)
            .as_str()
            .to_owned(),
        previous_status: None,
        pre_ban_status: None,
        pre_archive_status: None,
        archive_reason: None,
        ban_date: None,
        ban_reason: None,
        ban_mechanism: None,
        archived_at: None,
        ban_timestamp: None,
        unbanned_at: None,
        last_seen: None,
        vm_uuid: None,
        vm_name: None,
        vm_ip: None,
        vm_created_at: None,
        character_name: None,
        character_server: None,
        character_level: None,
        character_faction: None,
        character_race: None,
        character_class: None,
        person_first_name: None,
        person_last_name: None,
        person_birth_date: None,
        person_country: None,
        person_city: None,
        person_address: None,
        person_zip: None,
        account_email: None,
        account_password: None,
        account_bnet_created_at: None,
        generation_locks: "{}".to_owned(),
        schedule: None,
        metadata: "{}".to_owned(),
        version: 0,
        created_at: now,
        updated_at: now,
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub project_id: Option<String>,
    pub status: Option<String>,
    pub include_archived: bool,
    pub q: Option<String>,
}

#[derive(Clone, Debug)]
pub struct BotStore {
    db: Db,
}

impl BotStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn conn(&self) -> &sea_orm::DatabaseConnection {
        &self.db.conn
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

    pub async fn get<C: ConnectionTrait>(
        conn: &C,
        tenant: &str,
        id: &str,
    ) -> Result<Option<bot::Model>, DbErr> {
        Bots::find_by_id((tenant.to_owned(), id.to_owned()))
            .one(conn)
            .await
    }

    /// Reads a bot inside a write transaction and locks it (PostgreSQL `FOR UPDATE`), so
    /// writers of one bot take turns; SQLite transactions are already serialised.
    pub async fn get_for_update(
        txn: &DatabaseTransaction,
        tenant: &str,
        id: &str,
    ) -> Result<Option<bot::Model>, DbErr> {
        Bots::find_by_id((tenant.to_owned(), id.to_owned()))
            .lock_exclusive()
            .one(txn)
            .await
    }

    pub async fn insert<C: ConnectionTrait>(conn: &C, row: bot::Model) -> Result<(), DbErr> {
        let am: bot::ActiveModel = row.into();
        Bots::insert(am).exec_without_returning(conn).await?;
        Ok(())
    }

    /// Writes `row` if its stored version is still `row.version - 1`.
    pub async fn update<C: ConnectionTrait>(conn: &C, row: bot::Model) -> Result<bool, DbErr> {
        let expected = row.version - 1;
        let (tenant, id) = (row.tenant_id.clone(), row.id.clone());
        let am = sea_orm::ActiveModelTrait::reset_all(bot::ActiveModel::from(row));
        let res = Bots::update_many()
            .set(am)
            .filter(B::TenantId.eq(tenant))
            .filter(B::Id.eq(id))
            .filter(B::Version.eq(expected))
            .exec(conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Deletes a bot; its log and resource assignments go with it (foreign key cascade).
    pub async fn delete(&self, tenant: &str, id: &str) -> Result<bool, DbErr> {
        let res = Bots::delete_many()
            .filter(B::TenantId.eq(tenant))
            .filter(B::Id.eq(id))
            .exec(&self.db.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// One page, newest first (`created_at`, then id, both descending).
    pub async fn list(
        &self,
        tenant: &str,
        filter: &ListFilter,
        page: &PageRequest,
        after: Option<(i64, String)>,
    ) -> Result<Vec<bot::Model>, DbErr> {
        let mut q = Bots::find().filter(B::TenantId.eq(tenant));
        if let Some(p) = &filter.project_id {
            q = q.filter(B::ProjectId.eq(p.as_str()));
        }
        match &filter.status {
            Some(s) => q = q.filter(B::Status.eq(s.as_str())),
            None if !filter.include_archived => {
                q = q.filter(B::Status.ne(BotStatus::Archived.as_str()));
            }
            None => {}
        }
        if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
            let mut any = Condition::any();
            for c in [
                B::Id,
                B::Name,
                B::CharacterName,
                B::CharacterServer,
                B::AccountEmail,
                B::VmName,
            ] {
                any = any.add(contains_ci((Bots, c), text));
            }
            q = q.filter(any);
        }
        if let Some((created, id)) = after {
            q = q.filter(
                Condition::any().add(B::CreatedAt.lt(created)).add(
                    Condition::all()
                        .add(B::CreatedAt.eq(created))
                        .add(B::Id.lt(id)),
                ),
            );
        }
        q.order_by_desc(B::CreatedAt)
            .order_by_desc(B::Id)
            .limit(page.fetch())
            .all(&self.db.conn)
            .await
    }

    /// Id and status of every bot of the tenant (for the summary).
    pub async fn statuses(&self, tenant: &str) -> Result<Vec<(String, String)>, DbErr> {
        Bots::find()
            .select_only()
            .column(B::Id)
            .column(B::Status)
            .filter(B::TenantId.eq(tenant))
            .into_tuple()
            .all(&self.db.conn)
            .await
    }

    pub async fn existing_ids<C: ConnectionTrait>(
        conn: &C,
        tenant: &str,
        ids: &[String],
    ) -> Result<Vec<String>, DbErr> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Bots::find()
            .select_only()
            .column(B::Id)
            .filter(B::TenantId.eq(tenant))
            .filter(B::Id.is_in(ids.iter().cloned()))
            .into_tuple()
            .all(conn)
            .await
    }

    pub async fn log<C: ConnectionTrait>(conn: &C, row: lifecycle_log::Model) -> Result<(), DbErr> {
        let am: lifecycle_log::ActiveModel = row.into();
        Log::insert(am).exec_without_returning(conn).await?;
        Ok(())
    }

    /// A bot's log, oldest first.
    pub async fn history(
        &self,
        tenant: &str,
        bot_id: &str,
    ) -> Result<Vec<lifecycle_log::Model>, DbErr> {
        Log::find()
            .filter(L::TenantId.eq(tenant))
            .filter(L::BotId.eq(bot_id))
            .order_by_asc(L::At)
            .order_by_asc(L::Id)
            .all(&self.db.conn)
            .await
    }
}

#[async_trait::async_trait]
impl crate::resources::BotDirectory for BotStore {
    async fn missing_bots(
        &self,
        txn: &DatabaseTransaction,
        tenant: &str,
        ids: &[String],
    ) -> Result<Vec<String>, DbErr> {
        let found = Self::existing_ids(txn, tenant, ids).await?;
        Ok(ids
            .iter()
            .filter(|id| !found.contains(id))
            .cloned()
            .collect())
    }
}
