//! Workspace: Markdown notes, calendar events and kanban tasks.
//!
//! Field names follow the original (`is_pinned`, `linked_note_id`, `status`, `order`,
//! `due_date`); what it stored as free-form JSON is typed and validated here. Unknown fields
//! are ignored, as the original's schemas stripped them.

use crate::rules::{self, TimeInput};
use crate::validation::Input;
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const WORKSPACE_INVALID_KIND: &str = "WORKSPACE_INVALID_KIND";
pub const WORKSPACE_INVALID_ID: &str = "WORKSPACE_INVALID_ID";
pub const WORKSPACE_INVALID_BODY: &str = "WORKSPACE_INVALID_BODY";
pub const WORKSPACE_INVALID_LIST_QUERY: &str = "WORKSPACE_INVALID_LIST_QUERY";
pub const WORKSPACE_ENTITY_NOT_FOUND: &str = "WORKSPACE_ENTITY_NOT_FOUND";
/// 409: the note changed since the caller's precondition (its revision or `updated_at`).
pub const WORKSPACE_CONFLICT: &str = "WORKSPACE_CONFLICT";
/// 428: a note update carried no precondition.
pub const WORKSPACE_PRECONDITION_REQUIRED: &str = "WORKSPACE_PRECONDITION_REQUIRED";

/// Largest note body (Markdown), in bytes.
pub const NOTE_CONTENT_MAX_BYTES: usize = 256 * 1024;
pub const NOTE_TITLE_MAX: usize = 200;
pub const TAGS_MAX: usize = 50;
pub const TAG_MAX_CHARS: usize = 50;
pub const LINKS_MAX: usize = 100;
pub const EVENT_TITLE_MAX: usize = 120;
pub const TASK_TITLE_MAX: usize = 120;
pub const DESCRIPTION_MAX: usize = 10_000;
pub const LABELS_MAX: usize = 20;
pub const LABEL_MAX_CHARS: usize = 40;
pub const SEARCH_MAX: usize = 200;

/// `{id, deleted: true}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Deleted {
    pub id: String,
    pub deleted: bool,
}

fn check_title(max: usize) -> impl FnOnce(&Option<String>, &()) -> garde::Result {
    move |v, _| {
        v.as_deref()
            .map_or(Ok(()), |t| rules::check_text(t, false, max))
    }
}

fn check_required_title(max: usize) -> impl FnOnce(&Option<String>, &()) -> garde::Result {
    move |v, _| match v.as_deref() {
        Some(t) => rules::check_text(t, true, max),
        None => Err(garde::Error::new("is required")),
    }
}

fn check_present_title(max: usize) -> impl FnOnce(&Option<String>, &()) -> garde::Result {
    move |v, _| {
        v.as_deref()
            .map_or(Ok(()), |t| rules::check_text(t, true, max))
    }
}

fn check_content(v: &Option<String>, _: &()) -> garde::Result {
    match v.as_deref() {
        Some(c) if c.len() > NOTE_CONTENT_MAX_BYTES => Err(garde::Error::new(format!(
            "at most {NOTE_CONTENT_MAX_BYTES} bytes"
        ))),
        Some(c) => rules::no_nul(c),
        None => Ok(()),
    }
}

fn check_description(v: &Option<String>, _: &()) -> garde::Result {
    v.as_deref()
        .map_or(Ok(()), |t| rules::check_text(t, false, DESCRIPTION_MAX))
}

fn check_nullable_description(v: &Option<Option<String>>, _: &()) -> garde::Result {
    v.as_ref()
        .and_then(Option::as_deref)
        .map_or(Ok(()), |t| rules::check_text(t, false, DESCRIPTION_MAX))
}

fn check_tags(v: &Option<Vec<String>>, _: &()) -> garde::Result {
    v.as_deref()
        .map_or(Ok(()), |t| rules::check_labels(t, TAGS_MAX, TAG_MAX_CHARS))
}

fn check_labels(v: &Option<Vec<String>>, _: &()) -> garde::Result {
    v.as_deref().map_or(Ok(()), |t| {
        rules::check_labels(t, LABELS_MAX, LABEL_MAX_CHARS)
    })
}

fn check_links(v: &Option<Vec<String>>, _: &()) -> garde::Result {
    v.as_deref()
        .map_or(Ok(()), |t| rules::check_id_list(t, LINKS_MAX))
}

fn check_search(v: &Option<String>, _: &()) -> garde::Result {
    v.as_deref()
        .map_or(Ok(()), |t| rules::check_text(t, false, SEARCH_MAX))
}

fn check_color(v: &Option<Option<String>>, _: &()) -> garde::Result {
    match v.as_ref().and_then(Option::as_deref) {
        Some(c) if !is_valid_color(c) => Err(garde::Error::new(
            "must be #rgb, #rrggbb or a colour name of 3-20 letters",
        )),
        _ => Ok(()),
    }
}

pub fn is_valid_color(c: &str) -> bool {
    if let Some(hex) = c.strip_prefix('#') {
        return matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    (3..=20).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_lowercase())
}

fn check_expected_revision(v: &Option<i64>, _: &()) -> garde::Result {
    match v {
        Some(r) if *r < 1 => Err(garde::Error::new("must be >= 1")),
        _ => Ok(()),
    }
}

fn check_limit(v: &Option<u32>, _: &()) -> garde::Result {
    match v {
        Some(l) if !(1..=crate::pagination::MAX_LIMIT).contains(l) => {
            Err(garde::Error::new("must be between 1 and 500"))
        }
        _ => Ok(()),
    }
}

fn check_cursor(v: &Option<String>, _: &()) -> garde::Result {
    match v {
        Some(c) if c.is_empty() || c.len() > 512 => {
            Err(garde::Error::new("must be 1-512 characters"))
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------- notes

/// A Markdown note. `revision` starts at 1 and grows by one with every change; it is also the
/// note's `ETag`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct NoteRecord {
    pub id: String,
    pub title: String,
    /// Markdown (GFM).
    pub content: String,
    pub tags: Vec<String>,
    pub is_pinned: bool,
    pub bot_id: Option<String>,
    pub project_id: Option<String>,
    /// Calendar events this note refers to (same tenant).
    pub calendar_event_ids: Vec<String>,
    pub revision: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A new note. Every field is optional: `{}` creates an empty untitled note.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct NoteCreateRequest {
    /// Client-chosen id (imports); generated (UUID v7) when absent. An id in use is a 409.
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub id: Option<String>,
    #[garde(custom(check_title(NOTE_TITLE_MAX)))]
    #[serde(default)]
    pub title: Option<String>,
    #[garde(custom(check_content))]
    #[serde(default)]
    pub content: Option<String>,
    #[garde(custom(check_tags))]
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[garde(skip)]
    #[serde(default, alias = "pinned")]
    pub is_pinned: Option<bool>,
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub bot_id: Option<String>,
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub project_id: Option<String>,
    #[garde(custom(check_links))]
    #[serde(default)]
    pub calendar_event_ids: Option<Vec<String>>,
}

impl Input for NoteCreateRequest {
    const INVALID_CODE: &'static str = WORKSPACE_INVALID_BODY;
}

/// Preconditions a note update carries in its body. The `If-Match` header wins when present;
/// otherwise `expected_revision` wins over `expected_updated_at`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotePrecondition {
    pub expected_revision: Option<i64>,
    pub expected_updated_at: Option<TimeInput>,
}

/// A partial note update (autosave). Needs a precondition: `If-Match: <revision>` or
/// `expected_revision` / `expected_updated_at`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct NotePatchRequest {
    #[garde(custom(check_title(NOTE_TITLE_MAX)))]
    #[serde(default)]
    pub title: Option<String>,
    #[garde(custom(check_content))]
    #[serde(default)]
    pub content: Option<String>,
    #[garde(custom(check_tags))]
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[garde(skip)]
    #[serde(default, alias = "pinned")]
    pub is_pinned: Option<bool>,
    /// `null` clears the link.
    #[garde(custom(rules::check_nullable_id))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub bot_id: Option<Option<String>>,
    #[garde(custom(rules::check_nullable_id))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub project_id: Option<Option<String>>,
    #[garde(custom(check_links))]
    #[serde(default)]
    pub calendar_event_ids: Option<Vec<String>>,
    /// The revision the client last saw (see [`NotePrecondition`]).
    #[garde(custom(check_expected_revision))]
    #[serde(default)]
    pub expected_revision: Option<i64>,
    /// The `updated_at` the client last saw (RFC 3339, or epoch ms).
    #[garde(custom(rules::check_opt_time))]
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub expected_updated_at: Option<TimeInput>,
}

impl NotePatchRequest {
    pub fn precondition(&self) -> NotePrecondition {
        NotePrecondition {
            expected_revision: self.expected_revision,
            expected_updated_at: self.expected_updated_at.clone(),
        }
    }

    /// Whether the body changes anything (a precondition alone does not).
    pub fn has_changes(&self) -> bool {
        self.title.is_some()
            || self.content.is_some()
            || self.tags.is_some()
            || self.is_pinned.is_some()
            || self.bot_id.is_some()
            || self.project_id.is_some()
            || self.calendar_event_ids.is_some()
    }
}

impl Input for NotePatchRequest {
    const INVALID_CODE: &'static str = WORKSPACE_INVALID_BODY;
}

/// A whole-note replacement: fields left out take their empty defaults. Needs a
/// precondition like PATCH.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct NoteReplaceRequest {
    #[garde(custom(check_title(NOTE_TITLE_MAX)))]
    #[serde(default)]
    pub title: Option<String>,
    #[garde(custom(check_content))]
    #[serde(default)]
    pub content: Option<String>,
    #[garde(custom(check_tags))]
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[garde(skip)]
    #[serde(default, alias = "pinned")]
    pub is_pinned: Option<bool>,
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub bot_id: Option<String>,
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub project_id: Option<String>,
    #[garde(custom(check_links))]
    #[serde(default)]
    pub calendar_event_ids: Option<Vec<String>>,
    /// The revision the client last saw (see [`NotePrecondition`]).
    #[garde(custom(check_expected_revision))]
    #[serde(default)]
    pub expected_revision: Option<i64>,
    /// The `updated_at` the client last saw (RFC 3339, or epoch ms).
    #[garde(custom(rules::check_opt_time))]
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub expected_updated_at: Option<TimeInput>,
}

impl NoteReplaceRequest {
    pub fn precondition(&self) -> NotePrecondition {
        NotePrecondition {
            expected_revision: self.expected_revision,
            expected_updated_at: self.expected_updated_at.clone(),
        }
    }
}

impl Input for NoteReplaceRequest {
    const INVALID_CODE: &'static str = WORKSPACE_INVALID_BODY;
}

/// `GET /workspace/notes`: pinned first, then most recently updated.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoteListQuery {
    /// Case-insensitive substring of the title or the content.
    #[garde(custom(check_search))]
    #[serde(default)]
    pub q: Option<String>,
    /// Only notes carrying this tag (exact match).
    #[garde(custom(|v: &Option<String>, _: &()| v.as_deref().map_or(Ok(()), |t| rules::check_text(t, true, TAG_MAX_CHARS))))]
    #[serde(default)]
    pub tag: Option<String>,
    /// Only pinned (`true`) or unpinned (`false`) notes.
    #[garde(skip)]
    #[serde(default)]
    pub pinned: Option<bool>,
    /// Opaque cursor from the previous page's `meta.next_cursor`.
    #[garde(custom(check_cursor))]
    #[serde(default)]
    pub cursor: Option<String>,
    /// Page size, 1..=500 (default 50).
    #[garde(custom(check_limit))]
    #[serde(default)]
    pub limit: Option<u32>,
}

impl Input for NoteListQuery {
    const INVALID_CODE: &'static str = WORKSPACE_INVALID_LIST_QUERY;
}

// ---------------------------------------------------------------- calendar

/// A calendar event. `start`/`end` are RFC 3339 (`end >= start`); an all-day event created
/// from a `date` spans that whole UTC day. `date` and `linked_note_id` repeat `start`'s day and
/// the first linked note for clients of the original.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CalendarEventRecord {
    pub id: String,
    pub title: String,
    pub description: String,
    pub start: String,
    pub end: String,
    pub all_day: bool,
    /// `YYYY-MM-DD` of `start` (UTC).
    pub date: String,
    pub color: Option<String>,
    pub linked_note_ids: Vec<String>,
    pub linked_note_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A new event: `title` and either `start` (with optional `end`) or the original's `date`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct CalendarEventCreateRequest {
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub id: Option<String>,
    #[garde(custom(check_required_title(EVENT_TITLE_MAX)))]
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    pub title: Option<String>,
    #[garde(custom(check_description))]
    #[serde(default)]
    pub description: Option<String>,
    /// RFC 3339.
    #[garde(custom(rules::check_opt_rfc3339))]
    #[serde(default)]
    pub start: Option<String>,
    /// RFC 3339; defaults to `start`.
    #[garde(custom(rules::check_opt_rfc3339))]
    #[serde(default)]
    pub end: Option<String>,
    #[garde(skip)]
    #[serde(default)]
    pub all_day: Option<bool>,
    /// The original's all-day date `YYYY-MM-DD`, used when `start` is absent.
    #[garde(custom(rules::check_opt_day))]
    #[serde(default)]
    pub date: Option<String>,
    #[garde(custom(check_color))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub color: Option<Option<String>>,
    /// Notes of the same tenant; each must exist.
    #[garde(custom(check_links))]
    #[serde(default)]
    pub linked_note_ids: Option<Vec<String>>,
    /// The original's single linked note (merged into `linked_note_ids`).
    #[garde(custom(rules::check_nullable_id))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub linked_note_id: Option<Option<String>>,
}

impl Input for CalendarEventCreateRequest {
    const INVALID_CODE: &'static str = WORKSPACE_INVALID_BODY;
}

/// A partial event update; at least one field.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct CalendarEventPatchRequest {
    #[garde(custom(check_present_title(EVENT_TITLE_MAX)))]
    #[serde(default)]
    pub title: Option<String>,
    #[garde(custom(check_nullable_description))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub description: Option<Option<String>>,
    #[garde(custom(rules::check_opt_rfc3339))]
    #[serde(default)]
    pub start: Option<String>,
    #[garde(custom(rules::check_opt_rfc3339))]
    #[serde(default)]
    pub end: Option<String>,
    #[garde(skip)]
    #[serde(default)]
    pub all_day: Option<bool>,
    /// Moves the event to this whole day (all-day).
    #[garde(custom(rules::check_opt_day))]
    #[serde(default)]
    pub date: Option<String>,
    #[garde(custom(check_color))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub color: Option<Option<String>>,
    #[garde(custom(check_links))]
    #[serde(default)]
    pub linked_note_ids: Option<Vec<String>>,
    /// The original's single link; `null` clears all links.
    #[garde(custom(rules::check_nullable_id))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub linked_note_id: Option<Option<String>>,
}

impl CalendarEventPatchRequest {
    pub fn has_changes(&self) -> bool {
        self.title.is_some()
            || self.description.is_some()
            || self.start.is_some()
            || self.end.is_some()
            || self.all_day.is_some()
            || self.date.is_some()
            || self.color.is_some()
            || self.linked_note_ids.is_some()
            || self.linked_note_id.is_some()
    }
}

impl Input for CalendarEventPatchRequest {
    const INVALID_CODE: &'static str = WORKSPACE_INVALID_BODY;
}

/// `GET /workspace/calendar`: events overlapping `[from, to]`, by start time.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CalendarListQuery {
    /// Range start: RFC 3339, or a day `YYYY-MM-DD` (from its midnight UTC).
    #[garde(custom(rules::check_opt_range_bound))]
    #[serde(default)]
    pub from: Option<String>,
    /// Range end (inclusive): RFC 3339, or a day `YYYY-MM-DD` (through its last millisecond).
    #[garde(custom(rules::check_opt_range_bound))]
    #[serde(default)]
    pub to: Option<String>,
    /// Only events linked to this note.
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub note_id: Option<String>,
    #[garde(custom(check_cursor))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(custom(check_limit))]
    #[serde(default)]
    pub limit: Option<u32>,
}

impl Input for CalendarListQuery {
    const INVALID_CODE: &'static str = WORKSPACE_INVALID_LIST_QUERY;
}

// ---------------------------------------------------------------- kanban

/// A kanban column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KanbanStatus {
    Todo,
    InProgress,
    Done,
}

impl KanbanStatus {
    pub const ALL: [KanbanStatus; 3] = [Self::Todo, Self::InProgress, Self::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            KanbanStatus::Todo => "todo",
            KanbanStatus::InProgress => "in_progress",
            KanbanStatus::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Board order of the columns.
    pub fn rank(self) -> i32 {
        match self {
            KanbanStatus::Todo => 0,
            KanbanStatus::InProgress => 1,
            KanbanStatus::Done => 2,
        }
    }
}

/// A kanban task. `status` is its column; `order` its 0-based position in that column
/// (dense: 0..n-1).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct KanbanTaskRecord {
    pub id: String,
    pub title: String,
    pub description: String,
    pub status: KanbanStatus,
    pub order: i64,
    /// `YYYY-MM-DD`.
    pub due_date: Option<String>,
    pub labels: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A new task; it goes to the end of its column unless `order` names a position.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct KanbanTaskCreateRequest {
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub id: Option<String>,
    #[garde(custom(check_required_title(TASK_TITLE_MAX)))]
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    pub title: Option<String>,
    #[garde(custom(check_description))]
    #[serde(default)]
    pub description: Option<String>,
    /// Column (default `todo`); `column` is accepted too.
    #[garde(skip)]
    #[serde(default, alias = "column")]
    pub status: Option<KanbanStatus>,
    /// 0-based position in the column; past the end means last.
    #[garde(custom(check_position))]
    #[serde(default)]
    pub order: Option<i64>,
    #[garde(custom(rules::check_nullable_day))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub due_date: Option<Option<String>>,
    #[garde(custom(check_labels))]
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

fn check_position(v: &Option<i64>, _: &()) -> garde::Result {
    match v {
        Some(p) if *p < 0 => Err(garde::Error::new("must be >= 0")),
        _ => Ok(()),
    }
}

impl Input for KanbanTaskCreateRequest {
    const INVALID_CODE: &'static str = WORKSPACE_INVALID_BODY;
}

/// A partial task update; at least one field. A new `status` and/or `order` moves the task
/// as `/move` does.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct KanbanTaskPatchRequest {
    #[garde(custom(check_present_title(TASK_TITLE_MAX)))]
    #[serde(default)]
    pub title: Option<String>,
    #[garde(custom(check_nullable_description))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub description: Option<Option<String>>,
    #[garde(skip)]
    #[serde(default, alias = "column")]
    pub status: Option<KanbanStatus>,
    #[garde(custom(check_position))]
    #[serde(default)]
    pub order: Option<i64>,
    #[garde(custom(rules::check_nullable_day))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub due_date: Option<Option<String>>,
    #[garde(custom(check_labels))]
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

impl KanbanTaskPatchRequest {
    pub fn has_changes(&self) -> bool {
        self.title.is_some()
            || self.description.is_some()
            || self.status.is_some()
            || self.order.is_some()
            || self.due_date.is_some()
            || self.labels.is_some()
    }
}

impl Input for KanbanTaskPatchRequest {
    const INVALID_CODE: &'static str = WORKSPACE_INVALID_BODY;
}

/// `POST /workspace/kanban/{id}/move`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct KanbanMoveRequest {
    /// Target column; `status` is accepted too.
    #[garde(skip)]
    #[serde(alias = "status")]
    pub column: KanbanStatus,
    /// 0-based target position; past the end (or absent) means last.
    #[garde(custom(check_position))]
    #[serde(default)]
    pub position: Option<i64>,
}

impl Input for KanbanMoveRequest {
    const INVALID_CODE: &'static str = WORKSPACE_INVALID_BODY;
}

/// `GET /workspace/kanban`: by column (`todo`, `in_progress`, `done`), then position.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KanbanListQuery {
    /// Only this column; `column` is accepted too.
    #[garde(skip)]
    #[serde(default, alias = "column")]
    pub status: Option<KanbanStatus>,
    #[garde(custom(check_cursor))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(custom(check_limit))]
    #[serde(default)]
    pub limit: Option<u32>,
}

impl Input for KanbanListQuery {
    const INVALID_CODE: &'static str = WORKSPACE_INVALID_LIST_QUERY;
}
