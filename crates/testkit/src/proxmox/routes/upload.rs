//! `POST /nodes/{node}/storage/{storage}/upload`: multipart uploads of ISOs and templates.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use sha2::Digest;

use crate::proxmox::auth::AuthUser;
use crate::proxmox::error::{ApiError, ApiResult, data};
use crate::proxmox::params::Params;
use crate::proxmox::state::{Shared, World};
use crate::proxmox::storage::FileEntry;
use crate::proxmox::tasks::NewTask;

/// A filename Proxmox would store unchanged. Real Proxmox silently rewrites unsafe names; the
/// simulator refuses them so a client that forgets to sanitise its names is caught in tests.
fn safe_filename(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'='))
}

fn has_extension(name: &str, content: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let stem_ok = |ext: &str| lower.len() > ext.len() && lower.ends_with(ext);
    match content {
        "iso" => [".iso", ".img"].into_iter().any(stem_ok),
        "vztmpl" => [".tar", ".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2"]
            .into_iter()
            .any(stem_ok),
        _ => [".ova", ".qcow2", ".raw", ".vmdk"].into_iter().any(stem_ok),
    }
}

/// pveproxy's answer to a malformed or oversized upload body.
fn upload_failed() -> ApiError {
    ApiError::bare(StatusCode::NOT_IMPLEMENTED, "upload failed")
}

/// Reads the multipart body: text fields plus the file part, which must be named `filename`
/// (its own file name becomes the `filename` parameter, as in pveproxy).
async fn read_multipart(request: Request) -> Result<(Params, Option<Bytes>), ApiError> {
    let mut fields: BTreeMap<String, String> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(ApiError::bare(
            StatusCode::NOT_IMPLEMENTED,
            format!("upload 'Content-Type '{content_type}' not implemented"),
        ));
    }
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|_| upload_failed())?;
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(|_| upload_failed())? {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) if name == "filename" => {
                file = Some(field.bytes().await.map_err(|_| upload_failed())?);
                fields.insert(name, file_name);
            }
            Some(_) => return Err(upload_failed()),
            None => {
                let text = field.text().await.map_err(|_| upload_failed())?;
                fields.insert(name, text);
            }
        }
    }
    Ok((Params(fields), file))
}

/// `POST …/upload`: stores the file when the `imgcopy` task finishes.
pub(crate) async fn upload(
    State(shared): State<Arc<Shared>>,
    Extension(user): Extension<AuthUser>,
    Path((node, storage)): Path<(String, String)>,
    request: Request,
) -> ApiResult {
    let (params, file) = read_multipart(request).await?;
    params.check(&["content", "filename"], |k| {
        matches!(
            k,
            "node" | "storage" | "checksum" | "checksum-algorithm" | "tmpfilename"
        )
    })?;
    let content = params
        .enumerated("content", &["iso", "vztmpl", "import"])?
        .unwrap_or_default()
        .to_owned();
    let algorithm = params.enumerated(
        "checksum-algorithm",
        &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"],
    )?;
    let checksum = params.text("checksum").map(str::to_owned);
    match (&checksum, algorithm) {
        (Some(_), None) => {
            return Err(ApiError::param(
                "checksum-algorithm",
                "missing property - 'checksum' requires this property",
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::param(
                "checksum",
                "missing property - 'checksum-algorithm' requires this property",
            ));
        }
        _ => {}
    }
    let algorithm = algorithm.map(str::to_owned);
    let bytes = file.ok_or_else(upload_failed)?;
    let filename = params.get("filename").unwrap_or_default().to_owned();

    let mut world = shared.lock();
    let spec = world.storage(&node, &storage)?.spec.clone();
    if !spec.has_path() {
        return Err(ApiError::fail(format!(
            "can't upload to storage type '{}'",
            spec.kind
        )));
    }
    if !safe_filename(&filename) {
        return Err(ApiError::param(
            "filename",
            "invalid filename - only letters, digits and . _ - + = are allowed, no path",
        ));
    }
    if !has_extension(&filename, &content) {
        let message = if content == "import" {
            "invalid filename or wrong extension"
        } else {
            "wrong file extension"
        };
        return Err(ApiError::param("filename", message));
    }
    if !spec.supports(&content) {
        return Err(ApiError::fail(format!(
            "storage '{storage}' does not support '{content}' content"
        )));
    }
    let temp = format!(
        "/var/tmp/pveupload-{}",
        hex::encode(rand::random::<[u8; 16]>())
    );
    let dest = format!("{}/{filename}", spec.dir_for(&content));
    let volname = format!("{content}/{filename}");
    let task_node = node.clone();
    let effect = Box::new(move |world: &mut World, log: &mut Vec<String>| {
        log.push(format!("starting file import from: {temp}"));
        if let (Some(expected), Some(algorithm)) = (checksum, algorithm) {
            log.push("calculating checksum...".to_owned());
            let got = digest_hex(&algorithm, &bytes)?;
            if !got.eq_ignore_ascii_case(&expected) {
                return Err(format!(
                    "checksum mismatch: got '{got}' != expect '{expected}'"
                ));
            }
            log.push("OK, checksum verified".to_owned());
        }
        log.push(format!("target node: {task_node}"));
        log.push(format!("target file: {dest}"));
        log.push(format!("file size is: {}", bytes.len()));
        log.push(format!("command: cp -- {temp} {dest}"));
        let ctime = world.now();
        let store = world
            .storage_mut(&task_node, &storage)
            .map_err(|e| e.message())?;
        store.files.insert(volname, FileEntry { bytes, ctime });
        log.push("finished file import successfully".to_owned());
        Ok(())
    });
    let upid = shared.start_task(
        &mut world,
        NewTask::new(&node, "imgcopy", "", &user.userid, effect),
    );
    Ok(data(upid))
}

fn digest_hex(algorithm: &str, bytes: &[u8]) -> Result<String, String> {
    Ok(match algorithm {
        "sha224" => hex::encode(sha2::Sha224::digest(bytes)),
        "sha256" => hex::encode(sha2::Sha256::digest(bytes)),
        "sha384" => hex::encode(sha2::Sha384::digest(bytes)),
        "sha512" => hex::encode(sha2::Sha512::digest(bytes)),
        other => {
            return Err(format!(
                "checksum algorithm '{other}' is not supported by the simulator"
            ));
        }
    })
}
