//! `/licenses`, `/proxies`, `/subscriptions`: one table per kind with its expiry state
//! (computed by the resources service against `BOTMOX_EXPIRY_WARNING_DAYS`), create, edit,
//! delete and assignment to bots; proxies also show and refresh their IPQS check.

use super::kit::{self, FieldErrors, after_change, respond};
use crate::web::render::WebError;
use crate::web::{Crumb, PageCtx, Shell};
use askama::Template;
use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use botmox_contract::bots::BotListQuery;
use botmox_contract::fields::Timestamp;
use botmox_contract::resources::{
    ExpiryStatus, IpqsResult, KindStats, LICENSE_STATUSES, LicenseWrite, PROXY_STATUSES,
    PROXY_TYPES, ProxyWrite, ResourceKind, ResourceListQuery, ResourceRecord, ResourceWrite,
    SUBSCRIPTION_STATUSES, SUBSCRIPTION_TYPES, SubscriptionWrite,
};
use serde::Deserialize;

/// A resource as tables and pickers show it.
pub struct ResView {
    pub id: String,
    pub label: String,
    pub detail: String,
    pub status: String,
    pub expires: String,
    pub days_left: Option<i64>,
    pub expiry: ExpiryStatus,
    pub bots: Vec<String>,
    pub ipqs: Option<IpqsResult>,
    pub last_checked: String,
    /// Values for the edit form: type (license, proxy, subscription), notes.
    pub kind_type: String,
    pub notes: String,
}

impl ResView {
    pub fn expiry_str(&self) -> &'static str {
        self.expiry.as_str()
    }
}

pub fn view_of(r: &ResourceRecord) -> ResView {
    match r {
        ResourceRecord::License(l) => ResView {
            id: l.id.clone(),
            label: l.key.clone(),
            detail: l.r#type.clone().unwrap_or_default(),
            status: l.status.clone(),
            expires: kit::day(&l.expires_at),
            days_left: l.days_left,
            expiry: l.expiry_status,
            bots: l.bot_ids.clone(),
            ipqs: None,
            last_checked: String::new(),
            kind_type: l.r#type.clone().unwrap_or_default(),
            notes: l.notes.clone().unwrap_or_default(),
        },
        ResourceRecord::Proxy(p) => ResView {
            id: p.id.clone(),
            label: format!("{}:{}", p.host, p.port),
            detail: [
                p.r#type.clone(),
                p.provider.clone().unwrap_or_default(),
                p.country_code
                    .clone()
                    .or(p.country.clone())
                    .unwrap_or_default(),
            ]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · "),
            status: p.status.clone(),
            expires: kit::day(&p.expires_at),
            days_left: p.days_left,
            expiry: p.expiry_status,
            bots: p.bot_id.iter().cloned().collect(),
            ipqs: p.ipqs.clone(),
            last_checked: p
                .last_checked
                .as_deref()
                .map(kit::minute)
                .unwrap_or_default(),
            kind_type: p.r#type.clone(),
            notes: p.notes.clone().unwrap_or_default(),
        },
        ResourceRecord::Subscription(s) => ResView {
            id: s.id.clone(),
            label: s.service.clone().unwrap_or_else(|| s.r#type.to_uppercase()),
            detail: s.r#type.clone(),
            status: s.status.clone(),
            expires: kit::day(&s.expires_at),
            days_left: s.days_left,
            expiry: s.expiry_status,
            bots: s.bot_id.iter().cloned().collect(),
            ipqs: None,
            last_checked: String::new(),
            kind_type: s.r#type.clone(),
            notes: s.notes.clone().unwrap_or_default(),
        },
    }
}

#[derive(Deserialize, Default)]
pub struct ListFilter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    expiry: String,
    #[serde(default)]
    cursor: String,
}

#[derive(Template)]
#[template(path = "resources.html", blocks = ["content"])]
struct ResourcesPage {
    shell: Shell,
    kind: &'static str,
    singular: &'static str,
    rows: Vec<ResView>,
    stats: KindStats,
    warning_days: u32,
    statuses: Vec<(&'static str, bool)>,
    types: Vec<&'static str>,
    expiry: String,
    q: String,
    next: Option<String>,
    bots: Vec<(String, String)>,
    notice: Option<String>,
    errors: FieldErrors,
}

impl ResourcesPage {
    fn e(&self, key: &str) -> String {
        kit::err_of(&self.errors, key)
    }

    /// Rows of this page expiring soon (not yet expired), soonest first.
    fn expiring(&self) -> Vec<&ResView> {
        let mut rows: Vec<&ResView> = self
            .rows
            .iter()
            .filter(|r| r.expiry == ExpiryStatus::Expiring)
            .collect();
        rows.sort_by_key(|r| r.days_left);
        rows
    }

    fn bot_name(&self, id: &str) -> String {
        self.bots
            .iter()
            .find(|(b, _)| b == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| kit::short(id).to_owned())
    }
}

fn meta(kind: ResourceKind) -> (&'static str, &'static str, &'static [&'static str]) {
    match kind {
        ResourceKind::Licenses => ("Licenses", "license", &LICENSE_STATUSES),
        ResourceKind::Proxies => ("Proxies", "proxy", &PROXY_STATUSES),
        ResourceKind::Subscriptions => ("Subscriptions", "subscription", &SUBSCRIPTION_STATUSES),
    }
}

async fn view(
    ctx: &PageCtx,
    kind: ResourceKind,
    f: &ListFilter,
    notice: Option<String>,
    errors: FieldErrors,
) -> Result<Response, WebError> {
    let (title, singular, statuses) = meta(kind);
    let status = kit::opt(&f.status);
    let expiry = kit::opt(&f.expiry);
    let query = crate::web::render::validated(ResourceListQuery {
        cursor: kit::opt(&f.cursor),
        limit: Some(50),
        status: status.clone(),
        expiry_status: expiry.clone(),
        q: kit::opt(&f.q),
        ..Default::default()
    })?;
    let (rows, meta) = ctx.app.resources.list(&ctx.principal, kind, &query).await?;
    let stats = ctx.app.resources.stats(&ctx.principal).await?;
    let kind_stats = match kind {
        ResourceKind::Licenses => stats.licenses,
        ResourceKind::Proxies => stats.proxies,
        ResourceKind::Subscriptions => stats.subscriptions,
    };
    let (bots, _) = ctx
        .app
        .bots
        .list(
            &ctx.principal,
            &BotListQuery {
                limit: Some(500),
                ..Default::default()
            },
        )
        .await?;
    let shell = ctx
        .shell(title, vec![Crumb::here("Resources"), Crumb::here(title)])
        .await;
    respond!(
        ctx,
        ResourcesPage {
            shell,
            kind: kind.as_str(),
            singular,
            rows: rows.iter().map(view_of).collect(),
            stats: kind_stats,
            warning_days: stats.warning_days,
            statuses: statuses
                .iter()
                .map(|s| (*s, status.as_deref() == Some(*s)))
                .collect(),
            types: match kind {
                ResourceKind::Proxies => PROXY_TYPES.to_vec(),
                ResourceKind::Subscriptions => SUBSCRIPTION_TYPES.to_vec(),
                ResourceKind::Licenses => Vec::new(),
            },
            expiry: expiry.unwrap_or_default(),
            q: f.q.clone(),
            next: meta.next_cursor,
            bots: bots
                .iter()
                .map(|b| (b.id.clone(), super::projects::bot_label(b)))
                .collect(),
            notice,
            errors,
        }
    )
}

fn kind_of(raw: &str) -> Result<ResourceKind, WebError> {
    ResourceKind::parse(raw)
        .ok_or_else(|| WebError::new(StatusCode::NOT_FOUND, "No such resource kind"))
}

pub async fn licenses(ctx: PageCtx, Query(f): Query<ListFilter>) -> Result<Response, WebError> {
    view(&ctx, ResourceKind::Licenses, &f, None, FieldErrors::new()).await
}

pub async fn proxies(ctx: PageCtx, Query(f): Query<ListFilter>) -> Result<Response, WebError> {
    view(&ctx, ResourceKind::Proxies, &f, None, FieldErrors::new()).await
}

pub async fn subscriptions(
    ctx: PageCtx,
    Query(f): Query<ListFilter>,
) -> Result<Response, WebError> {
    view(
        &ctx,
        ResourceKind::Subscriptions,
        &f,
        None,
        FieldErrors::new(),
    )
    .await
}

/// Create and edit share one form; blank fields are left out of an edit.
#[derive(Deserialize, Default)]
pub struct ResourceForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    r#type: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    expires_at: String,
    #[serde(default)]
    bot_id: String,
    #[serde(default)]
    notes: String,
    // proxies
    #[serde(default)]
    host: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    provider: String,
    /// `ip:port:login:password` and the other pasted forms; fills the fields above.
    #[serde(default)]
    proxy: String,
    #[serde(default)]
    country: String,
    // subscriptions
    #[serde(default)]
    service: String,
    #[serde(default)]
    price: String,
}

/// The parts of a pasted proxy string.
#[derive(Debug, PartialEq)]
struct ProxyParts {
    kind: Option<String>,
    host: String,
    port: String,
    login: Option<String>,
    password: Option<String>,
}

/// Reads `[scheme://]ip:port:login:password`, `ip:port@login:password`,
/// `login:password@ip:port` or `ip:port` (the forms operators paste from providers).
fn parse_proxy(raw: &str) -> Option<ProxyParts> {
    let raw = raw.trim();
    let (kind, rest) = match raw.split_once("://") {
        Some((scheme, rest)) => {
            let scheme = scheme.to_ascii_lowercase();
            if !PROXY_TYPES.contains(&scheme.as_str()) {
                return None;
            }
            (Some(scheme), rest)
        }
        None => (None, raw),
    };
    let is_port = |p: &str| p.parse::<u16>().is_ok_and(|n| n > 0);
    let (addr, creds) = match rest.split_once('@') {
        Some((a, b)) => {
            // Whichever side ends in a port is the address.
            match (a.rsplit_once(':'), b.rsplit_once(':')) {
                (_, Some((_, p))) if is_port(p) => (b, Some(a)),
                (Some((_, p)), _) if is_port(p) => (a, Some(b)),
                _ => return None,
            }
        }
        None => {
            let parts: Vec<&str> = rest.split(':').collect();
            match parts.as_slice() {
                [h, p] => return proxy_parts(kind, h, p, None),
                [h, p, l, pw] => return proxy_parts(kind, h, p, Some((l, pw))),
                _ => return None,
            }
        }
    };
    let (h, p) = addr.rsplit_once(':')?;
    let creds = match creds {
        Some(c) => Some(c.split_once(':')?),
        None => None,
    };
    proxy_parts(kind, h, p, creds)
}

fn proxy_parts(
    kind: Option<String>,
    host: &str,
    port: &str,
    creds: Option<(&str, &str)>,
) -> Option<ProxyParts> {
    if host.is_empty() || port.parse::<u16>().map_or(true, |n| n == 0) {
        return None;
    }
    Some(ProxyParts {
        kind,
        host: host.to_owned(),
        port: port.to_owned(),
        login: creds.map(|c| c.0.to_owned()),
        password: creds.map(|c| c.1.to_owned()),
    })
}

fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

fn write_of(
    kind: ResourceKind,
    f: &ResourceForm,
    creating: bool,
) -> Result<Result<ResourceWrite, FieldErrors>, WebError> {
    let mut parsed;
    let f = if kind == ResourceKind::Proxies && !f.proxy.trim().is_empty() {
        let Some(p) = parse_proxy(&f.proxy) else {
            return Ok(Err(FieldErrors::from([(
                "proxy".to_owned(),
                vec!["Invalid proxy format. Use: ip:port:login:password".to_owned()],
            )])));
        };
        parsed = ResourceForm::default();
        parsed.host = p.host;
        parsed.port = p.port;
        parsed.username = p.login.unwrap_or_default();
        parsed.password = p.password.unwrap_or_default();
        parsed.r#type = p.kind.unwrap_or_else(|| f.r#type.clone());
        parsed.provider = f.provider.clone();
        parsed.expires_at = f.expires_at.clone();
        parsed.bot_id = f.bot_id.clone();
        parsed.notes = f.notes.clone();
        parsed.status = f.status.clone();
        &parsed
    } else {
        f
    };
    let expires_at = kit::end_of_day(&f.expires_at)?;
    let expires = match (expires_at, creating) {
        (Some(t), _) => Some(Some(t)),
        (None, true) => None,
        (None, false) => None,
    };
    let bot = kit::opt(&f.bot_id);
    let notes = kit::opt(&f.notes).map(Some);
    let checked = match kind {
        ResourceKind::Licenses => kit::check_input(LicenseWrite {
            key: kit::opt(&f.key),
            r#type: kit::opt(&f.r#type).map(Some),
            status: kit::opt(&f.status),
            expires_at: expires,
            bot_ids: bot.map(|b| Some(vec![b])),
            notes,
            ..Default::default()
        })
        .map(ResourceWrite::License),
        ResourceKind::Proxies => {
            let port = match kit::opt(&f.port) {
                None => None,
                Some(p) => match p.parse::<u32>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        return Ok(Err(FieldErrors::from([(
                            "port".to_owned(),
                            vec!["must be a number from 1 to 65535".to_owned()],
                        )])));
                    }
                },
            };
            let host = kit::opt(&f.host);
            kit::check_input(ProxyWrite {
                ip: host.clone().filter(|h| is_ip(h)).map(Some),
                host: host.map(Some),
                port,
                r#type: kit::opt(&f.r#type),
                username: kit::opt(&f.username).map(Some),
                password: kit::opt(&f.password).map(Some),
                provider: kit::opt(&f.provider).map(Some),
                country: kit::opt(&f.country).map(Some),
                status: kit::opt(&f.status),
                expires_at: expires,
                bot_id: bot.map(Some),
                notes,
                ..Default::default()
            })
            .map(ResourceWrite::Proxy)
        }
        ResourceKind::Subscriptions => {
            let price = match kit::opt(&f.price) {
                None => None,
                Some(p) => match p.parse::<f64>() {
                    Ok(n) => Some(Some(n)),
                    Err(_) => {
                        return Ok(Err(FieldErrors::from([(
                            "price".to_owned(),
                            vec!["must be a number".to_owned()],
                        )])));
                    }
                },
            };
            kit::check_input(SubscriptionWrite {
                r#type: kit::opt(&f.r#type),
                service: kit::opt(&f.service).map(Some),
                price,
                status: kit::opt(&f.status),
                expires_at: expires,
                bot_id: bot.map(Some),
                notes,
                ..Default::default()
            })
            .map(ResourceWrite::Subscription)
        }
    };
    Ok(checked)
}

pub async fn create(
    ctx: PageCtx,
    Path(kind): Path<String>,
    Form(f): Form<ResourceForm>,
) -> Result<Response, WebError> {
    let kind = kind_of(&kind)?;
    let result = match write_of(kind, &f, true)? {
        Ok(w) => ctx
            .app
            .resources
            .create(&ctx.principal, w)
            .await
            .map_err(kit::field_errors),
        Err(e) => Err(Ok(e)),
    };
    match result {
        Ok(_) => {
            let (_, singular, _) = meta(kind);
            after_change!(
                ctx,
                format!("/{}", kind.as_str()),
                view(
                    &ctx,
                    kind,
                    &ListFilter::default(),
                    Some(format!("The {singular} was created")),
                    FieldErrors::new()
                )
                .await
            )
        }
        Err(Ok(errors)) => view(&ctx, kind, &ListFilter::default(), None, errors).await,
        Err(Err(web)) => Err(web),
    }
}

pub async fn update(
    ctx: PageCtx,
    Path((kind, id)): Path<(String, String)>,
    Form(f): Form<ResourceForm>,
) -> Result<Response, WebError> {
    let kind = kind_of(&kind)?;
    let result = match write_of(kind, &f, false)? {
        Ok(w) => ctx
            .app
            .resources
            .update(&ctx.principal, &id, w)
            .await
            .map_err(kit::field_errors),
        Err(e) => Err(Ok(e)),
    };
    match result {
        Ok(_) => changed(&ctx, kind, "Saved").await,
        Err(Ok(errors)) => view(&ctx, kind, &ListFilter::default(), None, errors).await,
        Err(Err(web)) => Err(web),
    }
}

async fn changed(ctx: &PageCtx, kind: ResourceKind, notice: &str) -> Result<Response, WebError> {
    after_change!(
        ctx,
        format!("/{}", kind.as_str()),
        view(
            ctx,
            kind,
            &ListFilter::default(),
            Some(notice.to_owned()),
            FieldErrors::new()
        )
        .await
    )
}

pub async fn delete(
    ctx: PageCtx,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let kind = kind_of(&kind)?;
    ctx.app.resources.delete(&ctx.principal, kind, &id).await?;
    changed(&ctx, kind, "Deleted").await
}

#[derive(Deserialize)]
pub struct BotForm {
    #[serde(default)]
    bot_id: String,
}

pub async fn assign(
    ctx: PageCtx,
    Path((kind, id)): Path<(String, String)>,
    Form(f): Form<BotForm>,
) -> Result<Response, WebError> {
    let kind = kind_of(&kind)?;
    let bot = kit::opt(&f.bot_id)
        .ok_or_else(|| WebError::new(StatusCode::BAD_REQUEST, "Choose a bot"))?;
    ctx.app
        .resources
        .assign(&ctx.principal, kind, &id, &bot)
        .await?;
    changed(&ctx, kind, "Assigned").await
}

pub async fn unassign(
    ctx: PageCtx,
    Path((kind, id)): Path<(String, String)>,
    Form(f): Form<BotForm>,
) -> Result<Response, WebError> {
    let kind = kind_of(&kind)?;
    let bot = kit::opt(&f.bot_id);
    ctx.app
        .resources
        .unassign(&ctx.principal, kind, &id, bot.as_deref())
        .await?;
    changed(&ctx, kind, "Unassigned").await
}

/// Runs the IPQS check for a proxy's address and stores the result on the proxy. Without a
/// configured key the service's `IPQS_NOT_CONFIGURED` message is shown.
pub async fn ipqs(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    let record = ctx
        .app
        .resources
        .get(&ctx.principal, ResourceKind::Proxies, &id)
        .await?;
    let ResourceRecord::Proxy(proxy) = record else {
        return Err(WebError::new(StatusCode::NOT_FOUND, "Not a proxy"));
    };
    let ip = proxy.ip.clone().unwrap_or(proxy.host.clone());
    let r = ctx.app.ipqs.check(&ctx.principal, &ip).await?;
    let score = u8::try_from(r.fraud_score.clamp(0, 100)).ok();
    let stored = IpqsResult {
        fraud_score: score,
        country_code: r.country_code.clone(),
        region: r.region.clone(),
        city: r.city.clone(),
        isp: r.isp.clone(),
        organization: r.organization.clone(),
        asn: r.asn.and_then(|a| u32::try_from(a).ok()),
        vpn: Some(r.vpn),
        proxy: Some(r.proxy),
        tor: Some(r.tor),
        bot_status: Some(r.bot_status),
        recent_abuse: Some(r.recent_abuse),
        mobile: Some(r.mobile),
    };
    let write = ProxyWrite {
        fraud_score: Some(score),
        country_code: r.country_code.clone().map(Some),
        ipqs: Some(Some(stored)),
        last_checked: Some(Timestamp::from_ms(chrono::Utc::now().timestamp_millis())),
        ..Default::default()
    };
    ctx.app
        .resources
        .update(&ctx.principal, &id, ResourceWrite::Proxy(write))
        .await?;
    let score = score
        .map(|s| s.to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    changed(
        &ctx,
        ResourceKind::Proxies,
        &format!("Proxy checked. Fraud score: {score}"),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_proxy_strings_are_read_in_every_form() {
        let full = |kind: Option<&str>| ProxyParts {
            kind: kind.map(str::to_owned),
            host: "1.2.3.4".into(),
            port: "8080".into(),
            login: Some("user".into()),
            password: Some("pw".into()),
        };
        assert_eq!(parse_proxy("1.2.3.4:8080:user:pw"), Some(full(None)));
        assert_eq!(parse_proxy("1.2.3.4:8080@user:pw"), Some(full(None)));
        assert_eq!(parse_proxy("user:pw@1.2.3.4:8080"), Some(full(None)));
        assert_eq!(
            parse_proxy("http://1.2.3.4:8080:user:pw"),
            Some(full(Some("http")))
        );
        assert_eq!(parse_proxy("1.2.3.4:8080").map(|p| p.login), Some(None));
        assert_eq!(parse_proxy("1.2.3.4"), None);
        assert_eq!(parse_proxy("ftp://1.2.3.4:21"), None);
        assert_eq!(parse_proxy("1.2.3.4:0:u:p"), None);
    }
}
