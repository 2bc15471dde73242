//! `/bots/{id}`: one bot with tabs Summary (status, health, lifecycle log and actions),
//! Configure (account, person, character, weekly schedule), Resources (attach and detach
//! license, proxy, subscriptions) and VM info. Every change goes through the bots and
//! resources services; their validation messages are shown beside the fields.

use super::kit::{self, FieldErrors, after_change, respond};
use super::resources::{ResView, view_of};
use crate::web::render::WebError;
use crate::web::{Crumb, PageCtx, Shell};
use askama::Template;
use axum::extract::{Form, Path, Query};
use axum::response::Response;
use botmox_contract::bots::{
    ArchiveRequest, BAN_MECHANISMS, BanRequest, BotAccount, BotCharacter, BotLifecycle, BotPerson,
    BotRecord, BotStatus, BotWrite, ScheduleDayInput, ScheduleInput, ScheduleSessionInput,
    TimeWindow, TransitionRequest,
};
use botmox_contract::fields::SECRET_MASK;
use botmox_contract::resources::{ExpiryStatus, ResourceKind, ResourceListQuery};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

const TABS: [(&str, &str); 4] = [
    ("summary", "Summary"),
    ("configure", "Configure"),
    ("resources", "Resources"),
    ("vm", "VM info"),
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
/// Empty session rows offered per day for new sessions.
const BLANK_ROWS: usize = 2;

#[derive(Deserialize, Default)]
pub struct TabQuery {
    #[serde(default)]
    tab: String,
}

pub struct SessionRow {
    pub idx: usize,
    pub id: String,
    pub start: String,
    pub end: String,
    pub enabled: bool,
    pub error: String,
}

pub struct DayView {
    pub day: usize,
    pub name: &'static str,
    pub enabled: bool,
    /// The day's sessions on a 24-hour bar (inline SVG).
    pub timeline: String,
    pub rows: Vec<SessionRow>,
    pub error: String,
}

pub struct Health {
    pub level: &'static str,
    pub text: String,
}

#[derive(Template)]
#[template(path = "bot.html", blocks = ["content"])]
struct BotPage {
    shell: Shell,
    bot: BotRecord,
    tab: &'static str,
    tabs: Vec<(&'static str, &'static str, bool)>,
    label: String,
    notice: Option<String>,
    errors: FieldErrors,
    health: Vec<Health>,
    lifecycle: Option<BotLifecycle>,
    mechanisms: Vec<&'static str>,
    live: Vec<&'static str>,
    // configure
    account: BotAccount,
    password_set: bool,
    /// Sections with blanks: person (all seven fields), account (e-mail and password),
    /// character (name, server, faction, race, class).
    incomplete: Vec<&'static str>,
    person: BotPerson,
    character: BotCharacter,
    timezone: String,
    window_start: String,
    window_end: String,
    days: Vec<DayView>,
    sections: Vec<ResSection>,
}

/// One kind on the Resources tab: what the bot holds and what could be attached.
pub struct ResSection {
    pub kind: &'static str,
    pub title: &'static str,
    pub singular: &'static str,
    pub items: Vec<ResView>,
    pub free: Vec<ResView>,
    /// Several of this kind per bot (subscriptions), else one.
    pub many: bool,
}

impl BotPage {
    fn e(&self, key: &str) -> String {
        kit::err_of(&self.errors, key)
    }
}

fn tab_of(raw: &str) -> &'static str {
    TABS.iter()
        .map(|(t, _)| *t)
        .find(|t| *t == raw)
        .unwrap_or("summary")
}

async fn resources_of(
    ctx: &PageCtx,
    kind: ResourceKind,
    q: ResourceListQuery,
) -> Result<Vec<ResView>, WebError> {
    let (rows, _) = ctx
        .app
        .resources
        .list(
            &ctx.principal,
            kind,
            &ResourceListQuery {
                limit: Some(500),
                ..q
            },
        )
        .await?;
    Ok(rows.iter().map(view_of).collect())
}

/// Form values to show again after a refused save (what the operator typed), else the bot's.
#[derive(Default)]
struct Typed {
    schedule: Option<HashMap<String, String>>,
}

fn schedule_days(bot: &BotRecord, typed: &Typed, errors: &FieldErrors) -> Vec<DayView> {
    (0..7)
        .map(|d| {
            let key = d.to_string();
            let (enabled, mut rows): (bool, Vec<SessionRow>) = match &typed.schedule {
                Some(form) => {
                    let enabled = kit::checked(&form.get(&format!("d{d}_enabled")).cloned());
                    let rows = (0..)
                        .map_while(|i| {
                            let start = form.get(&format!("d{d}_s{i}_start"))?;
                            Some(SessionRow {
                                idx: i,
                                id: form
                                    .get(&format!("d{d}_s{i}_id"))
                                    .cloned()
                                    .unwrap_or_default(),
                                start: start.clone(),
                                end: form
                                    .get(&format!("d{d}_s{i}_end"))
                                    .cloned()
                                    .unwrap_or_default(),
                                enabled: kit::checked(
                                    &form.get(&format!("d{d}_s{i}_enabled")).cloned(),
                                ),
                                error: String::new(),
                            })
                        })
                        .filter(|r| !(r.start.is_empty() && r.end.is_empty()))
                        .collect();
                    (enabled, rows)
                }
                None => {
                    let day = bot.schedule.as_ref().and_then(|s| s.days.get(&key));
                    let rows = day
                        .map(|day| {
                            day.sessions
                                .iter()
                                .enumerate()
                                .map(|(i, s)| SessionRow {
                                    idx: i,
                                    id: s.id.clone(),
                                    start: s.start.clone(),
                                    end: s.end.clone(),
                                    enabled: s.enabled,
                                    error: String::new(),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    (day.is_some_and(|d| d.enabled), rows)
                }
            };
            // The service names sessions by their index among the submitted ones.
            for (n, row) in rows.iter_mut().enumerate() {
                let base = format!("days.{d}.sessions.{n}");
                let mut msgs: Vec<String> = Vec::new();
                for (k, v) in errors {
                    if k == &base || k.starts_with(&format!("{base}.")) {
                        msgs.extend(v.iter().cloned());
                    }
                }
                row.error = msgs.join("; ");
                row.idx = n;
            }
            let next = rows.len();
            for i in 0..BLANK_ROWS {
                rows.push(SessionRow {
                    idx: next + i,
                    id: String::new(),
                    start: String::new(),
                    end: String::new(),
                    enabled: true,
                    error: String::new(),
                });
            }
            let day_key = format!("days.{d}");
            let error = errors
                .iter()
                .filter(|(k, _)| *k == &day_key || *k == &format!("{day_key}.sessions"))
                .flat_map(|(_, v)| v.iter().cloned())
                .collect::<Vec<_>>()
                .join("; ");
            DayView {
                day: d,
                name: DAYS[d],
                timeline: timeline(DAYS[d], &rows),
                enabled,
                rows,
                error,
            }
        })
        .collect()
}

fn minutes(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.split_once(':')?;
    let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// A day's sessions as blocks on a 24-hour scale; a session past midnight is drawn to the
/// end of the day (its remainder belongs to the next).
fn timeline(day: &str, rows: &[SessionRow]) -> String {
    use std::fmt::Write;
    const W: f64 = 288.0;
    let mut out = format!(
        r#"<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} 14" role="img" aria-label="{day} sessions">"#
    );
    for h in (0..=24).step_by(6) {
        let x = W * f64::from(h) / 24.0;
        let _ = write!(
            out,
            r#"<line class="tick" x1="{x}" y1="0" x2="{x}" y2="14"/>"#
        );
    }
    for r in rows {
        let (Some(a), Some(b)) = (minutes(&r.start), minutes(&r.end)) else {
            continue;
        };
        let end = if b > a { b } else { 24 * 60 };
        let x = W * f64::from(a) / 1440.0;
        let w = W * f64::from(end - a) / 1440.0;
        let class = if r.enabled { "on" } else { "off" };
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{x:.1}" y="2" width="{w:.1}" height="10" rx="2"><title>{}–{}</title></rect>"#,
            r.start, r.end
        );
    }
    out.push_str("</svg>");
    out
}

async fn view(
    ctx: &PageCtx,
    id: &str,
    tab: &'static str,
    notice: Option<String>,
    errors: FieldErrors,
    typed: Typed,
) -> Result<Response, WebError> {
    let bot = ctx.app.bots.get(&ctx.principal, id).await?;
    let label = super::projects::bot_label(&bot);
    let by_bot = || ResourceListQuery {
        bot_id: Some(bot.id.clone()),
        ..Default::default()
    };
    let license = resources_of(ctx, ResourceKind::Licenses, by_bot()).await?;
    let proxy = resources_of(ctx, ResourceKind::Proxies, by_bot()).await?;
    let subscriptions = resources_of(ctx, ResourceKind::Subscriptions, by_bot()).await?;
    let mut health = Vec::new();
    if bot.status == BotStatus::Banned {
        health.push(Health {
            level: "err",
            text: "The bot is banned".to_owned(),
        });
    }
    for (what, list) in [
        ("License", &license),
        ("Proxy", &proxy),
        ("Subscription", &subscriptions),
    ] {
        for r in list {
            match r.expiry {
                ExpiryStatus::Expired => health.push(Health {
                    level: "err",
                    text: format!("{what} {} expired", r.label),
                }),
                ExpiryStatus::Expiring => health.push(Health {
                    level: "warn",
                    text: format!(
                        "{what} {} expires in {} day(s)",
                        r.label,
                        r.days_left.unwrap_or(0)
                    ),
                }),
                ExpiryStatus::Ok => {}
            }
            if r.status == "banned" || r.status == "revoked" {
                health.push(Health {
                    level: "err",
                    text: format!("{what} {} is {}", r.label, r.status),
                });
            }
        }
        if list.is_empty() && bot.status.is_live() {
            health.push(Health {
                level: "warn",
                text: format!("No {} assigned", what.to_lowercase()),
            });
        }
    }
    let (free_licenses, free_proxies, free_subscriptions) = if tab == "resources" {
        let mine: Vec<&str> = license.iter().map(|l| l.id.as_str()).collect();
        let licenses = resources_of(ctx, ResourceKind::Licenses, ResourceListQuery::default())
            .await?
            .into_iter()
            .filter(|l| !mine.contains(&l.id.as_str()))
            .collect();
        let unassigned = || ResourceListQuery {
            assigned: Some(false),
            ..Default::default()
        };
        (
            licenses,
            resources_of(ctx, ResourceKind::Proxies, unassigned()).await?,
            resources_of(ctx, ResourceKind::Subscriptions, unassigned()).await?,
        )
    } else {
        Default::default()
    };
    let lifecycle = if tab == "summary" {
        Some(ctx.app.bots.lifecycle(&ctx.principal, id).await?)
    } else {
        None
    };
    let days = schedule_days(&bot, &typed, &errors);
    let schedule = bot.schedule.as_ref();
    let (window_start, window_end) = match &typed.schedule {
        Some(f) => (
            f.get("window_start").cloned().unwrap_or_default(),
            f.get("window_end").cloned().unwrap_or_default(),
        ),
        None => schedule
            .and_then(|s| s.allowed_windows.first())
            .map(|w| (w.start.clone(), w.end.clone()))
            .unwrap_or_default(),
    };
    let timezone = match &typed.schedule {
        Some(f) => f.get("timezone").cloned().unwrap_or_default(),
        None => schedule
            .map(|s| s.timezone.clone())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "UTC".to_owned()),
    };
    let mut crumbs = vec![Crumb::here("Bots")];
    match &bot.project_id {
        Some(p) => crumbs.push(Crumb::link(p.clone(), format!("/projects/{p}"))),
        None => crumbs.push(Crumb::link("Projects", "/projects")),
    }
    crumbs.push(Crumb::here(label.clone()));
    let shell = ctx.shell(&format!("Bot {label}"), crumbs).await;
    let account = bot.account.clone().unwrap_or_default();
    let person = bot.person.clone().unwrap_or_default();
    let character = bot.character.clone().unwrap_or_default();
    let mut incomplete = Vec::new();
    if [
        &person.first_name,
        &person.last_name,
        &person.birth_date,
        &person.country,
        &person.city,
        &person.address,
        &person.zip,
    ]
    .iter()
    .any(|v| v.is_none())
    {
        incomplete.push("person");
    }
    if account.email.is_none() || account.password.is_none() {
        incomplete.push("account");
    }
    if [
        &character.name,
        &character.server,
        &character.faction,
        &character.race,
        &character.class,
    ]
    .iter()
    .any(|v| v.is_none())
    {
        incomplete.push("character");
    }
    respond!(
        ctx,
        BotPage {
            shell,
            tab,
            tabs: TABS.iter().map(|(t, l)| (*t, *l, *t == tab)).collect(),
            label,
            notice,
            errors,
            health,
            lifecycle,
            mechanisms: BAN_MECHANISMS.to_vec(),
            live: BotStatus::LIVE.to_vec(),
            password_set: account.password.is_some(),
            account,
            person,
            character,
            incomplete,
            timezone,
            window_start,
            window_end,
            days,
            sections: vec![
                ResSection {
                    kind: "licenses",
                    title: "License",
                    singular: "license",
                    items: license,
                    free: free_licenses,
                    many: false,
                },
                ResSection {
                    kind: "proxies",
                    title: "Proxy",
                    singular: "proxy",
                    items: proxy,
                    free: free_proxies,
                    many: false,
                },
                ResSection {
                    kind: "subscriptions",
                    title: "Subscriptions",
                    singular: "subscription",
                    items: subscriptions,
                    free: free_subscriptions,
                    many: true,
                },
            ],
            bot,
        }
    )
}

pub async fn page(
    ctx: PageCtx,
    Path(id): Path<String>,
    Query(q): Query<TabQuery>,
) -> Result<Response, WebError> {
    view(
        &ctx,
        &id,
        tab_of(&q.tab),
        None,
        FieldErrors::new(),
        Typed::default(),
    )
    .await
}

/// The page again after a change (htmx), or a redirect to it.
async fn done(
    ctx: &PageCtx,
    id: &str,
    tab: &'static str,
    notice: &str,
) -> Result<Response, WebError> {
    after_change!(
        ctx,
        format!("/bots/{id}?tab={tab}"),
        view(
            ctx,
            id,
            tab,
            Some(notice.to_owned()),
            FieldErrors::new(),
            Typed::default()
        )
        .await
    )
}

// ---- lifecycle ----

#[derive(Deserialize)]
pub struct BanForm {
    #[serde(default)]
    ban_reason: String,
    #[serde(default)]
    ban_mechanism: String,
    #[serde(default)]
    ban_date: String,
}

pub async fn ban(
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<BanForm>,
) -> Result<Response, WebError> {
    let req = BanRequest {
        ban_date: kit::opt(&f.ban_date),
        ban_reason: f.ban_reason.trim().to_owned(),
        ban_mechanism: f.ban_mechanism,
        ban_timestamp: None,
    };
    let req = match kit::check_input(req) {
        Ok(r) => r,
        Err(errors) => {
            return view(&ctx, &id, "summary", None, errors, Typed::default()).await;
        }
    };
    ctx.app.bots.ban(&ctx.principal, &id, req).await?;
    done(
        &ctx,
        &id,
        "summary",
        "Bot banned and moved to the banned stage",
    )
    .await
}

pub async fn unban(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    ctx.app.bots.unban(&ctx.principal, &id).await?;
    done(&ctx, &id, "summary", "Ban lifted").await
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
}

pub async fn archive(
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, WebError> {
    let req = crate::web::render::validated(ArchiveRequest {
        reason: kit::opt(&f.reason),
    })?;
    ctx.app.bots.archive(&ctx.principal, &id, req).await?;
    done(&ctx, &id, "summary", "Bot archived").await
}

pub async fn unarchive(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    ctx.app.bots.unarchive(&ctx.principal, &id).await?;
    done(&ctx, &id, "summary", "Bot restored from the archive").await
}

#[derive(Deserialize)]
pub struct TransitionForm {
    #[serde(default)]
    status: String,
}

pub async fn transition(
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<TransitionForm>,
) -> Result<Response, WebError> {
    let req = crate::web::render::validated(TransitionRequest { status: f.status })?;
    ctx.app.bots.transition(&ctx.principal, &id, req).await?;
    done(&ctx, &id, "summary", "Status changed").await
}

// ---- configure ----

pub async fn configure(
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let current = ctx.app.bots.get(&ctx.principal, &id).await?;
    let mut write = BotWrite::default();
    let notice = match get("section") {
        "account" => {
            write.account = Some(Some(BotAccount {
                email: kit::opt(get("email")),
                // Blank keeps the stored password; it is never sent back to the browser.
                password: Some(match get("password") {
                    "" => SECRET_MASK.to_owned(),
                    p => p.to_owned(),
                }),
                bnet_created_at: current.account.as_ref().and_then(|a| a.bnet_created_at),
            }));
            "Account saved"
        }
        "person" => {
            write.person = Some(Some(BotPerson {
                first_name: kit::opt(get("first_name")),
                last_name: kit::opt(get("last_name")),
                birth_date: kit::opt(get("birth_date")),
                country: kit::opt(get("country")),
                city: kit::opt(get("city")),
                address: kit::opt(get("address")),
                zip: kit::opt(get("zip")),
            }));
            "Person saved"
        }
        "character" => {
            write.character = Some(Some(BotCharacter {
                name: kit::opt(get("character_name")),
                level: current.character.as_ref().and_then(|c| c.level),
                server: kit::opt(get("server")),
                faction: kit::opt(get("faction")),
                race: kit::opt(get("race")),
                class: kit::opt(get("class")),
            }));
            "Character saved"
        }
        "general" => {
            write.name = Some(kit::opt(get("name")));
            write.project_id = Some(kit::opt(get("project_id")));
            "Bot saved"
        }
        _ => {
            return Err(WebError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "Unknown section",
            ));
        }
    };
    let result = match kit::check_input(write) {
        Ok(w) => ctx
            .app
            .bots
            .update(&ctx.principal, &id, w)
            .await
            .map_err(kit::field_errors),
        Err(errors) => Err(Ok(errors)),
    };
    match result {
        Ok(_) => done(&ctx, &id, "configure", notice).await,
        Err(Ok(errors)) => view(&ctx, &id, "configure", None, errors, Typed::default()).await,
        Err(Err(web)) => Err(web),
    }
}

pub async fn schedule(
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let mut days = BTreeMap::new();
    for d in 0..7 {
        let mut sessions = Vec::new();
        for i in 0.. {
            let Some(start) = f.get(&format!("d{d}_s{i}_start")) else {
                break;
            };
            let end = f
                .get(&format!("d{d}_s{i}_end"))
                .cloned()
                .unwrap_or_default();
            if start.trim().is_empty() && end.trim().is_empty() {
                continue;
            }
            sessions.push(ScheduleSessionInput {
                id: f.get(&format!("d{d}_s{i}_id")).and_then(|s| kit::opt(s)),
                start: start.trim().to_owned(),
                end: end.trim().to_owned(),
                enabled: Some(kit::checked(&f.get(&format!("d{d}_s{i}_enabled")).cloned())),
                profile: None,
                kind: None,
            });
        }
        days.insert(
            d.to_string(),
            ScheduleDayInput {
                enabled: Some(kit::checked(&f.get(&format!("d{d}_enabled")).cloned())),
                sessions,
            },
        );
    }
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let allowed_windows = match (kit::opt(get("window_start")), kit::opt(get("window_end"))) {
        (None, None) => Vec::new(),
        (s, e) => vec![TimeWindow {
            start: s.unwrap_or_default(),
            end: e.unwrap_or_default(),
        }],
    };
    let input = ScheduleInput {
        version: None,
        timezone: kit::opt(get("timezone")),
        days,
        allowed_windows,
    };
    let result = match kit::check_input(input) {
        Ok(input) => ctx
            .app
            .bots
            .put_schedule(&ctx.principal, &id, input)
            .await
            .map_err(kit::field_errors),
        Err(errors) => Err(Ok(errors)),
    };
    match result {
        Ok(_) => done(&ctx, &id, "configure", "Schedule saved").await,
        Err(Ok(errors)) => {
            view(
                &ctx,
                &id,
                "configure",
                None,
                errors,
                Typed { schedule: Some(f) },
            )
            .await
        }
        Err(Err(web)) => Err(web),
    }
}

// ---- resources ----

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    resource_id: String,
}

fn kind_of(raw: &str) -> Result<ResourceKind, WebError> {
    ResourceKind::parse(raw)
        .ok_or_else(|| WebError::new(axum::http::StatusCode::BAD_REQUEST, "Unknown resource kind"))
}

pub async fn attach(
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<LinkForm>,
) -> Result<Response, WebError> {
    let kind = kind_of(&f.kind)?;
    if f.resource_id.trim().is_empty() {
        return Err(WebError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "Choose a resource to attach",
        ));
    }
    ctx.app
        .resources
        .assign(&ctx.principal, kind, f.resource_id.trim(), &id)
        .await?;
    done(&ctx, &id, "resources", "Resource attached").await
}

pub async fn detach(
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<LinkForm>,
) -> Result<Response, WebError> {
    let kind = kind_of(&f.kind)?;
    ctx.app
        .resources
        .unassign(&ctx.principal, kind, f.resource_id.trim(), Some(&id))
        .await?;
    done(&ctx, &id, "resources", "Resource detached").await
}
