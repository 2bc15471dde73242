//! Bot rules: typed fields and sub-objects, links to resources, lifecycle with its log,
//! schedule, and the fleet health summary.

use super::lifecycle::{self, Event, Refusal};
use super::schedule;
use super::store::{BotStore, ListFilter, blank, bot, lifecycle_log};
use super::{
    BOT_ALREADY_EXISTS, BOT_CONCURRENT_UPDATE, BOT_NOT_FOUND, BOTS_INVALID_LIST_QUERY,
    BOTS_INVALID_MUTATION_BODY, BOTS_INVALID_SCHEDULE_BODY, BOTS_TRANSITION_VALIDATION_FAILED,
    BOTS_UNBAN_VALIDATION_FAILED,
};
use crate::auth::Principal;
use crate::db::time::{now_ms, opt_rfc3339, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, PageRequest};
use crate::resources::{BotLinkChanges, BotLinks, ResourcesService};
use botmox_contract::ListMeta;
use botmox_contract::bots::{
    ArchiveRequest, BanDetails, BanRequest, BannedState, BotAccount, BotCharacter, BotLifecycle,
    BotLifecycleState, BotListQuery, BotPerson, BotRecord, BotSchedule, BotStatus, BotVm, BotWrite,
    BotsSummary, GenerationLocks, LifecycleEvent, LifecycleStage, ResourceKindCounts,
    ScheduleInput, StageTransition, TransitionRequest, parse_day_month_year,
};
use botmox_contract::fields::{Deleted, SECRET_MASK, Timestamp};
use botmox_contract::pagination::PageQuery;
use botmox_contract::resources::{ExpiryStatus, ResourceKind};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, SqlErr};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

type FieldErrors = BTreeMap<String, Vec<String>>;

/// Largest `metadata` object, as JSON.
const MAX_METADATA_BYTES: usize = 64 * 1024;

pub struct BotsService {
    store: BotStore,
    resources: Arc<ResourcesService>,
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(BOT_NOT_FOUND, format!("No bot with id {id:?}"))
}

fn refused(r: Refusal) -> ApiError {
    match r {
        Refusal::Transition(m) => ApiError::bad_request(BOTS_TRANSITION_VALIDATION_FAILED, m),
        Refusal::Unban(m) => ApiError::bad_request(BOTS_UNBAN_VALIDATION_FAILED, m),
    }
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn parse_status(raw: &Option<String>) -> Option<BotStatus> {
    raw.as_deref().and_then(BotStatus::parse)
}

fn push(errors: &mut FieldErrors, field: &str, msg: impl Into<String>) {
    errors.entry(field.to_owned()).or_default().push(msg.into());
}

impl BotsService {
    pub fn new(store: BotStore, resources: Arc<ResourcesService>) -> Self {
        Self { store, resources }
    }

    // ---- records ----

    fn record(&self, m: &bot::Model, links: BotLinks, reveal_secrets: bool) -> BotRecord {
        let ban_details = match (
            &m.ban_date,
            &m.ban_reason,
            &m.ban_mechanism,
            m.ban_timestamp,
        ) {
            (Some(date), Some(reason), Some(mechanism), Some(ts)) => Some(BanDetails {
                ban_date: date.clone(),
                ban_reason: reason.clone(),
                ban_mechanism: mechanism.clone(),
                ban_timestamp: to_rfc3339(ts),
                unbanned_at: opt_rfc3339(m.unbanned_at),
            }),
            _ => None,
        };
        let vm = (m.vm_uuid.is_some() || m.vm_name.is_some()).then(|| BotVm {
            uuid: m.vm_uuid.clone(),
            name: m.vm_name.clone(),
            ip: m.vm_ip.clone(),
            created_at: m.vm_created_at.and_then(Timestamp::from_ms),
        });
        let character = BotCharacter {
            name: m.character_name.clone(),
            level: m.character_level.and_then(|l| u16::try_from(l).ok()),
            server: m.character_server.clone(),
            faction: m.character_faction.clone(),
            race: m.character_race.clone(),
            class: m.character_class.clone(),
        };
        let person = BotPerson {
            first_name: m.person_first_name.clone(),
            last_name: m.person_last_name.clone(),
            birth_date: m.person_birth_date.clone(),
            country: m.person_country.clone(),
            city: m.person_city.clone(),
            address: m.person_address.clone(),
            zip: m.person_zip.clone(),
        };
        let account = BotAccount {
            email: m.account_email.clone(),
            password: m.account_password.as_ref().map(|p| {
                if reveal_secrets {
                    p.clone()
                } else {
                    SECRET_MASK.to_owned()
                }
            }),
            bnet_created_at: m.account_bnet_created_at.and_then(Timestamp::from_ms),
        };
        BotRecord {
            id: m.id.clone(),
            name: m.name.clone(),
            project_id: m.project_id.clone(),
            status: m.status(),
            last_seen: opt_rfc3339(m.last_seen),
            lifecycle: BotLifecycleState {
                current_stage: m.stage(),
                previous_status: parse_status(&m.previous_status),
                pre_ban_status: parse_status(&m.pre_ban_status),
                ban_details,
                archived_at: opt_rfc3339(m.archived_at),
                archive_reason: m.archive_reason.clone(),
            },
            vm,
            character: (character != BotCharacter::default()).then_some(character),
            person: (person != BotPerson::default()).then_some(person),
            account: (account != BotAccount::default()).then_some(account),
            generation_locks: serde_json::from_str(&m.generation_locks).unwrap_or_default(),
            schedule: m
                .schedule
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            license_id: links.license_id,
            proxy_id: links.proxy_id,
            subscription_ids: links.subscription_ids,
            metadata: serde_json::from_str(&m.metadata).unwrap_or_default(),
            created_at: to_rfc3339(m.created_at),
            updated_at: to_rfc3339(m.updated_at),
        }
    }

    async fn record_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        m: &bot::Model,
        reveal_secrets: bool,
    ) -> ApiResult<BotRecord> {
        let mut links = self
            .resources
            .links_for_bots_in(conn, &m.tenant_id, std::slice::from_ref(&m.id))
            .await?;
        Ok(self.record(m, links.remove(&m.id).unwrap_or_default(), reveal_secrets))
    }

    async fn load(&self, p: &Principal, id: &str) -> ApiResult<bot::Model> {
        BotStore::get(self.store.conn(), &p.tenant_id, id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    // ---- reads ----

    pub async fn get(&self, p: &Principal, id: &str) -> ApiResult<BotRecord> {
        let m = self.load(p, id).await?;
        self.record_in(self.store.conn(), &m, p.is_privileged())
            .await
    }

    pub async fn list(
        &self,
        p: &Principal,
        q: &BotListQuery,
    ) -> ApiResult<(Vec<BotRecord>, ListMeta)> {
        let bad_cursor = || {
            let mut fields = FieldErrors::new();
            push(&mut fields, "cursor", "is not a cursor this server issued");
            ApiError::invalid_fields(BOTS_INVALID_LIST_QUERY, &fields)
        };
        let page = PageRequest::from_query(&PageQuery {
            cursor: q.cursor.clone(),
            limit: q.limit,
        })
        .map_err(|_| bad_cursor())?;
        let after = match &page.after {
            Some(c) => Some((c.key.as_i64().ok_or_else(bad_cursor)?, c.id.clone())),
            None => None,
        };
        let filter = ListFilter {
            project_id: clean(&q.project_id),
            status: q.status.clone(),
            include_archived: q.include_archived.unwrap_or(false),
            q: clean(&q.q),
        };
        let rows = self.store.list(&p.tenant_id, &filter, &page, after).await?;
        let (rows, meta) = page.finish(rows, |m| Cursor {
            key: json!(m.created_at),
            id: m.id.clone(),
        });
        let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
        let mut links = self.resources.links_for_bots(&p.tenant_id, &ids).await?;
        let reveal = p.is_privileged();
        let records = rows
            .iter()
            .map(|m| self.record(m, links.remove(&m.id).unwrap_or_default(), reveal))
            .collect();
        Ok((records, meta))
    }

    pub async fn lifecycle(&self, p: &Principal, id: &str) -> ApiResult<BotLifecycle> {
        let m = self.load(p, id).await?;
        let record = self.record(&m, BotLinks::default(), false);
        let log = self.store.history(&p.tenant_id, id).await?;
        let stage_transitions = log
            .iter()
            .filter_map(|e| {
                let to = e.to_stage.as_deref().and_then(LifecycleStage::parse)?;
                match e.from_stage.as_deref() {
                    None => Some(StageTransition {
                        from: "create".into(),
                        to,
                        timestamp: to_rfc3339(e.at),
                    }),
                    Some(from) if from != to.as_str() => Some(StageTransition {
                        from: from.to_owned(),
                        to,
                        timestamp: to_rfc3339(e.at),
                    }),
                    Some(_) => None,
                }
            })
            .collect();
        let history = log
            .into_iter()
            .map(|e| LifecycleEvent {
                id: e.id,
                kind: e.kind,
                from_status: parse_status(&e.from_status),
                to_status: parse_status(&e.to_status),
                message: e.message,
                details: serde_json::from_str(&e.details).unwrap_or_default(),
                actor: e.actor,
                timestamp: to_rfc3339(e.at),
            })
            .collect();
        let state = record.lifecycle;
        Ok(BotLifecycle {
            status: record.status,
            current_stage: state.current_stage,
            previous_status: state.previous_status,
            pre_ban_status: state.pre_ban_status,
            ban_details: state.ban_details,
            archived_at: state.archived_at,
            archive_reason: state.archive_reason,
            stage_transitions,
            history,
        })
    }

    pub async fn is_banned(&self, p: &Principal, id: &str) -> ApiResult<BannedState> {
        let m = self.load(p, id).await?;
        Ok(BannedState {
            banned: m.status() == BotStatus::Banned,
        })
    }

    pub async fn schedule(&self, p: &Principal, id: &str) -> ApiResult<BotSchedule> {
        let m = self.load(p, id).await?;
        Ok(m.schedule
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_else(schedule::empty))
    }

    pub async fn summary(&self, p: &Principal) -> ApiResult<BotsSummary> {
        let clock = self.resources.clock();
        let bots = self.store.statuses(&p.tenant_id).await?;
        let held = self.resources.held_by_bots(&p.tenant_id, clock).await?;
        let mut by_status: BTreeMap<String, u64> = BotStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), 0))
            .collect();
        let mut s = BotsSummary {
            total: bots.len() as u64,
            by_status: BTreeMap::new(),
            banned: 0,
            archived: 0,
            active_fleet: 0,
            expiring_soon: ResourceKindCounts::default(),
            expired: ResourceKindCounts::default(),
            missing: ResourceKindCounts::default(),
            warning_days: self.resources.warning_days(),
            generated_at: to_rfc3339(clock.now),
        };
        let none = Vec::new();
        for (id, status) in &bots {
            *by_status.entry(status.clone()).or_default() += 1;
            match BotStatus::parse(status) {
                Some(BotStatus::Banned) => {
                    s.banned += 1;
                    continue;
                }
                Some(BotStatus::Archived) => {
                    s.archived += 1;
                    continue;
                }
                _ => s.active_fleet += 1,
            }
            let mine = held.get(id).unwrap_or(&none);
            let mut flags = [[false; 3]; 3]; // [expiring, expired, missing] × kind
            for (k, kind) in ResourceKind::ALL.into_iter().enumerate() {
                let of_kind: Vec<ExpiryStatus> = mine
                    .iter()
                    .filter(|h| h.kind == kind)
                    .map(|h| h.expiry)
                    .collect();
                flags[0][k] = of_kind.contains(&ExpiryStatus::Expiring);
                flags[1][k] = of_kind.contains(&ExpiryStatus::Expired);
                flags[2][k] = of_kind.is_empty();
            }
            for (counts, f) in [&mut s.expiring_soon, &mut s.expired, &mut s.missing]
                .into_iter()
                .zip(flags)
            {
                counts.license += u64::from(f[0]);
                counts.proxy += u64::from(f[1]);
                counts.subscription += u64::from(f[2]);
                counts.any += u64::from(f.iter().any(|x| *x));
            }
        }
        s.by_status = by_status;
        Ok(s)
    }

    // ---- writes ----

    pub async fn create(&self, p: &Principal, w: BotWrite) -> ApiResult<BotRecord> {
        if w.is_empty() {
            return Err(empty_payload());
        }
        let now = now_ms();
        let id = w.id.clone().unwrap_or_else(|| Uuid::now_v7().to_string());
        let status = parse_status(&w.status).unwrap_or(BotStatus::Offline);
        let mut m = blank(&p.tenant_id, &id, status, now);
        apply_fields(&mut m, &w, now)?;
        let txn = self.store.begin().await?;
        if BotStore::get(&txn, &p.tenant_id, &id).await?.is_some() {
            return Err(already_exists(&id));
        }
        BotStore::insert(&txn, m.clone()).await.map_err(|e| {
            if unique_violation(&e) {
                already_exists(&id)
            } else {
                e.into()
            }
        })?;
        log(&txn, p, &m, lifecycle::created(&m), now).await?;
        self.resources
            .set_bot_links(
                &txn,
                &p.tenant_id,
                &id,
                &link_changes(&w),
                BOTS_INVALID_MUTATION_BODY,
            )
            .await?;
        let record = self.record_in(&txn, &m, p.is_privileged()).await?;
        txn.commit().await?;
        Ok(record)
    }

    /// PATCH and PUT: merges the fields present; a different `status` is a transition.
    pub async fn update(&self, p: &Principal, id: &str, mut w: BotWrite) -> ApiResult<BotRecord> {
        w.id = None;
        if w.is_empty() {
            return Err(empty_payload());
        }
        let status = parse_status(&w.status);
        let changes = link_changes(&w);
        self.mutate(
            p,
            id,
            move |m, now| {
                apply_fields(m, &w, now)?;
                match status {
                    Some(to) => lifecycle::transition(m, to).map_err(refused),
                    None => Ok(None),
                }
            },
            Some(changes),
        )
        .await
    }

    pub async fn delete(&self, p: &Principal, id: &str) -> ApiResult<Deleted> {
        if !self.store.delete(&p.tenant_id, id).await? {
            return Err(not_found(id));
        }
        Ok(Deleted {
            id: id.to_owned(),
            deleted: true,
        })
    }

    pub async fn transition(
        &self,
        p: &Principal,
        id: &str,
        req: TransitionRequest,
    ) -> ApiResult<BotRecord> {
        let to = BotStatus::parse(&req.status).unwrap_or(BotStatus::Offline);
        // Refused targets are refused before the bot is even looked up, as in the original.
        lifecycle::plain_target(to).map_err(refused)?;
        self.mutate(
            p,
            id,
            move |m, _| lifecycle::transition(m, to).map_err(refused),
            None,
        )
        .await
    }

    pub async fn ban(&self, p: &Principal, id: &str, req: BanRequest) -> ApiResult<BotRecord> {
        let now = now_ms();
        let today = DateTime::<Utc>::from_timestamp_millis(now)
            .unwrap_or_default()
            .format("%d.%m.%Y")
            .to_string();
        let date = req.ban_date.clone().unwrap_or(today);
        let timestamp = req.ban_timestamp.map(Timestamp::ms).unwrap_or_else(|| {
            req.ban_date
                .as_deref()
                .and_then(|d| parse_day_month_year(d, '.'))
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|dt| dt.and_utc().timestamp_millis())
                .unwrap_or(now)
        });
        let ban = lifecycle::Ban {
            date,
            reason: req.ban_reason.trim().to_owned(),
            mechanism: req.ban_mechanism.clone(),
            timestamp,
        };
        self.mutate(
            p,
            id,
            move |m, _| lifecycle::ban(m, ban).map(Some).map_err(refused),
            None,
        )
        .await
    }

    pub async fn unban(&self, p: &Principal, id: &str) -> ApiResult<BotRecord> {
        self.mutate(
            p,
            id,
            |m, now| lifecycle::unban(m, now).map(Some).map_err(refused),
            None,
        )
        .await
    }

    pub async fn archive(
        &self,
        p: &Principal,
        id: &str,
        req: ArchiveRequest,
    ) -> ApiResult<BotRecord> {
        let reason = clean(&req.reason);
        self.mutate(
            p,
            id,
            move |m, now| lifecycle::archive(m, reason, now).map_err(refused),
            None,
        )
        .await
    }

    pub async fn unarchive(&self, p: &Principal, id: &str) -> ApiResult<BotRecord> {
        self.mutate(
            p,
            id,
            |m, _| lifecycle::unarchive(m).map(Some).map_err(refused),
            None,
        )
        .await
    }

    pub async fn put_schedule(
        &self,
        p: &Principal,
        id: &str,
        input: ScheduleInput,
    ) -> ApiResult<BotSchedule> {
        let now = now_ms();
        let normalized = schedule::normalize(&input, to_rfc3339(now), "")
            .map_err(|f| ApiError::invalid_fields(BOTS_INVALID_SCHEDULE_BODY, &f))?;
        let json = serde_json::to_string(&normalized).map_err(anyhow::Error::from)?;
        self.mutate(
            p,
            id,
            move |m, _| {
                m.schedule = Some(json);
                Ok(None)
            },
            None,
        )
        .await?;
        Ok(normalized)
    }

    /// Loads a bot, applies `change` (which may return a lifecycle event), writes it back
    /// with its event and link changes in one transaction, and returns the new record.
    async fn mutate<F>(
        &self,
        p: &Principal,
        id: &str,
        change: F,
        links: Option<BotLinkChanges>,
    ) -> ApiResult<BotRecord>
    where
        F: FnOnce(&mut bot::Model, i64) -> ApiResult<Option<Event>>,
    {
        let now = now_ms();
        let txn = self.store.begin().await?;
        let mut m = BotStore::get_for_update(&txn, &p.tenant_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let before = m.clone();
        let event = change(&mut m, now)?;
        let links_change = links.filter(|l| !l.is_empty());
        if m != before || links_change.is_some() {
            m.version += 1;
            m.updated_at = now;
            if !BotStore::update(&txn, m.clone()).await? {
                return Err(ApiError::conflict(
                    BOT_CONCURRENT_UPDATE,
                    "The bot was changed by another request; reload and retry",
                ));
            }
        }
        if let Some(e) = event {
            log(&txn, p, &m, e, now).await?;
        }
        if let Some(l) = links_change {
            self.resources
                .set_bot_links(&txn, &p.tenant_id, id, &l, BOTS_INVALID_MUTATION_BODY)
                .await?;
        }
        let record = self.record_in(&txn, &m, p.is_privileged()).await?;
        txn.commit().await?;
        Ok(record)
    }
}

fn empty_payload() -> ApiError {
    let mut fields = FieldErrors::new();
    push(&mut fields, "_", "Payload must contain at least one field");
    ApiError::invalid_fields(BOTS_INVALID_MUTATION_BODY, &fields)
}

fn already_exists(id: &str) -> ApiError {
    ApiError::conflict(
        BOT_ALREADY_EXISTS,
        format!("A bot with id {id:?} already exists"),
    )
}

fn unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

fn link_changes(w: &BotWrite) -> BotLinkChanges {
    BotLinkChanges {
        license: w.license_id.clone(),
        proxy: w.proxy_id.clone(),
        subscriptions: w.subscription_ids.clone().map(Option::unwrap_or_default),
    }
}

async fn log<C: ConnectionTrait>(
    conn: &C,
    p: &Principal,
    m: &bot::Model,
    e: Event,
    now: i64,
) -> ApiResult<()> {
    BotStore::log(
        conn,
        lifecycle_log::Model {
            id: Uuid::now_v7().to_string(),
            tenant_id: m.tenant_id.clone(),
            bot_id: m.id.clone(),
            kind: e.kind.to_owned(),
            from_status: e.from_status.map(|s| s.as_str().to_owned()),
            to_status: Some(e.to_status.as_str().to_owned()),
            from_stage: e.from_stage.map(|s| s.as_str().to_owned()),
            to_stage: Some(e.to_stage.as_str().to_owned()),
            message: e.message,
            details: e.details.to_string(),
            actor: Some(p.uid.clone()),
            at: now,
        },
    )
    .await?;
    Ok(())
}

/// Merges the body's fields (not status or links) into a row; rule failures are reported
/// together as field errors.
fn apply_fields(m: &mut bot::Model, w: &BotWrite, now: i64) -> ApiResult<()> {
    let mut errors = FieldErrors::new();
    if let Some(v) = &w.name {
        m.name = clean(v);
    }
    if let Some(v) = &w.project_id {
        m.project_id = clean(v);
    }
    if let Some(v) = w.last_seen {
        m.last_seen = v.map(Timestamp::ms);
    }
    if let Some(vm) = &w.vm {
        let vm = vm.clone().unwrap_or_default();
        let (uuid, name) = (clean(&vm.uuid).map(|u| u.to_lowercase()), clean(&vm.name));
        if uuid.is_none() && name.is_none() && w.vm.as_ref().is_some_and(Option::is_some) {
            push(
                &mut errors,
                "vm",
                "needs a uuid or a name (send null to unlink)",
            );
        }
        m.vm_uuid = uuid;
        m.vm_name = name;
        m.vm_ip = clean(&vm.ip);
        m.vm_created_at = vm.created_at.map(Timestamp::ms);
    }
    if let Some(c) = &w.character {
        let c = c.clone().unwrap_or_default();
        m.character_name = clean(&c.name);
        m.character_level = c.level.map(i32::from);
        m.character_server = clean(&c.server);
        m.character_faction = clean(&c.faction).map(|f| f.to_ascii_lowercase());
        m.character_race = clean(&c.race);
        m.character_class = clean(&c.class);
    }
    if let Some(person) = &w.person {
        let person = person.clone().unwrap_or_default();
        m.person_first_name = clean(&person.first_name);
        m.person_last_name = clean(&person.last_name);
        m.person_birth_date = clean(&person.birth_date);
        m.person_country = clean(&person.country);
        m.person_city = clean(&person.city);
        m.person_address = clean(&person.address);
        m.person_zip = clean(&person.zip);
    }
    if let Some(a) = &w.account {
        let a = a.clone().unwrap_or_default();
        m.account_email = clean(&a.email);
        match a.password {
            // The mask a non-admin reader was given: keep what is stored.
            Some(p) if p == SECRET_MASK => {}
            // Passwords are kept verbatim (spaces may be part of them).
            p => m.account_password = p.filter(|p| !p.is_empty()),
        }
        m.account_bnet_created_at = a.bnet_created_at.map(Timestamp::ms);
    }
    if let Some(locks) = &w.generation_locks {
        let locks: GenerationLocks = locks.unwrap_or_default();
        m.generation_locks = serde_json::to_string(&locks).map_err(anyhow::Error::from)?;
    }
    if let Some(s) = &w.schedule {
        m.schedule = match s {
            None => None,
            Some(input) => match schedule::normalize(input, to_rfc3339(now), "schedule.") {
                Ok(norm) => Some(serde_json::to_string(&norm).map_err(anyhow::Error::from)?),
                Err(fields) => {
                    errors.extend(fields);
                    m.schedule.clone()
                }
            },
        };
    }
    if let Some(meta) = &w.metadata {
        let json = serde_json::to_string(&meta.clone().unwrap_or_default())
            .map_err(anyhow::Error::from)?;
        if json.len() > MAX_METADATA_BYTES {
            push(
                &mut errors,
                "metadata",
                format!("must be at most {MAX_METADATA_BYTES} bytes as JSON"),
            );
        }
        m.metadata = json;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_fields(
            BOTS_INVALID_MUTATION_BODY,
            &errors,
        ))
    }
}

impl std::fmt::Debug for BotsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotsService")
    }
}
