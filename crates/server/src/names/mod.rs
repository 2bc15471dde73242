//! WoW-style character names (`/wow-names`), generated, not looked up.

pub mod generator;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::ValidQuery;
use crate::response::{self, Ok};
use botmox_contract::names::{WowNames, WowNamesQuery};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use generator::Gender;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::new().routes(routes!(wow_names))
}

/// Builds the answer for a validated query.
pub fn names(query: &WowNamesQuery) -> ApiResult<WowNames> {
    let batches = query.batches.unwrap_or(1);
    let count = query.count.unwrap_or(batches * 10) as usize;
    let gender = match query.gender.as_deref() {
        Some("male") => Some(Gender::Male),
        Some("female") => Some(Gender::Female),
        _ => None,
    };
    let seed = query.seed.unwrap_or_else(rand::random);
    let list = generator::generate(&generator::Request {
        count,
        race: query.race.as_deref(),
        gender,
        seed,
    });
    // Pick "random" from the same seeded stream, so it is reproducible too.
    let mut rng = generator::Rng::new(seed ^ 0x5EED);
    let random = list.get(rng.below(list.len())).cloned().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "WOW_NAMES_EMPTY",
            "No names could be generated",
        )
    })?;
    Ok(WowNames {
        names: list,
        random,
        batches,
        race: query.race.clone().unwrap_or_else(|| "mixed".to_owned()),
        gender: query.gender.clone().unwrap_or_else(|| "any".to_owned()),
        seed,
        source: "generator".to_owned(),
    })
}

/// Fresh, pronounceable, unique character names in a race's style. `count` names, or
/// `batches` × 10; the same `seed` and parameters give the same names.
#[utoipa::path(get, path = "/api/v1/wow-names", tag = "names",
    params(WowNamesQuery),
    responses(
        (status = 200, body = SuccessEnvelope<WowNames>),
        (status = 400, description = "WOW_NAMES_INVALID_QUERY", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn wow_names(
    _principal: Principal,
    ValidQuery(query): ValidQuery<WowNamesQuery>,
) -> ApiResult<Ok<WowNames>> {
    Ok(response::ok(names(&query)?))
}
