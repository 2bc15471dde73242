//! Administration pages: `/secrets` (metadata and bindings; values are never shown),
//! `/provisioning/profiles` (unattend profiles), `/artifacts` (releases and assignments),
//! `/settings` (the settings tree's sections) and `/audit` (admins only).

use super::kit::{self, FieldErrors, after_change, respond};
use crate::auth::principal::{Admin, Privileged};
use crate::pagination::PageRequest;
use crate::web::render::WebError;
use crate::web::{Crumb, PageCtx, Shell};
use askama::Template;
use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use botmox_contract::artifacts::{
    AssignRequest, AssignmentListQuery, AssignmentRecord, ReleaseListQuery, ReleaseRecord,
};
use botmox_contract::audit::{AuditEntry, AuditQuery};
use botmox_contract::provisioning::UnattendProfileConfig;
use botmox_contract::provisioning_api::{
    UnattendProfile, UnattendProfileCreateRequest, UnattendProfileUpdateRequest,
};
use botmox_contract::secrets::{
    BindingCreateRequest, BindingListQuery, BindingRecord, SecretListQuery, SecretMeta,
};
use serde::Deserialize;
use serde_json::{Value, json};

fn bad(msg: &str) -> WebError {
    WebError::new(StatusCode::BAD_REQUEST, msg)
}

// ---- secrets ----

#[derive(Template)]
#[template(path = "secrets.html", blocks = ["content"])]
struct SecretsPage {
    shell: Shell,
    secrets: Vec<SecretMeta>,
    bindings: Vec<BindingRecord>,
    notice: Option<String>,
    errors: FieldErrors,
}

impl SecretsPage {
    fn e(&self, key: &str) -> String {
        kit::err_of(&self.errors, key)
    }

    fn label_of(&self, id: &str) -> String {
        self.secrets
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.label.clone())
            .unwrap_or_else(|| id.to_owned())
    }
}

async fn secrets_view(
    ctx: &PageCtx,
    notice: Option<String>,
    errors: FieldErrors,
) -> Result<Response, WebError> {
    let (secrets, _) = ctx
        .app
        .secrets
        .list(
            &ctx.principal,
            &SecretListQuery {
                limit: Some(500),
                ..Default::default()
            },
        )
        .await?;
    let (bindings, _) = ctx
        .app
        .secrets
        .bindings(
            &ctx.principal,
            &BindingListQuery {
                limit: Some(500),
                ..Default::default()
            },
        )
        .await?;
    let shell = ctx
        .shell(
            "Secrets",
            vec![Crumb::here("Administration"), Crumb::here("Secrets")],
        )
        .await;
    respond!(
        ctx,
        SecretsPage {
            shell,
            secrets,
            bindings,
            notice,
            errors,
        }
    )
}

pub async fn secrets(ctx: PageCtx) -> Result<Response, WebError> {
    secrets_view(&ctx, None, FieldErrors::new()).await
}

#[derive(Deserialize, Default)]
pub struct BindForm {
    #[serde(default)]
    scope_type: String,
    #[serde(default)]
    scope_id: String,
    #[serde(default)]
    secret_ref: String,
    #[serde(default)]
    field_name: String,
}

pub async fn bind(ctx: PageCtx, Form(f): Form<BindForm>) -> Result<Response, WebError> {
    let req = BindingCreateRequest {
        scope_type: f.scope_type.trim().to_owned(),
        scope_id: f.scope_id.trim().to_owned(),
        secret_ref: f.secret_ref.trim().to_owned(),
        field_name: f.field_name.trim().to_owned(),
    };
    let result = kit::submit!(req, |req| ctx.app.secrets.bind(&ctx.principal, &req));
    match result {
        Ok(_) => after_change!(
            ctx,
            "/secrets",
            secrets_view(&ctx, Some("Binding saved".to_owned()), FieldErrors::new()).await
        ),
        Err(Ok(errors)) => secrets_view(&ctx, None, errors).await,
        Err(Err(web)) => Err(web),
    }
}

pub async fn unbind(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    ctx.app.secrets.unbind(&ctx.principal, &id).await?;
    after_change!(
        ctx,
        "/secrets",
        secrets_view(&ctx, Some("Binding removed".to_owned()), FieldErrors::new()).await
    )
}

// ---- unattend profiles ----

#[derive(Deserialize, Default)]
pub struct ProfileQuery {
    #[serde(default)]
    id: String,
}

#[derive(Template)]
#[template(path = "profiles.html", blocks = ["content"])]
struct ProfilesPage {
    shell: Shell,
    profiles: Vec<UnattendProfile>,
    open: Option<UnattendProfile>,
    /// Where the editor posts: the open profile, or a new one.
    action: String,
    /// The editor's text: the profile's configuration, or what was typed before a refusal.
    config_json: String,
    name: String,
    is_default: bool,
    notice: Option<String>,
    errors: FieldErrors,
}

impl ProfilesPage {
    fn e(&self, key: &str) -> String {
        kit::err_of(&self.errors, key)
    }
}

struct Typed {
    name: String,
    is_default: bool,
    config: String,
}

async fn profiles_view(
    ctx: &PageCtx,
    id: &str,
    typed: Option<Typed>,
    notice: Option<String>,
    errors: FieldErrors,
) -> Result<Response, WebError> {
    let svc = &ctx.app.provisioning;
    let (profiles, _) = svc
        .list_profiles(
            &ctx.principal,
            &PageRequest {
                limit: 200,
                after: None,
            },
        )
        .await?;
    let open = match kit::opt(id) {
        Some(id) => Some(svc.get_profile(&ctx.principal, &id).await?),
        None => None,
    };
    let (name, is_default, config_json) = match (typed, &open) {
        (Some(t), _) => (t.name, t.is_default, t.config),
        (None, Some(p)) => (
            p.name.clone(),
            p.is_default,
            serde_json::to_string_pretty(&p.config).unwrap_or_default(),
        ),
        (None, None) => (
            String::new(),
            false,
            serde_json::to_string_pretty(&UnattendProfileConfig::default()).unwrap_or_default(),
        ),
    };
    let shell = ctx
        .shell(
            "Unattend profiles",
            vec![
                Crumb::here("Provisioning"),
                Crumb::here("Unattend profiles"),
            ],
        )
        .await;
    respond!(
        ctx,
        ProfilesPage {
            shell,
            profiles,
            action: match &open {
                Some(p) => format!("/provisioning/profiles/{}", p.id),
                None => "/provisioning/profiles".to_owned(),
            },
            open,
            config_json,
            name,
            is_default,
            notice,
            errors,
        }
    )
}

pub async fn profiles(ctx: PageCtx, Query(q): Query<ProfileQuery>) -> Result<Response, WebError> {
    profiles_view(&ctx, &q.id, None, None, FieldErrors::new()).await
}

#[derive(Deserialize, Default)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    is_default: Option<String>,
    #[serde(default)]
    config: String,
}

/// The editor's JSON as a configuration; a syntax or type error is shown under `config`.
fn config_of(raw: &str) -> Result<UnattendProfileConfig, FieldErrors> {
    serde_json::from_str(raw).map_err(|e| {
        FieldErrors::from([(
            "config".to_owned(),
            vec![format!("is not a valid configuration: {e}")],
        )])
    })
}

/// Saves a new profile (`id` empty) or an existing one.
async fn save_profile(ctx: PageCtx, id: String, f: ProfileForm) -> Result<Response, WebError> {
    let is_default = kit::checked(&f.is_default);
    let typed = || Typed {
        name: f.name.clone(),
        is_default,
        config: f.config.clone(),
    };
    let config = match config_of(&f.config) {
        Ok(c) => c,
        Err(errors) => return profiles_view(&ctx, &id, Some(typed()), None, errors).await,
    };
    let svc = &ctx.app.provisioning;
    let result = if id.is_empty() {
        kit::submit!(
            UnattendProfileCreateRequest {
                name: f.name.trim().to_owned(),
                is_default: Some(is_default),
                config,
            },
            |req| svc.create_profile(&ctx.principal, req)
        )
    } else {
        kit::submit!(
            UnattendProfileUpdateRequest {
                name: Some(f.name.trim().to_owned()),
                is_default: Some(is_default),
                config: Some(config),
            },
            |req| svc.update_profile(&ctx.principal, &id, req)
        )
    };
    match result {
        Ok(p) => after_change!(
            ctx,
            format!("/provisioning/profiles?id={}", p.id),
            profiles_view(
                &ctx,
                &p.id,
                None,
                Some(format!("Profile “{}” saved", p.name)),
                FieldErrors::new()
            )
            .await
        ),
        Err(Ok(errors)) => profiles_view(&ctx, &id, Some(typed()), None, errors).await,
        Err(Err(web)) => Err(web),
    }
}

pub async fn create_profile(
    ctx: PageCtx,
    Form(f): Form<ProfileForm>,
) -> Result<Response, WebError> {
    save_profile(ctx, String::new(), f).await
}

pub async fn update_profile(
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<ProfileForm>,
) -> Result<Response, WebError> {
    save_profile(ctx, id, f).await
}

pub async fn delete_profile(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    ctx.app
        .provisioning
        .delete_profile(&ctx.principal, &id)
        .await?;
    after_change!(
        ctx,
        "/provisioning/profiles",
        profiles_view(
            &ctx,
            "",
            None,
            Some("Profile deleted".to_owned()),
            FieldErrors::new()
        )
        .await
    )
}

// ---- artifacts ----

#[derive(Template)]
#[template(path = "artifacts.html", blocks = ["content"])]
struct ArtifactsPage {
    shell: Shell,
    releases: Vec<ReleaseRecord>,
    assignments: Vec<AssignmentRecord>,
    can_assign: bool,
    notice: Option<String>,
    errors: FieldErrors,
}

impl ArtifactsPage {
    fn e(&self, key: &str) -> String {
        kit::err_of(&self.errors, key)
    }
}

async fn artifacts_view(
    ctx: &PageCtx,
    notice: Option<String>,
    errors: FieldErrors,
) -> Result<Response, WebError> {
    let (releases, _) = ctx
        .app
        .artifacts
        .list_releases(
            &ctx.principal,
            &ReleaseListQuery {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await?;
    let (assignments, _) = ctx
        .app
        .artifacts
        .list_assignments(
            &ctx.principal,
            &AssignmentListQuery {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await?;
    let shell = ctx
        .shell(
            "Artifacts",
            vec![Crumb::here("Administration"), Crumb::here("Artifacts")],
        )
        .await;
    respond!(
        ctx,
        ArtifactsPage {
            shell,
            releases,
            assignments,
            can_assign: ctx
                .principal
                .has_any_role(<Privileged as crate::auth::principal::RoleSet>::ROLES),
            notice,
            errors,
        }
    )
}

pub async fn artifacts(ctx: PageCtx) -> Result<Response, WebError> {
    artifacts_view(&ctx, None, FieldErrors::new()).await
}

#[derive(Deserialize, Default)]
pub struct AssignForm {
    #[serde(default)]
    release_id: String,
    #[serde(default)]
    module: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    user_id: String,
}

pub async fn assign(ctx: PageCtx, Form(f): Form<AssignForm>) -> Result<Response, WebError> {
    ctx.require::<Privileged>()?;
    let req = AssignRequest {
        user_id: kit::opt(&f.user_id),
        module: f.module.trim().to_owned(),
        platform: f.platform.trim().to_owned(),
        channel: kit::opt(&f.channel),
        release_id: f.release_id.trim().to_owned(),
    };
    let result = kit::submit!(req, |req| ctx.app.artifacts.assign(&ctx.principal, &req));
    match result {
        Ok(_) => after_change!(
            ctx,
            "/artifacts",
            artifacts_view(
                &ctx,
                Some("Assignment saved".to_owned()),
                FieldErrors::new()
            )
            .await
        ),
        Err(Ok(errors)) => artifacts_view(&ctx, None, errors).await,
        Err(Err(web)) => Err(web),
    }
}

pub async fn unassign(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    ctx.require::<Privileged>()?;
    ctx.app
        .artifacts
        .delete_assignment(&ctx.principal, &id)
        .await?;
    after_change!(
        ctx,
        "/artifacts",
        artifacts_view(
            &ctx,
            Some("Assignment removed".to_owned()),
            FieldErrors::new()
        )
        .await
    )
}

// ---- settings ----

/// One switch or field of a settings form.
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    /// `bool`, `number` or `text` (`secret` for masked values).
    pub kind: &'static str,
    pub value: String,
    pub on: bool,
}

pub struct Section {
    pub key: &'static str,
    pub title: &'static str,
    pub fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "settings.html", blocks = ["content"])]
struct SettingsPage {
    shell: Shell,
    sections: Vec<Section>,
    projects: String,
    storage: String,
    notice: Option<String>,
    errors: FieldErrors,
}

impl SettingsPage {
    fn e(&self, key: &str) -> String {
        kit::err_of(&self.errors, key)
    }
}

/// A settings form field: JSON path below the section, label, kind.
type FieldSpec = (&'static str, &'static str, &'static str);

/// Settings path, title and fields.
const SECTIONS: &[(&str, &str, &[FieldSpec])] = &[
    (
        "alerts",
        "Global alerts",
        &[("warning_days", "Warn before (days)", "number")],
    ),
    (
        "proxy",
        "Proxy settings",
        &[
            ("auto_check_on_add", "Check new proxies with IPQS", "bool"),
            (
                "fraud_score_threshold",
                "Fraud score threshold (0–100)",
                "number",
            ),
            (
                "check_interval_hours",
                "Check interval (hours, 0–168)",
                "number",
            ),
        ],
    ),
    (
        "api_keys",
        "API keys",
        &[
            ("ipqs.enabled", "Enable IPQS checks", "bool"),
            ("ipqs.api_key", "IPQS API key", "secret"),
            ("telegram.enabled", "Enable Telegram notifications", "bool"),
            ("telegram.bot_token", "Telegram bot token", "secret"),
            ("telegram.chat_id", "Telegram chat id", "text"),
        ],
    ),
    (
        "notifications/events",
        "Notifications",
        &[
            ("bot_banned", "Bot banned", "bool"),
            ("bot_offline", "Bot offline", "bool"),
            ("bot_online", "Bot online", "bool"),
            ("level_up", "Level up", "bool"),
            ("profession_maxed", "Profession maxed", "bool"),
            ("low_fraud_score", "Low fraud score", "bool"),
            ("daily_report", "Daily report", "bool"),
        ],
    ),
];

fn at<'a>(v: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(v, |node, seg| node.get(seg))
}

async fn settings_view(
    ctx: &PageCtx,
    notice: Option<String>,
    errors: FieldErrors,
) -> Result<Response, WebError> {
    let svc = &ctx.app.settings;
    let mut sections = Vec::new();
    for (key, title, fields) in SECTIONS {
        let current = svc.read(&ctx.principal, key).await?;
        sections.push(Section {
            key: if *key == "notifications/events" {
                "notifications-events"
            } else {
                key
            },
            title,
            fields: fields
                .iter()
                .map(|(name, label, kind)| {
                    let v = at(&current, name);
                    Field {
                        name,
                        label,
                        kind,
                        on: v.and_then(Value::as_bool).unwrap_or(false),
                        value: match (v, *kind) {
                            // A set secret is shown as set, never as a value.
                            (_, "secret") => String::new(),
                            (Some(Value::String(s)), _) => s.clone(),
                            (Some(Value::Number(n)), _) => n.to_string(),
                            _ => String::new(),
                        },
                    }
                })
                .collect(),
        });
    }
    let projects = svc.read(&ctx.principal, "projects").await?;
    let storage = svc.read(&ctx.principal, "storage_policy").await?;
    let shell = ctx
        .shell(
            "Settings",
            vec![Crumb::here("Administration"), Crumb::here("Settings")],
        )
        .await;
    respond!(
        ctx,
        SettingsPage {
            shell,
            sections,
            projects: serde_json::to_string_pretty(&projects).unwrap_or_default(),
            storage: serde_json::to_string_pretty(&storage).unwrap_or_default(),
            notice,
            errors,
        }
    )
}

pub async fn settings(ctx: PageCtx) -> Result<Response, WebError> {
    settings_view(&ctx, None, FieldErrors::new()).await
}

/// Saves one section: switches absent from the form are off, blank secrets are kept.
pub async fn save_settings(
    ctx: PageCtx,
    Path(section): Path<String>,
    Form(f): Form<std::collections::HashMap<String, String>>,
) -> Result<Response, WebError> {
    let path = if section == "notifications-events" {
        "notifications/events"
    } else {
        section.as_str()
    };
    let (_, title, fields) = SECTIONS
        .iter()
        .find(|(k, _, _)| *k == path)
        .ok_or_else(|| bad("Unknown settings section"))?;
    let mut payload = json!({});
    for (name, label, kind) in fields.iter() {
        let raw = f.get(*name).map(|s| s.trim()).unwrap_or("");
        let value = match *kind {
            "bool" => json!(!raw.is_empty()),
            "number" if raw.is_empty() => continue,
            "number" => match raw.parse::<i64>() {
                Ok(n) => json!(n),
                Err(_) => {
                    let errors = FieldErrors::from([(
                        (*name).to_owned(),
                        vec![format!("{label}: must be a whole number")],
                    )]);
                    return settings_view(&ctx, None, errors).await;
                }
            },
            "secret" if raw.is_empty() => continue,
            _ => json!(raw),
        };
        let mut node = &mut payload;
        let parts: Vec<&str> = name.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            node = node
                .as_object_mut()
                .map(|m| m.entry((*p).to_owned()).or_insert_with(|| json!({})))
                .ok_or_else(|| bad("Malformed settings form"))?;
        }
        if let Some(m) = node.as_object_mut() {
            m.insert(parts[parts.len() - 1].to_owned(), value);
        }
    }
    if path == "api_keys" {
        // Merge into what is stored: the section write is shallow per top-level key.
        let current = ctx.app.settings.read(&ctx.principal, "api_keys").await?;
        for sub in ["ipqs", "telegram"] {
            if let (Some(Value::Object(old)), Some(Value::Object(new))) =
                (current.get(sub), payload.get_mut(sub))
            {
                for (k, v) in old {
                    if !k.ends_with("_configured") {
                        new.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
    }
    match ctx.app.settings.write(&ctx.principal, path, payload).await {
        Ok(_) => after_change!(
            ctx,
            "/settings",
            settings_view(&ctx, Some(format!("{title} saved")), FieldErrors::new()).await
        ),
        Err(err) => {
            let errors = kit::field_errors(err)?;
            settings_view(&ctx, None, errors).await
        }
    }
}

// ---- audit ----

#[derive(Deserialize, Default, Clone)]
pub struct AuditFilter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    route: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

#[derive(Template)]
#[template(path = "audit.html", blocks = ["content"])]
struct AuditPage {
    shell: Shell,
    f: AuditFilter,
    rows: Vec<AuditEntry>,
    next: Option<String>,
    next_qs: String,
}

pub async fn audit(ctx: PageCtx, Query(f): Query<AuditFilter>) -> Result<Response, WebError> {
    ctx.require::<Admin>()?;
    let status = match kit::opt(&f.status) {
        None => None,
        Some(s) => Some(
            s.parse::<u16>()
                .map_err(|_| bad("Status must be an HTTP status code such as 403"))?,
        ),
    };
    let q = AuditQuery {
        cursor: kit::opt(&f.cursor),
        limit: Some(100),
        actor: kit::opt(&f.actor),
        method: kit::opt(&f.method),
        route: kit::opt(&f.route),
        status,
        from: kit::opt(&f.from),
        to: kit::opt(&f.to),
    };
    let (rows, meta) = crate::audit::service::list(&ctx.app.db, &ctx.principal, q).await?;
    let next_qs = [
        ("actor", &f.actor),
        ("method", &f.method),
        ("route", &f.route),
        ("status", &f.status),
        ("from", &f.from),
        ("to", &f.to),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}", urlencoding(v)))
    .collect::<Vec<_>>()
    .join("&");
    let shell = ctx
        .shell(
            "Audit log",
            vec![Crumb::here("Administration"), Crumb::here("Audit log")],
        )
        .await;
    respond!(
        ctx,
        AuditPage {
            shell,
            f,
            rows,
            next: meta.next_cursor,
            next_qs,
        }
    )
}

fn urlencoding(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
