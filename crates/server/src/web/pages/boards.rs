//! `/workspace/calendar` (a month grid of all-day events with their linked notes, plus the
//! missed and upcoming lists) and `/workspace/kanban` (three columns; a task moves forward
//! one column at a time or to any column from its edit form).

use super::kit::{self, FieldErrors, after_change, respond};
use crate::web::render::{self, WebError};
use crate::web::{Crumb, PageCtx, Shell};
use crate::workspace::WorkspaceService;
use askama::Template;
use axum::extract::{Form, Path, Query};
use axum::response::Response;
use botmox_contract::workspace::{
    CalendarEventCreateRequest, CalendarEventRecord, CalendarListQuery, KanbanListQuery,
    KanbanMoveRequest, KanbanStatus, KanbanTaskCreateRequest, KanbanTaskPatchRequest,
    KanbanTaskRecord, NoteListQuery,
};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

fn service(ctx: &PageCtx) -> WorkspaceService {
    WorkspaceService::new(ctx.app.db.clone())
}

// ---- calendar ----

#[derive(Deserialize, Default)]
pub struct MonthQuery {
    /// `YYYY-MM`; default the current month.
    #[serde(default)]
    month: String,
}

pub struct Cell {
    pub date: String,
    pub day: u32,
    pub in_month: bool,
    pub today: bool,
    pub events: Vec<CalendarEventRecord>,
}

#[derive(Template)]
#[template(path = "calendar.html", blocks = ["content"])]
struct CalendarPage {
    shell: Shell,
    month: String,
    title: String,
    prev: String,
    next: String,
    weeks: Vec<Vec<Cell>>,
    missed: Vec<CalendarEventRecord>,
    upcoming: Vec<CalendarEventRecord>,
    notes: Vec<(String, String)>,
    errors: FieldErrors,
    notice: Option<String>,
}

impl CalendarPage {
    fn e(&self, key: &str) -> String {
        kit::err_of(&self.errors, key)
    }

    fn note_title(&self, id: &str) -> String {
        self.notes
            .iter()
            .find(|(n, _)| n == id)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| "note".to_owned())
    }
}

/// The month asked for, else the current one; kept within the years the calendar stores
/// (epoch-ms times), so paging back and forth never reaches a refused range.
fn first_of_month(raw: &str) -> NaiveDate {
    let bound = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default();
    NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d")
        .unwrap_or_else(|_| Utc::now().date_naive().with_day(1).unwrap_or_default())
        .clamp(bound(1971, 1), bound(9998, 12))
}

async fn calendar_view(
    ctx: &PageCtx,
    month: &str,
    errors: FieldErrors,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let first = first_of_month(month);
    let today = Utc::now().date_naive();
    // Weeks start on Monday; the grid covers whole weeks around the month.
    let start = first - Duration::days(i64::from(first.weekday().num_days_from_monday()));
    let next_month = (first + Duration::days(32)).with_day(1).unwrap_or(first);
    let prev_month = (first - Duration::days(1)).with_day(1).unwrap_or(first);
    let last = next_month - Duration::days(1);
    let end = last + Duration::days(i64::from(6 - last.weekday().num_days_from_monday()));
    let svc = service(ctx);
    let (events, _) = svc
        .list_events(
            &ctx.principal,
            &render::validated(CalendarListQuery {
                from: Some(start.to_string()),
                to: Some(end.to_string()),
                limit: Some(500),
                ..Default::default()
            })?,
        )
        .await?;
    let mut by_day: BTreeMap<String, Vec<CalendarEventRecord>> = BTreeMap::new();
    for e in events {
        by_day.entry(e.date.clone()).or_default().push(e);
    }
    let mut weeks = Vec::new();
    let mut d = start;
    while d <= end {
        let mut week = Vec::new();
        for _ in 0..7 {
            let key = d.to_string();
            week.push(Cell {
                events: by_day.remove(&key).unwrap_or_default(),
                date: key,
                day: d.day(),
                in_month: d.month() == first.month(),
                today: d == today,
            });
            d += Duration::days(1);
        }
        weeks.push(week);
    }
    // Missed: the last 30 days before today; upcoming: the next 60 from today.
    let (around, _) = svc
        .list_events(
            &ctx.principal,
            &CalendarListQuery {
                from: Some((today - Duration::days(30)).to_string()),
                to: Some((today + Duration::days(60)).to_string()),
                limit: Some(200),
                ..Default::default()
            },
        )
        .await?;
    let today_s = today.to_string();
    let (mut missed, upcoming): (Vec<_>, Vec<_>) =
        around.into_iter().partition(|e| e.date < today_s);
    missed.reverse();
    let (notes, _) = svc
        .list_notes(
            &ctx.principal,
            &NoteListQuery {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await?;
    let shell = ctx
        .shell(
            "Calendar",
            vec![Crumb::here("Workspace"), Crumb::here("Calendar")],
        )
        .await;
    respond!(
        ctx,
        CalendarPage {
            shell,
            month: first.format("%Y-%m").to_string(),
            title: first.format("%B %Y").to_string(),
            prev: prev_month.format("%Y-%m").to_string(),
            next: next_month.format("%Y-%m").to_string(),
            weeks,
            missed,
            upcoming,
            notes: notes
                .into_iter()
                .map(|n| {
                    let t = if n.title.trim().is_empty() {
                        "Untitled".to_owned()
                    } else {
                        n.title
                    };
                    (n.id, t)
                })
                .collect(),
            errors,
            notice,
        }
    )
}

pub async fn calendar(ctx: PageCtx, Query(q): Query<MonthQuery>) -> Result<Response, WebError> {
    calendar_view(&ctx, &q.month, FieldErrors::new(), None).await
}

#[derive(Deserialize, Default)]
pub struct EventForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    linked_note_id: String,
}

pub async fn create_event(ctx: PageCtx, Form(f): Form<EventForm>) -> Result<Response, WebError> {
    let month = f.date.get(..7).unwrap_or("").to_owned();
    let req = CalendarEventCreateRequest {
        title: kit::opt(&f.title),
        date: kit::opt(&f.date),
        description: kit::opt(&f.description),
        linked_note_id: kit::opt(&f.linked_note_id).map(Some),
        ..Default::default()
    };
    let result = kit::submit!(req, |req| service(&ctx).create_event(&ctx.principal, req));
    match result {
        Ok(e) => after_change!(
            ctx,
            format!("/workspace/calendar?month={month}"),
            calendar_view(
                &ctx,
                &month,
                FieldErrors::new(),
                Some(format!("Event “{}” added", e.title))
            )
            .await
        ),
        Err(Ok(errors)) => calendar_view(&ctx, &month, errors, None).await,
        Err(Err(web)) => Err(web),
    }
}

pub async fn delete_event(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    service(&ctx).delete_event(&ctx.principal, &id).await?;
    after_change!(
        ctx,
        "/workspace/calendar",
        calendar_view(
            &ctx,
            "",
            FieldErrors::new(),
            Some("Event deleted".to_owned())
        )
        .await
    )
}

// ---- kanban ----

pub struct Column {
    pub status: &'static str,
    pub title: &'static str,
    pub next: Option<&'static str>,
    pub tasks: Vec<KanbanTaskRecord>,
}

#[derive(Template)]
#[template(path = "kanban.html", blocks = ["content"])]
struct KanbanPage {
    shell: Shell,
    columns: Vec<Column>,
    today: String,
    errors: FieldErrors,
    notice: Option<String>,
}

impl KanbanPage {
    fn e(&self, key: &str) -> String {
        kit::err_of(&self.errors, key)
    }
}

fn column_title(s: KanbanStatus) -> &'static str {
    match s {
        KanbanStatus::Todo => "Todo",
        KanbanStatus::InProgress => "In progress",
        KanbanStatus::Done => "Done",
    }
}

async fn kanban_view(
    ctx: &PageCtx,
    errors: FieldErrors,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let svc = service(ctx);
    let mut columns = Vec::new();
    for (i, s) in KanbanStatus::ALL.iter().enumerate() {
        let (tasks, _) = svc
            .list_tasks(
                &ctx.principal,
                &KanbanListQuery {
                    status: Some(*s),
                    limit: Some(200),
                    ..Default::default()
                },
            )
            .await?;
        columns.push(Column {
            status: s.as_str(),
            title: column_title(*s),
            next: KanbanStatus::ALL.get(i + 1).map(|n| n.as_str()),
            tasks,
        });
    }
    let shell = ctx
        .shell(
            "Kanban",
            vec![Crumb::here("Workspace"), Crumb::here("Kanban")],
        )
        .await;
    respond!(
        ctx,
        KanbanPage {
            shell,
            columns,
            today: Utc::now().date_naive().to_string(),
            errors,
            notice,
        }
    )
}

pub async fn kanban(ctx: PageCtx) -> Result<Response, WebError> {
    kanban_view(&ctx, FieldErrors::new(), None).await
}

#[derive(Deserialize, Default)]
pub struct TaskForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    due_date: String,
}

pub async fn create_task(ctx: PageCtx, Form(f): Form<TaskForm>) -> Result<Response, WebError> {
    let req = KanbanTaskCreateRequest {
        title: kit::opt(&f.title),
        description: kit::opt(&f.description),
        status: KanbanStatus::parse(f.status.trim()),
        due_date: kit::opt(&f.due_date).map(Some),
        ..Default::default()
    };
    let result = kit::submit!(req, |req| service(&ctx).create_task(&ctx.principal, req));
    match result {
        Ok(t) => after_change!(
            ctx,
            "/workspace/kanban",
            kanban_view(
                &ctx,
                FieldErrors::new(),
                Some(format!("Task “{}” added", t.title))
            )
            .await
        ),
        Err(Ok(errors)) => kanban_view(&ctx, errors, None).await,
        Err(Err(web)) => Err(web),
    }
}

#[derive(Deserialize, Default)]
pub struct MoveForm {
    #[serde(default)]
    column: String,
}

pub async fn move_task(
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> Result<Response, WebError> {
    let column = KanbanStatus::parse(f.column.trim())
        .ok_or_else(|| WebError::new(axum::http::StatusCode::BAD_REQUEST, "Unknown column"))?;
    let req = render::validated(KanbanMoveRequest {
        column,
        position: None,
    })?;
    service(&ctx).move_task(&ctx.principal, &id, req).await?;
    after_change!(
        ctx,
        "/workspace/kanban",
        kanban_view(
            &ctx,
            FieldErrors::new(),
            Some(format!("Task moved to {}", column_title(column)))
        )
        .await
    )
}

/// Edits a task's title, description and due date (blank clears the optional ones).
pub async fn update_task(
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<TaskForm>,
) -> Result<Response, WebError> {
    let req = KanbanTaskPatchRequest {
        title: Some(f.title.trim().to_owned()),
        description: Some(kit::opt(&f.description)),
        due_date: Some(kit::opt(&f.due_date)),
        ..Default::default()
    };
    let result = kit::submit!(req, |req| service(&ctx).patch_task(
        &ctx.principal,
        &id,
        req
    ));
    match result {
        Ok(t) => after_change!(
            ctx,
            "/workspace/kanban",
            kanban_view(
                &ctx,
                FieldErrors::new(),
                Some(format!("Task “{}” saved", t.title))
            )
            .await
        ),
        Err(Ok(errors)) => kanban_view(&ctx, errors, None).await,
        Err(Err(web)) => Err(web),
    }
}

pub async fn delete_task(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    service(&ctx).delete_task(&ctx.principal, &id).await?;
    after_change!(
        ctx,
        "/workspace/kanban",
        kanban_view(&ctx, FieldErrors::new(), Some("Task deleted".to_owned())).await
    )
}
