//! `/notes`: Markdown notes with autosave. Every save names the version it was based on
//! (`expected_updated_at`), so an edit made meanwhile elsewhere (another tab, another operator)
//! is never overwritten: the save is refused and the editor says so.

use crate::web::render::{self, WebError};
use crate::web::{Crumb, PageCtx, Shell};
use crate::workspace::WorkspaceService;
use askama::Template;
use axum::extract::{Form, Path};
use axum::response::{IntoResponse, Redirect, Response};
use botmox_contract::rules::TimeInput;
use botmox_contract::workspace::{
    NoteCreateRequest, NoteListQuery, NotePatchRequest, NoteRecord, WORKSPACE_CONFLICT,
};
use serde::Deserialize;

const LIST_LIMIT: u32 = 200;

fn service(ctx: &PageCtx) -> WorkspaceService {
    WorkspaceService::new(ctx.app.db.clone())
}

/// Markdown to HTML with raw HTML shown as text: a note can never inject markup or scripts.
pub fn markdown(text: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, html};
    let parser =
        Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(|ev| {
            match ev {
                Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
                other => other,
            }
        });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

pub struct Item {
    pub id: String,
    pub title: String,
    pub pinned: bool,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "notes.html")]
struct NotesPage {
    shell: Shell,
    items: Vec<Item>,
    note: Option<NoteRecord>,
    preview: String,
}

async fn items(ctx: &PageCtx, active: Option<&str>) -> Result<Vec<Item>, WebError> {
    let (notes, _) = service(ctx)
        .list_notes(
            &ctx.principal,
            &NoteListQuery {
                limit: Some(LIST_LIMIT),
                ..Default::default()
            },
        )
        .await?;
    Ok(notes
        .into_iter()
        .map(|n| Item {
            active: active == Some(n.id.as_str()),
            title: if n.title.trim().is_empty() {
                "Untitled".to_owned()
            } else {
                n.title
            },
            pinned: n.is_pinned,
            id: n.id,
        })
        .collect())
}

async fn render_page(ctx: &PageCtx, note: Option<NoteRecord>) -> Result<Response, WebError> {
    let items = items(ctx, note.as_ref().map(|n| n.id.as_str())).await?;
    let mut crumbs = vec![Crumb::here("Workspace")];
    let title = match &note {
        Some(n) => {
            crumbs.push(Crumb::link("Notes", "/notes"));
            let t = if n.title.trim().is_empty() {
                "Untitled"
            } else {
                n.title.as_str()
            };
            crumbs.push(Crumb::here(t));
            "Notes"
        }
        None => {
            crumbs.push(Crumb::here("Notes"));
            "Notes"
        }
    };
    let shell = ctx.shell(title, crumbs).await;
    render::page(&NotesPage {
        shell,
        items,
        preview: note
            .as_ref()
            .map(|n| markdown(&n.content))
            .unwrap_or_default(),
        note,
    })
}

pub async fn page(ctx: PageCtx) -> Result<Response, WebError> {
    render_page(&ctx, None).await
}

pub async fn open(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    let note = service(&ctx).get_note(&ctx.principal, &id).await?;
    render_page(&ctx, Some(note)).await
}

pub async fn create(ctx: PageCtx) -> Result<Response, WebError> {
    let note = service(&ctx)
        .create_note(
            &ctx.principal,
            render::validated(NoteCreateRequest {
                title: Some("Untitled".to_owned()),
                content: Some(String::new()),
                ..Default::default()
            })?,
        )
        .await?;
    Ok(Redirect::to(&format!("/notes/{}", note.id)).into_response())
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    expected_updated_at: String,
}

/// What an autosave answers: the status line, plus the new version and preview swapped in
/// out of band.
#[derive(Template)]
#[template(path = "note_saved.html")]
struct Saved {
    note: NoteRecord,
    preview: String,
}

#[derive(Template)]
#[template(path = "note_conflict.html")]
struct Conflict {
    id: String,
    message: String,
}

pub async fn save(
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Response, WebError> {
    let req = render::validated(NotePatchRequest {
        title: Some(form.title),
        // Browsers send textarea lines with CRLF; store what the operator typed.
        content: Some(form.content.replace("\r\n", "\n")),
        expected_updated_at: Some(TimeInput::Text(form.expected_updated_at)),
        ..Default::default()
    })?;
    match service(&ctx)
        .patch_note(&ctx.principal, &id, None, req)
        .await
    {
        Ok(note) if ctx.htmx => render::page(&Saved {
            preview: markdown(&note.content),
            note,
        }),
        Ok(note) => Ok(Redirect::to(&format!("/notes/{}", note.id)).into_response()),
        Err(crate::error::ApiError::Client { code, message, .. })
            if code == WORKSPACE_CONFLICT && ctx.htmx =>
        {
            render::page(&Conflict {
                id,
                message: message.into_owned(),
            })
        }
        Err(err) => Err(err.into()),
    }
}
