//! `/projects`: every project with its bots counted by status, and `/projects/{id}`: the
//! project's bots table (status filter, search, cursor pages) with the create-bot form.
//! Projects are the configured ones (settings `projects`) plus any a bot names.

use super::kit::{self, FieldErrors, after_change, respond};
use crate::web::render::{self, WebError};
use crate::web::{Crumb, PageCtx, Shell};
use askama::Template;
use axum::extract::{Form, Path, Query};
use axum::response::Response;
use botmox_contract::bots::{BotCharacter, BotListQuery, BotRecord, BotStatus, BotWrite};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Bots read to count a project's statuses; beyond this the counts say so.
const COUNT_LIMIT: usize = 5000;
const PAGE: u32 = 25;

/// Every bot matching `project` (archived included), up to [`COUNT_LIMIT`].
pub async fn all_bots(
    ctx: &PageCtx,
    project: Option<&str>,
) -> Result<(Vec<BotRecord>, bool), WebError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let (rows, meta) = ctx
            .app
            .bots
            .list(
                &ctx.principal,
                &BotListQuery {
                    cursor: cursor.take(),
                    limit: Some(500),
                    project_id: project.map(str::to_owned),
                    include_archived: Some(true),
                    ..Default::default()
                },
            )
            .await?;
        out.extend(rows);
        match meta.next_cursor {
            Some(next) if out.len() < COUNT_LIMIT => cursor = Some(next),
            Some(_) => return Ok((out, true)),
            None => return Ok((out, false)),
        }
    }
}

/// Configured project names (settings `projects.<id>.name`).
pub async fn project_names(ctx: &PageCtx) -> Result<BTreeMap<String, String>, WebError> {
    let tree = ctx.app.settings.read(&ctx.principal, "projects").await?;
    let mut names = BTreeMap::new();
    if let Some(map) = tree.as_object() {
        for (id, v) in map {
            let name = v
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or(id)
                .to_owned();
            names.insert(id.clone(), name);
        }
    }
    Ok(names)
}

pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub total: usize,
    /// Counts in [`BotStatus::ALL`] order.
    pub counts: Vec<usize>,
}

#[derive(Template)]
#[template(path = "projects.html", blocks = ["content"])]
struct ProjectsPage {
    shell: Shell,
    statuses: Vec<&'static str>,
    rows: Vec<ProjectRow>,
    unassigned: usize,
    capped: bool,
    form: NewBot,
    errors: FieldErrors,
    notice: Option<(String, String)>,
}

impl ProjectsPage {
    fn e(&self, key: &str) -> String {
        kit::err_of(&self.errors, key)
    }
}

fn status_index(s: BotStatus) -> usize {
    BotStatus::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

async fn projects_view(
    ctx: &PageCtx,
    form: NewBot,
    errors: FieldErrors,
    notice: Option<(String, String)>,
) -> Result<Response, WebError> {
    let (bots, capped) = all_bots(ctx, None).await?;
    let names = project_names(ctx).await?;
    let mut rows: BTreeMap<String, ProjectRow> = names
        .iter()
        .map(|(id, name)| {
            (
                id.clone(),
                ProjectRow {
                    id: id.clone(),
                    name: name.clone(),
                    total: 0,
                    counts: vec![0; BotStatus::ALL.len()],
                },
            )
        })
        .collect();
    let mut unassigned = 0;
    for b in &bots {
        let Some(pid) = &b.project_id else {
            unassigned += 1;
            continue;
        };
        let row = rows.entry(pid.clone()).or_insert_with(|| ProjectRow {
            id: pid.clone(),
            name: pid.clone(),
            total: 0,
            counts: vec![0; BotStatus::ALL.len()],
        });
        row.total += 1;
        row.counts[status_index(b.status)] += 1;
    }
    let shell = ctx
        .shell(
            "Projects",
            vec![Crumb::here("Bots"), Crumb::here("Projects")],
        )
        .await;
    respond!(
        ctx,
        ProjectsPage {
            shell,
            statuses: BotStatus::ALL.iter().map(|s| s.as_str()).collect(),
            rows: rows.into_values().collect(),
            unassigned,
            capped,
            form,
            errors,
            notice,
        }
    )
}

pub async fn page(ctx: PageCtx) -> Result<Response, WebError> {
    projects_view(&ctx, NewBot::default(), FieldErrors::new(), None).await
}

/// The create-bot form (on the projects page and on each project's page).
#[derive(Deserialize, Default, Clone)]
pub struct NewBot {
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub character_name: String,
    #[serde(default)]
    pub server: String,
}

async fn create_bot(
    ctx: &PageCtx,
    form: &NewBot,
) -> Result<Result<BotRecord, FieldErrors>, WebError> {
    let character = (kit::opt(&form.character_name).is_some() || kit::opt(&form.server).is_some())
        .then(|| BotCharacter {
            name: kit::opt(&form.character_name),
            server: kit::opt(&form.server),
            ..Default::default()
        });
    let write = BotWrite {
        name: Some(kit::opt(&form.name)),
        project_id: Some(kit::opt(&form.project_id)),
        status: kit::opt(&form.status),
        character: character.map(Some),
        ..Default::default()
    };
    let write = match kit::check_input(write) {
        Ok(w) => w,
        Err(e) => return Ok(Err(e)),
    };
    match ctx.app.bots.create(&ctx.principal, write).await {
        Ok(bot) => Ok(Ok(bot)),
        Err(err) => kit::field_errors(err).map(Err),
    }
}

pub async fn create(ctx: PageCtx, Form(form): Form<NewBot>) -> Result<Response, WebError> {
    match create_bot(&ctx, &form).await? {
        Ok(bot) => {
            let to = format!("/bots/{}", bot.id);
            after_change!(
                ctx,
                to,
                projects_view(
                    &ctx,
                    NewBot::default(),
                    FieldErrors::new(),
                    Some((to.clone(), bot_label(&bot)))
                )
                .await
            )
        }
        Err(errors) => projects_view(&ctx, form, errors, None).await,
    }
}

/// How a bot is named in links: its name, else its character, else its short id.
pub fn bot_label(b: &BotRecord) -> String {
    b.name
        .clone()
        .or_else(|| b.character.as_ref().and_then(|c| c.name.clone()))
        .unwrap_or_else(|| kit::short(&b.id).to_owned())
}

// ---- one project ----

#[derive(Deserialize, Default)]
pub struct BotFilter {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    cursor: String,
}

pub struct BotRow {
    pub id: String,
    pub short: String,
    pub label: String,
    pub status: &'static str,
    pub character: String,
    pub vm: String,
    pub license: bool,
    pub proxy: bool,
    pub subscriptions: usize,
}

#[derive(Template)]
#[template(path = "project.html", blocks = ["content"])]
struct ProjectPage {
    shell: Shell,
    id: String,
    statuses: Vec<(&'static str, usize, bool)>,
    total: usize,
    capped: bool,
    q: String,
    rows: Vec<BotRow>,
    next: Option<String>,
    first_page: bool,
    form: NewBot,
    errors: FieldErrors,
    notice: Option<(String, String)>,
}

impl ProjectPage {
    fn e(&self, key: &str) -> String {
        kit::err_of(&self.errors, key)
    }
}

fn row_of(b: BotRecord) -> BotRow {
    let character = b
        .character
        .as_ref()
        .map(|c| {
            let mut s = c.name.clone().unwrap_or_default();
            if let Some(l) = c.level {
                s.push_str(&format!(" ({l})"));
            }
            if let Some(srv) = &c.server {
                s.push_str(&format!(" · {srv}"));
            }
            s
        })
        .unwrap_or_default();
    BotRow {
        short: kit::short(&b.id).to_owned(),
        label: bot_label(&b),
        status: b.status.as_str(),
        character,
        vm: b
            .vm
            .as_ref()
            .and_then(|v| v.name.clone())
            .unwrap_or_default(),
        license: b.license_id.is_some(),
        proxy: b.proxy_id.is_some(),
        subscriptions: b.subscription_ids.len(),
        id: b.id,
    }
}

async fn project_view(
    ctx: &PageCtx,
    id: &str,
    filter: &BotFilter,
    form: NewBot,
    errors: FieldErrors,
    notice: Option<(String, String)>,
) -> Result<Response, WebError> {
    let (all, capped) = all_bots(ctx, Some(id)).await?;
    let mut counts = vec![0usize; BotStatus::ALL.len()];
    for b in &all {
        counts[status_index(b.status)] += 1;
    }
    let status = kit::opt(&filter.status);
    let query = render::validated(BotListQuery {
        cursor: kit::opt(&filter.cursor),
        limit: Some(PAGE),
        project_id: Some(id.to_owned()),
        status: status.clone(),
        q: kit::opt(&filter.q),
        include_archived: None,
    })?;
    let (rows, meta) = ctx.app.bots.list(&ctx.principal, &query).await?;
    let names = project_names(ctx).await?;
    let name = names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let shell = ctx
        .shell(
            &name,
            vec![
                Crumb::here("Bots"),
                Crumb::link("Projects", "/projects"),
                Crumb::here(name.clone()),
            ],
        )
        .await;
    let form = NewBot {
        project_id: id.to_owned(),
        ..form
    };
    respond!(
        ctx,
        ProjectPage {
            shell,
            id: id.to_owned(),
            statuses: BotStatus::ALL
                .iter()
                .zip(counts)
                .map(|(s, n)| (s.as_str(), n, status.as_deref() == Some(s.as_str())))
                .collect(),
            total: all.len(),
            capped,
            q: filter.q.clone(),
            rows: rows.into_iter().map(row_of).collect(),
            next: meta.next_cursor,
            first_page: filter.cursor.is_empty(),
            form,
            errors,
            notice,
        }
    )
}

pub async fn project(
    ctx: PageCtx,
    Path(id): Path<String>,
    Query(filter): Query<BotFilter>,
) -> Result<Response, WebError> {
    project_view(
        &ctx,
        &id,
        &filter,
        NewBot::default(),
        FieldErrors::new(),
        None,
    )
    .await
}

pub async fn create_in_project(
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(mut form): Form<NewBot>,
) -> Result<Response, WebError> {
    form.project_id = id.clone();
    match create_bot(&ctx, &form).await? {
        Ok(bot) => {
            let to = format!("/bots/{}", bot.id);
            after_change!(
                ctx,
                to,
                project_view(
                    &ctx,
                    &id,
                    &BotFilter::default(),
                    NewBot::default(),
                    FieldErrors::new(),
                    Some((to.clone(), bot_label(&bot)))
                )
                .await
            )
        }
        Err(errors) => project_view(&ctx, &id, &BotFilter::default(), form, errors, None).await,
    }
}

/// Deletes a bot from its project's table (its resources stay, unassigned).
pub async fn delete_bot(
    ctx: PageCtx,
    Path((id, bot)): Path<(String, String)>,
) -> Result<Response, WebError> {
    ctx.app.bots.delete(&ctx.principal, &bot).await?;
    after_change!(
        ctx,
        format!("/projects/{id}"),
        project_view(
            &ctx,
            &id,
            &BotFilter::default(),
            NewBot::default(),
            FieldErrors::new(),
            None
        )
        .await
    )
}
