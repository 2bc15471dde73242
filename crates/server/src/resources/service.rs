//! Resource rules: typed fields per kind, expiry tracking, filters, and the assignment rules
//! (a license serves any number of bots, a proxy or subscription one; a bot holds at most
//! one license and one proxy and any number of subscriptions).
//!
//! Assignments change from either side. Whichever object is being edited may have its own
//! links replaced (a proxy assigned to another bot moves); a slot of the other side that is
//! already taken (the bot already has another license) is a 409, never silently stolen.

use super::expiry::{ExpiryClock, days_left};
use super::store::{ExpiryBound, ListFilter, ResourceStore, assignment, resource};
use crate::auth::Principal;
use crate::db::time::{now_ms, opt_rfc3339, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, PageRequest};
use botmox_contract::ListMeta;
use botmox_contract::fields::{Deleted, SECRET_MASK};
use botmox_contract::pagination::PageQuery;
use botmox_contract::resources::{
    ExpiryStatus, IpqsResult, KindStats, LicenseRecord, LicenseWrite, ProxyRecord, ProxyWrite,
    ResourceKind, ResourceListQuery, ResourceRecord, ResourceStats, ResourceWrite,
    SubscriptionRecord, SubscriptionWrite,
};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, SqlErr};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use uuid::Uuid;

pub const RESOURCE_NOT_FOUND: &str = "RESOURCE_NOT_FOUND";
pub const RESOURCES_INVALID_KIND: &str = "RESOURCES_INVALID_KIND";
pub const RESOURCES_INVALID_ID: &str = "RESOURCES_INVALID_ID";
pub const RESOURCES_INVALID_BODY: &str = botmox_contract::resources::RESOURCES_INVALID_BODY;
pub const RESOURCES_INVALID_LIST_QUERY: &str = "RESOURCES_INVALID_LIST_QUERY";
pub const RESOURCE_ALREADY_EXISTS: &str = "RESOURCE_ALREADY_EXISTS";
pub const RESOURCE_ASSIGNMENT_CONFLICT: &str = "RESOURCE_ASSIGNMENT_CONFLICT";
pub const RESOURCE_CONCURRENT_UPDATE: &str = "RESOURCE_CONCURRENT_UPDATE";

type FieldErrors = BTreeMap<String, Vec<String>>;

/// What resources need to know about bots, provided by the bots domain.
#[async_trait::async_trait]
pub trait BotDirectory: Send + Sync {
    /// Which of `ids` are not bots of the tenant, read inside the caller's transaction.
    async fn missing_bots(
        &self,
        txn: &DatabaseTransaction,
        tenant: &str,
        ids: &[String],
    ) -> Result<Vec<String>, DbErr>;
}

/// The resources a bot holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotLinks {
    pub license_id: Option<String>,
    pub proxy_id: Option<String>,
    pub subscription_ids: Vec<String>,
}

/// Changes to a bot's links requested from the bot's side (`None` = unchanged).
#[derive(Debug, Clone, Default)]
pub struct BotLinkChanges {
    pub license: Option<Option<String>>,
    pub proxy: Option<Option<String>>,
    pub subscriptions: Option<Vec<String>>,
}

impl BotLinkChanges {
    pub fn is_empty(&self) -> bool {
        self.license.is_none() && self.proxy.is_none() && self.subscriptions.is_none()
    }
}

/// The expiry of one resource a bot holds.
#[derive(Debug, Clone, Copy)]
pub struct HeldResource {
    pub kind: ResourceKind,
    pub expiry: ExpiryStatus,
}

/// How a bot reference that does not exist is reported.
#[derive(Debug, Clone, Copy)]
enum MissingBot {
    /// A field of the body: 400 with the field's name.
    Field(&'static str),
    /// The target of the action: 404 `BOT_NOT_FOUND`.
    NotFound,
}

pub struct ResourcesService {
    store: ResourceStore,
    bots: Arc<dyn BotDirectory>,
    warning_days: u32,
}

fn kind_of(raw: &str) -> ResourceKind {
    ResourceKind::parse(raw).unwrap_or(ResourceKind::Licenses)
}

fn not_found(kind: ResourceKind, id: &str) -> ApiError {
    ApiError::not_found(
        RESOURCE_NOT_FOUND,
        format!("No {} with id {id:?}", kind.as_str().trim_end_matches('s')),
    )
}

fn empty_payload(code: &'static str) -> ApiError {
    let mut fields = FieldErrors::new();
    fields.insert(
        "_".into(),
        vec!["Payload must contain at least one field".into()],
    );
    ApiError::invalid_fields(code, &fields)
}

fn concurrent_update() -> ApiError {
    ApiError::conflict(
        RESOURCE_CONCURRENT_UPDATE,
        "The resource was changed by another request; reload and retry",
    )
}

/// Trimmed, `None` when blank.
fn clean(v: &str) -> Option<String> {
    let t = v.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Applies a nullable text patch.
fn patch_text(slot: &mut Option<String>, v: &Option<Option<String>>) {
    if let Some(v) = v {
        *slot = v.as_deref().and_then(clean);
    }
}

fn unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

fn assignment_conflict(
    kind: ResourceKind,
    resource_id: &str,
    bot_id: &str,
    message: String,
) -> ApiError {
    ApiError::conflict(RESOURCE_ASSIGNMENT_CONFLICT, message).with_details(json!({
        "kind": kind.as_str(),
        "resource_id": resource_id,
        "bot_id": bot_id,
    }))
}

fn singular(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Licenses => "license",
        ResourceKind::Proxies => "proxy",
        ResourceKind::Subscriptions => "subscription",
    }
}

impl ResourcesService {
    pub fn new(store: ResourceStore, bots: Arc<dyn BotDirectory>, warning_days: u32) -> Self {
        Self {
            store,
            bots,
            warning_days,
        }
    }

    pub fn warning_days(&self) -> u32 {
        self.warning_days
    }

    pub fn clock(&self) -> ExpiryClock {
        ExpiryClock {
            now: now_ms(),
            warning_days: self.warning_days,
        }
    }

    // ---- records ----

    fn record(
        &self,
        m: &resource::Model,
        bots: Vec<String>,
        clock: ExpiryClock,
        reveal_secrets: bool,
    ) -> ResourceRecord {
        let days = m.expires_at.map(|t| days_left(t, clock.now));
        let expiry_status = clock.status(m.expires_at);
        match kind_of(&m.kind) {
            ResourceKind::Licenses => ResourceRecord::License(LicenseRecord {
                id: m.id.clone(),
                key: m.license_key.clone().unwrap_or_default(),
                r#type: m.resource_type.clone(),
                status: m.status.clone(),
                expires_at: opt_rfc3339(m.expires_at),
                days_left: days,
                expiry_status,
                bot_ids: bots,
                notes: m.notes.clone(),
                created_at: to_rfc3339(m.created_at),
                updated_at: to_rfc3339(m.updated_at),
            }),
            ResourceKind::Proxies => ResourceRecord::Proxy(ProxyRecord {
                id: m.id.clone(),
                host: m.host.clone().unwrap_or_default(),
                ip: m.ip.clone(),
                port: m
                    .port
                    .and_then(|p| u32::try_from(p).ok())
                    .unwrap_or_default(),
                r#type: m.resource_type.clone().unwrap_or_else(|| "socks5".into()),
                username: m.username.clone(),
                password: m.password.as_ref().map(|p| {
                    if reveal_secrets {
                        p.clone()
                    } else {
                        SECRET_MASK.to_owned()
                    }
                }),
                provider: m.provider.clone(),
                country: m.country.clone(),
                country_code: m.country_code.clone(),
                status: m.status.clone(),
                fraud_score: m.fraud_score.and_then(|s| u8::try_from(s).ok()),
                ipqs: m
                    .ipqs
                    .as_deref()
                    .and_then(|raw| serde_json::from_str::<IpqsResult>(raw).ok()),
                last_checked: opt_rfc3339(m.last_checked),
                expires_at: opt_rfc3339(m.expires_at),
                days_left: days,
                expiry_status,
                bot_id: bots.into_iter().next(),
                notes: m.notes.clone(),
                created_at: to_rfc3339(m.created_at),
                updated_at: to_rfc3339(m.updated_at),
            }),
            ResourceKind::Subscriptions => ResourceRecord::Subscription(SubscriptionRecord {
                id: m.id.clone(),
                r#type: m.resource_type.clone().unwrap_or_else(|| "wow".into()),
                service: m.service.clone(),
                price: m.price_cents.map(|c| c as f64 / 100.0),
                currency: m.currency.clone(),
                period: m.period.clone(),
                status: m.status.clone(),
                expires_at: opt_rfc3339(m.expires_at),
                days_left: days,
                expiry_status,
                auto_renew: m.auto_renew,
                account_email: m.account_email.clone(),
                project_id: m.project_id.clone(),
                bot_id: bots.into_iter().next(),
                notes: m.notes.clone(),
                created_at: to_rfc3339(m.created_at),
                updated_at: to_rfc3339(m.updated_at),
            }),
        }
    }

    async fn records<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &str,
        kind: ResourceKind,
        rows: &[resource::Model],
        reveal_secrets: bool,
    ) -> ApiResult<Vec<ResourceRecord>> {
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut bots: HashMap<String, Vec<String>> = HashMap::new();
        for link in ResourceStore::links_of_resources(conn, tenant, kind.as_str(), &ids).await? {
            bots.entry(link.resource_id).or_default().push(link.bot_id);
        }
        let clock = self.clock();
        Ok(rows
            .iter()
            .map(|m| {
                let linked = bots.remove(&m.id).unwrap_or_default();
                self.record(m, linked, clock, reveal_secrets)
            })
            .collect())
    }

    async fn one_record<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &str,
        kind: ResourceKind,
        row: &resource::Model,
        reveal_secrets: bool,
    ) -> ApiResult<ResourceRecord> {
        let mut all = self
            .records(
                conn,
                tenant,
                kind,
                std::slice::from_ref(row),
                reveal_secrets,
            )
            .await?;
        all.pop()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("record of a loaded row vanished")))
    }

    // ---- reads ----

    pub async fn get(
        &self,
        p: &Principal,
        kind: ResourceKind,
        id: &str,
    ) -> ApiResult<ResourceRecord> {
        let conn = self.store.conn();
        let row = ResourceStore::get(conn, &p.tenant_id, kind.as_str(), id)
            .await?
            .ok_or_else(|| not_found(kind, id))?;
        self.one_record(conn, &p.tenant_id, kind, &row, p.is_privileged())
            .await
    }

    pub async fn list(
        &self,
        p: &Principal,
        kind: ResourceKind,
        query: &ResourceListQuery,
    ) -> ApiResult<(Vec<ResourceRecord>, ListMeta)> {
        let invalid = |field: &str, msg: String| {
            let mut fields = FieldErrors::new();
            fields.insert(field.to_owned(), vec![msg]);
            ApiError::invalid_fields(RESOURCES_INVALID_LIST_QUERY, &fields)
        };
        let page = PageRequest::from_query(&PageQuery {
            cursor: query.cursor.clone(),
            limit: query.limit,
        })
        .map_err(|_| invalid("cursor", "is not a cursor this server issued".into()))?;
        let after = match &page.after {
            Some(c) => Some((
                c.key.as_i64().ok_or_else(|| {
                    invalid("cursor", "is not a cursor this server issued".into())
                })?,
                c.id.clone(),
            )),
            None => None,
        };
        if let Some(s) = &query.status
            && !kind.statuses().contains(&s.as_str())
        {
            return Err(invalid(
                "status",
                format!("must be one of {}", kind.statuses().join("|")),
            ));
        }
        let clock = self.clock();
        let mut expiry = Vec::new();
        match query.expiry_status.as_deref().and_then(ExpiryStatus::parse) {
            Some(ExpiryStatus::Expired) => expiry.push(ExpiryBound::AtOrBefore(clock.now)),
            Some(ExpiryStatus::Expiring) => {
                expiry.push(ExpiryBound::After(clock.now));
                expiry.push(ExpiryBound::AtOrBefore(clock.warning_edge()));
            }
            Some(ExpiryStatus::Ok) => expiry.push(ExpiryBound::NoneOrAfter(clock.warning_edge())),
            None => {}
        }
        if let Some(days) = query.expiring_within_days {
            expiry.push(ExpiryBound::After(clock.now));
            expiry.push(ExpiryBound::AtOrBefore(
                clock.now + i64::from(days) * super::expiry::DAY_MS,
            ));
        }
        let filter = ListFilter {
            status: query.status.clone(),
            resource_type: query.r#type.as_deref().and_then(clean),
            q: query.q.as_deref().and_then(clean),
            expiry,
            assigned: query.assigned,
            bot_id: query.bot_id.clone(),
        };
        let rows = self
            .store
            .list(&p.tenant_id, kind.as_str(), &filter, &page, after)
            .await?;
        let (rows, meta) = page.finish(rows, |m| Cursor {
            key: json!(m.created_at),
            id: m.id.clone(),
        });
        let records = self
            .records(
                self.store.conn(),
                &p.tenant_id,
                kind,
                &rows,
                p.is_privileged(),
            )
            .await?;
        Ok((records, meta))
    }

    pub async fn stats(&self, p: &Principal) -> ApiResult<ResourceStats> {
        let clock = self.clock();
        let rows = self.store.expiry_rows(&p.tenant_id).await?;
        let assigned: BTreeSet<(String, String)> =
            ResourceStore::links_of_bots(self.store.conn(), &p.tenant_id, None)
                .await?
                .into_iter()
                .map(|l| (l.kind, l.resource_id))
                .collect();
        let mut per_kind: BTreeMap<ResourceKind, KindStats> = ResourceKind::ALL
            .into_iter()
            .map(|k| {
                let mut s = KindStats::default();
                for e in ["ok", "expiring", "expired"] {
                    s.by_expiry.insert(e.into(), 0);
                }
                for st in k.statuses() {
                    s.by_status.insert((*st).into(), 0);
                }
                (k, s)
            })
            .collect();
        for (kind, id, status, expires_at) in rows {
            let Some(k) = ResourceKind::parse(&kind) else {
                continue;
            };
            let s = per_kind.entry(k).or_default();
            s.total += 1;
            *s.by_expiry
                .entry(clock.status(expires_at).as_str().into())
                .or_default() += 1;
            *s.by_status.entry(status).or_default() += 1;
            if assigned.contains(&(kind, id)) {
                s.assigned += 1;
            } else {
                s.unassigned += 1;
            }
        }
        let mut take = |k| per_kind.remove(&k).unwrap_or_default();
        Ok(ResourceStats {
            licenses: take(ResourceKind::Licenses),
            proxies: take(ResourceKind::Proxies),
            subscriptions: take(ResourceKind::Subscriptions),
            warning_days: self.warning_days,
            generated_at: to_rfc3339(clock.now),
        })
    }

    // ---- writes ----

    pub async fn create(&self, p: &Principal, write: ResourceWrite) -> ApiResult<ResourceRecord> {
        let (kind, id, is_empty) = match &write {
            ResourceWrite::License(w) => (ResourceKind::Licenses, w.id.clone(), w.is_empty()),
            ResourceWrite::Proxy(w) => (ResourceKind::Proxies, w.id.clone(), w.is_empty()),
            ResourceWrite::Subscription(w) => {
                (ResourceKind::Subscriptions, w.id.clone(), w.is_empty())
            }
        };
        if is_empty {
            return Err(empty_payload(RESOURCES_INVALID_BODY));
        }
        let now = now_ms();
        let id = id.unwrap_or_else(|| Uuid::now_v7().to_string());
        let mut row = blank(&p.tenant_id, kind, &id, now);
        let links = apply(&mut row, &write)?;
        let txn = self.store.begin().await?;
        if ResourceStore::get(&txn, &p.tenant_id, kind.as_str(), &id)
            .await?
            .is_some()
        {
            return Err(already_exists(kind, &id));
        }
        ResourceStore::insert(&txn, row.clone())
            .await
            .map_err(|e| {
                if unique_violation(&e) {
                    already_exists(kind, &id)
                } else {
                    e.into()
                }
            })?;
        if let Some(bots) = links {
            self.set_resource_links(
                &txn,
                &p.tenant_id,
                kind,
                &id,
                bots,
                MissingBot::Field(link_field(kind)),
            )
            .await?;
        }
        let record = self
            .one_record(&txn, &p.tenant_id, kind, &row, p.is_privileged())
            .await?;
        txn.commit().await?;
        Ok(record)
    }

    pub async fn update(
        &self,
        p: &Principal,
        id: &str,
        mut write: ResourceWrite,
    ) -> ApiResult<ResourceRecord> {
        // The path names the resource; an id in the body is ignored.
        let (kind, is_empty) = match &mut write {
            ResourceWrite::License(w) => {
                w.id = None;
                (ResourceKind::Licenses, w.is_empty())
            }
            ResourceWrite::Proxy(w) => {
                w.id = None;
                (ResourceKind::Proxies, w.is_empty())
            }
            ResourceWrite::Subscription(w) => {
                w.id = None;
                (ResourceKind::Subscriptions, w.is_empty())
            }
        };
        if is_empty {
            return Err(empty_payload(RESOURCES_INVALID_BODY));
        }
        let txn = self.store.begin().await?;
        let mut row = ResourceStore::get_for_update(&txn, &p.tenant_id, kind.as_str(), id)
            .await?
            .ok_or_else(|| not_found(kind, id))?;
        let links = apply(&mut row, &write)?;
        row.version += 1;
        row.updated_at = now_ms();
        if !ResourceStore::update(&txn, row.clone()).await? {
            return Err(concurrent_update());
        }
        if let Some(bots) = links {
            self.set_resource_links(
                &txn,
                &p.tenant_id,
                kind,
                id,
                bots,
                MissingBot::Field(link_field(kind)),
            )
            .await?;
        }
        let record = self
            .one_record(&txn, &p.tenant_id, kind, &row, p.is_privileged())
            .await?;
        txn.commit().await?;
        Ok(record)
    }

    pub async fn delete(&self, p: &Principal, kind: ResourceKind, id: &str) -> ApiResult<Deleted> {
        // Assignments go with it (foreign key cascade).
        if !ResourceStore::delete(self.store.conn(), &p.tenant_id, kind.as_str(), id).await? {
            return Err(not_found(kind, id));
        }
        Ok(Deleted {
            id: id.to_owned(),
            deleted: true,
        })
    }

    /// Adds a bot to a license's bots, or makes it the only bot of a proxy or subscription.
    pub async fn assign(
        &self,
        p: &Principal,
        kind: ResourceKind,
        id: &str,
        bot_id: &str,
    ) -> ApiResult<ResourceRecord> {
        let txn = self.store.begin().await?;
        let row = ResourceStore::get_for_update(&txn, &p.tenant_id, kind.as_str(), id)
            .await?
            .ok_or_else(|| not_found(kind, id))?;
        let mut bots: Vec<String> = if kind.many_bots() {
            ResourceStore::links_of_resources(&txn, &p.tenant_id, kind.as_str(), &[id.to_owned()])
                .await?
                .into_iter()
                .map(|l| l.bot_id)
                .collect()
        } else {
            Vec::new()
        };
        if !bots.iter().any(|b| b == bot_id) {
            bots.push(bot_id.to_owned());
        }
        self.set_resource_links(&txn, &p.tenant_id, kind, id, bots, MissingBot::NotFound)
            .await?;
        let record = self
            .one_record(&txn, &p.tenant_id, kind, &row, p.is_privileged())
            .await?;
        txn.commit().await?;
        Ok(record)
    }

    /// Detaches one bot (or all bots) from a resource; the resource stays.
    pub async fn unassign(
        &self,
        p: &Principal,
        kind: ResourceKind,
        id: &str,
        bot_id: Option<&str>,
    ) -> ApiResult<ResourceRecord> {
        let conn = self.store.conn();
        let row = ResourceStore::get(conn, &p.tenant_id, kind.as_str(), id)
            .await?
            .ok_or_else(|| not_found(kind, id))?;
        ResourceStore::unlink_resource(conn, &p.tenant_id, kind.as_str(), id, bot_id).await?;
        self.one_record(conn, &p.tenant_id, kind, &row, p.is_privileged())
            .await
    }

    /// Makes `bots` exactly the bots of a resource.
    async fn set_resource_links(
        &self,
        conn: &DatabaseTransaction,
        tenant: &str,
        kind: ResourceKind,
        resource_id: &str,
        bots: Vec<String>,
        missing: MissingBot,
    ) -> ApiResult<()> {
        let mut wanted: Vec<String> = Vec::new();
        for b in bots {
            if !wanted.contains(&b) {
                wanted.push(b);
            }
        }
        let absent = self.bots.missing_bots(conn, tenant, &wanted).await?;
        if let Some(first) = absent.first() {
            return Err(match missing {
                MissingBot::NotFound => ApiError::not_found(
                    crate::bots::BOT_NOT_FOUND,
                    format!("No bot with id {first:?}"),
                ),
                MissingBot::Field(field) => {
                    let mut fields = FieldErrors::new();
                    fields.insert(
                        field.to_owned(),
                        absent
                            .iter()
                            .map(|b| format!("no bot {b:?} in your tenant"))
                            .collect(),
                    );
                    ApiError::invalid_fields(RESOURCES_INVALID_BODY, &fields)
                }
            });
        }
        let current: Vec<String> = ResourceStore::links_of_resources(
            conn,
            tenant,
            kind.as_str(),
            &[resource_id.to_owned()],
        )
        .await?
        .into_iter()
        .map(|l| l.bot_id)
        .collect();
        let added: Vec<String> = wanted
            .iter()
            .filter(|b| !current.contains(b))
            .cloned()
            .collect();
        if !kind.many_per_bot() && !added.is_empty() {
            // A bot holds one license / one proxy: a bot that already has another is refused.
            let held = ResourceStore::links_of_bots(conn, tenant, Some(&added)).await?;
            if let Some(other) = held
                .iter()
                .find(|l| l.kind == kind.as_str() && l.resource_id != resource_id)
            {
                return Err(assignment_conflict(
                    kind,
                    &other.resource_id,
                    &other.bot_id,
                    format!(
                        "Bot {:?} already has {} {:?}; unassign it first",
                        other.bot_id,
                        singular(kind),
                        other.resource_id
                    ),
                ));
            }
        }
        for b in current.iter().filter(|b| !wanted.contains(b)) {
            ResourceStore::unlink_resource(conn, tenant, kind.as_str(), resource_id, Some(b))
                .await?;
        }
        for b in added {
            self.insert_link(conn, tenant, kind, resource_id, &b)
                .await?;
        }
        Ok(())
    }

    async fn insert_link<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &str,
        kind: ResourceKind,
        resource_id: &str,
        bot_id: &str,
    ) -> ApiResult<()> {
        let row = assignment::Model {
            tenant_id: tenant.to_owned(),
            kind: kind.as_str().to_owned(),
            resource_id: resource_id.to_owned(),
            bot_id: bot_id.to_owned(),
            resource_slot: (!kind.many_bots()).then(|| resource_id.to_owned()),
            bot_slot: (!kind.many_per_bot()).then(|| bot_id.to_owned()),
            assigned_at: now_ms(),
        };
        ResourceStore::link(conn, row).await.map_err(|e| {
            if unique_violation(&e) {
                // Lost a race with a concurrent assignment.
                assignment_conflict(
                    kind,
                    resource_id,
                    bot_id,
                    format!(
                        "The {} or the bot was assigned concurrently; reload and retry",
                        singular(kind)
                    ),
                )
            } else {
                e.into()
            }
        })
    }

    // ---- used by the bots domain ----

    /// The resources each of these bots holds.
    pub async fn links_for_bots(
        &self,
        tenant: &str,
        bot_ids: &[String],
    ) -> ApiResult<HashMap<String, BotLinks>> {
        self.links_for_bots_in(self.store.conn(), tenant, bot_ids)
            .await
    }

    pub async fn links_for_bots_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &str,
        bot_ids: &[String],
    ) -> ApiResult<HashMap<String, BotLinks>> {
        let mut out: HashMap<String, BotLinks> = HashMap::new();
        for l in ResourceStore::links_of_bots(conn, tenant, Some(bot_ids)).await? {
            let entry = out.entry(l.bot_id).or_default();
            match kind_of(&l.kind) {
                ResourceKind::Licenses => entry.license_id = Some(l.resource_id),
                ResourceKind::Proxies => entry.proxy_id = Some(l.resource_id),
                ResourceKind::Subscriptions => entry.subscription_ids.push(l.resource_id),
            }
        }
        Ok(out)
    }

    /// Every bot's held resources with their expiry, for the fleet summary.
    pub async fn held_by_bots(
        &self,
        tenant: &str,
        clock: ExpiryClock,
    ) -> ApiResult<HashMap<String, Vec<HeldResource>>> {
        let expiry: HashMap<(String, String), Option<i64>> = self
            .store
            .expiry_rows(tenant)
            .await?
            .into_iter()
            .map(|(kind, id, _, exp)| ((kind, id), exp))
            .collect();
        let mut out: HashMap<String, Vec<HeldResource>> = HashMap::new();
        for l in ResourceStore::links_of_bots(self.store.conn(), tenant, None).await? {
            let expires_at = expiry
                .get(&(l.kind.clone(), l.resource_id.clone()))
                .copied()
                .flatten();
            out.entry(l.bot_id).or_default().push(HeldResource {
                kind: kind_of(&l.kind),
                expiry: clock.status(expires_at),
            });
        }
        Ok(out)
    }

    /// Applies a bot's link changes inside the caller's transaction. Unknown resources are
    /// reported as fields of the bot body (`code`); a proxy or subscription held by another
    /// bot is a 409.
    pub async fn set_bot_links<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &str,
        bot_id: &str,
        changes: &BotLinkChanges,
        code: &'static str,
    ) -> ApiResult<()> {
        let wanted: Vec<(&'static str, ResourceKind, Vec<String>)> = [
            (
                "license_id",
                ResourceKind::Licenses,
                changes
                    .license
                    .as_ref()
                    .map(|v| v.iter().cloned().collect()),
            ),
            (
                "proxy_id",
                ResourceKind::Proxies,
                changes.proxy.as_ref().map(|v| v.iter().cloned().collect()),
            ),
            (
                "subscription_ids",
                ResourceKind::Subscriptions,
                changes.subscriptions.as_ref().map(|v| {
                    let mut ids: Vec<String> = Vec::new();
                    for id in v {
                        if !ids.contains(id) {
                            ids.push(id.clone());
                        }
                    }
                    ids
                }),
            ),
        ]
        .into_iter()
        .filter_map(|(field, kind, ids)| ids.map(|ids| (field, kind, ids)))
        .collect();
        let mut errors = FieldErrors::new();
        for (field, kind, ids) in &wanted {
            let existing = ResourceStore::existing_ids(conn, tenant, kind.as_str(), ids).await?;
            for id in ids.iter().filter(|id| !existing.contains(id)) {
                errors
                    .entry((*field).to_owned())
                    .or_default()
                    .push(format!("no {} {id:?} in your tenant", singular(*kind)));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::invalid_fields(code, &errors));
        }
        for (_, kind, ids) in wanted {
            if !kind.many_bots() {
                // A proxy or subscription serves one bot: one held by another bot is refused.
                let held =
                    ResourceStore::links_of_resources(conn, tenant, kind.as_str(), &ids).await?;
                if let Some(other) = held.iter().find(|l| l.bot_id != bot_id) {
                    return Err(assignment_conflict(
                        kind,
                        &other.resource_id,
                        bot_id,
                        format!(
                            "{} {:?} is assigned to bot {:?}; unassign it first",
                            singular(kind),
                            other.resource_id,
                            other.bot_id
                        ),
                    ));
                }
            }
            ResourceStore::unlink_bot(conn, tenant, kind.as_str(), bot_id, &ids).await?;
            let have: Vec<String> =
                ResourceStore::links_of_bots(conn, tenant, Some(&[bot_id.to_owned()]))
                    .await?
                    .into_iter()
                    .filter(|l| l.kind == kind.as_str())
                    .map(|l| l.resource_id)
                    .collect();
            for id in ids.iter().filter(|id| !have.contains(id)) {
                self.insert_link(conn, tenant, kind, id, bot_id).await?;
            }
        }
        Ok(())
    }
}

fn already_exists(kind: ResourceKind, id: &str) -> ApiError {
    ApiError::conflict(
        RESOURCE_ALREADY_EXISTS,
        format!("A {} with id {id:?} already exists", singular(kind)),
    )
}

fn link_field(kind: ResourceKind) -> &'static str {
    if kind.many_bots() {
        "bot_ids"
    } else {
        "bot_id"
    }
}

fn blank(tenant: &str, kind: ResourceKind, id: &str, now: i64) -> resource::Model {
    resource::Model {
        tenant_id: tenant.to_owned(),
        kind: kind.as_str().to_owned(),
        id: id.to_owned(),
        status: kind.statuses()[0].to_owned(),
        resource_type: match kind {
            ResourceKind::Licenses => None,
            ResourceKind::Proxies => Some("socks5".into()),
            ResourceKind::Subscriptions => Some("wow".into()),
        },
        expires_at: None,
        notes: None,
        license_key: None,
        host: None,
        ip: None,
        username: None,
        password: None,
        provider: None,
        country: None,
        country_code: None,
        port: None,
        fraud_score: None,
        ipqs: None,
        last_checked: None,
        service: None,
        price_cents: None,
        currency: (kind == ResourceKind::Subscriptions).then(|| "USD".into()),
        period: None,
        auto_renew: false,
        account_email: None,
        project_id: None,
        version: 0,
        created_at: now,
        updated_at: now,
    }
}

/// Merges a body into a row and checks the fields the kind requires. Returns the bots the
/// resource should serve when the body names them.
fn apply(m: &mut resource::Model, write: &ResourceWrite) -> ApiResult<Option<Vec<String>>> {
    let mut errors = FieldErrors::new();
    let links = match write {
        ResourceWrite::License(w) => apply_license(m, w, &mut errors),
        ResourceWrite::Proxy(w) => apply_proxy(m, w, &mut errors),
        ResourceWrite::Subscription(w) => apply_subscription(m, w),
    };
    if errors.is_empty() {
        Ok(links)
    } else {
        Err(ApiError::invalid_fields(RESOURCES_INVALID_BODY, &errors))
    }
}

fn apply_common(
    m: &mut resource::Model,
    status: &Option<String>,
    expires_at: &Option<Option<botmox_contract::fields::Timestamp>>,
    notes: &Option<Option<String>>,
) {
    if let Some(s) = status {
        m.status = s.clone();
    }
    if let Some(e) = expires_at {
        m.expires_at = e.map(|t| t.ms());
    }
    patch_text(&mut m.notes, notes);
}

fn apply_license(
    m: &mut resource::Model,
    w: &LicenseWrite,
    errors: &mut FieldErrors,
) -> Option<Vec<String>> {
    if let Some(k) = &w.key {
        m.license_key = clean(k);
    }
    patch_text(&mut m.resource_type, &w.r#type);
    apply_common(m, &w.status, &w.expires_at, &w.notes);
    if m.license_key.is_none() {
        errors
            .entry("key".into())
            .or_default()
            .push("is required".into());
    }
    w.bot_ids.as_ref().map(|b| b.clone().unwrap_or_default())
}

fn apply_proxy(
    m: &mut resource::Model,
    w: &ProxyWrite,
    errors: &mut FieldErrors,
) -> Option<Vec<String>> {
    patch_text(&mut m.host, &w.host);
    patch_text(&mut m.ip, &w.ip);
    if let Some(port) = w.port {
        m.port = i32::try_from(port).ok();
    }
    if let Some(t) = &w.r#type {
        m.resource_type = Some(t.to_ascii_lowercase());
    }
    patch_text(&mut m.username, &w.username);
    match &w.password {
        // The mask a non-admin reader was given: keep what is stored.
        Some(Some(p)) if p == SECRET_MASK => {}
        // Passwords are kept verbatim (spaces may be part of them).
        Some(p) => m.password = p.clone().filter(|p| !p.is_empty()),
        None => {}
    }
    patch_text(&mut m.provider, &w.provider);
    patch_text(&mut m.country, &w.country);
    patch_text(&mut m.country_code, &w.country_code);
    m.country_code = m.country_code.as_ref().map(|c| c.to_ascii_uppercase());
    if let Some(score) = w.fraud_score {
        m.fraud_score = score.map(i32::from);
    }
    if let Some(ipqs) = &w.ipqs {
        m.ipqs = ipqs.as_ref().and_then(|r| serde_json::to_string(r).ok());
        if w.fraud_score.is_none()
            && let Some(score) = ipqs.as_ref().and_then(|r| r.fraud_score)
        {
            m.fraud_score = Some(i32::from(score));
        }
    }
    if let Some(t) = w.last_checked {
        m.last_checked = t.map(|t| t.ms());
    }
    apply_common(m, &w.status, &w.expires_at, &w.notes);
    if m.host.is_none() {
        m.host = m.ip.clone();
    }
    if m.host.is_none() {
        errors
            .entry("host".into())
            .or_default()
            .push("host or ip is required".into());
    }
    if m.port.is_none() {
        errors
            .entry("port".into())
            .or_default()
            .push("is required".into());
    }
    w.bot_id.as_ref().map(|b| b.iter().cloned().collect())
}

fn apply_subscription(m: &mut resource::Model, w: &SubscriptionWrite) -> Option<Vec<String>> {
    if let Some(t) = &w.r#type {
        m.resource_type = Some(t.clone());
    }
    patch_text(&mut m.service, &w.service);
    if let Some(price) = w.price {
        m.price_cents = price.map(|p| (p * 100.0).round() as i64);
    }
    patch_text(&mut m.currency, &w.currency);
    m.currency = m.currency.as_ref().map(|c| c.to_ascii_uppercase());
    patch_text(&mut m.period, &w.period);
    if let Some(a) = w.auto_renew {
        m.auto_renew = a;
    }
    patch_text(&mut m.account_email, &w.account_email);
    patch_text(&mut m.project_id, &w.project_id);
    apply_common(m, &w.status, &w.expires_at, &w.notes);
    w.bot_id.as_ref().map(|b| b.iter().cloned().collect())
}
