//! A real S3-compatible server for tests: moto's server in a child process, on a free
//! loopback port, with one bucket created.
//!
//! moto answers S3 requests but does not check presigned URLs at all (any signature, any
//! age is served). The launcher below therefore puts a strict verifier in front of moto:
//! a request carrying `X-Amz-Signature` is checked the way S3 checks it (SigV4 over the
//! canonical request with `UNSIGNED-PAYLOAD`, known access key, `X-Amz-Date +
//! X-Amz-Expires` not passed) and refused with 403 otherwise. Everything else goes to
//! moto unchanged.
//!
//! Needs `python3` with moto's server extras: `pip install 'moto[server]'`. Under `CI=true`
//! a missing moto is an error; elsewhere the S3 tests skip with a message.

use crate::db::in_ci;
use anyhow::{Context, bail};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY_ID: &str = "botmoxtestaccesskey";
pub const SECRET_ACCESS_KEY: &str = "botmox-test-secret-access-key";
pub const REGION: &str = "us-east-1";

const LAUNCHER: &str = r#"
import datetime, hashlib, hmac, logging, sys
from urllib.parse import quote, unquote
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

PORT, ACCESS, SECRET = int(sys.argv[1]), sys.argv[2], sys.argv[3]
logging.getLogger("werkzeug").setLevel(logging.ERROR)
moto_app = DomainDispatcherApplication(create_backend_app)

def enc(s):
    return quote(s, safe="-_.~")

def refusal(environ):
    raw_qs = environ.get("QUERY_STRING", "")
    pairs = []
    for part in raw_qs.split("&"):
        if part:
            k, _, v = part.partition("=")
            pairs.append((unquote(k), unquote(v)))
    q = dict(pairs)
    if "X-Amz-Signature" not in q:
        return None
    if q.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        return ("AuthorizationQueryParametersError", "Unsupported algorithm")
    cred = q.get("X-Amz-Credential", "").split("/")
    if len(cred) != 5 or cred[4] != "aws4_request":
        return ("AuthorizationQueryParametersError", "Malformed credential")
    key_id, day, region, service, _ = cred
    if key_id != ACCESS:
        return ("InvalidAccessKeyId", "The AWS Access Key Id does not exist")
    amz_date = q.get("X-Amz-Date", "")
    try:
        expires = int(q.get("X-Amz-Expires", ""))
        signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return ("AuthorizationQueryParametersError", "Malformed date or expiry")
    if datetime.datetime.now(datetime.timezone.utc) > signed_at + datetime.timedelta(seconds=expires):
        return ("AccessDenied", "Request has expired")
    signed_headers = q.get("X-Amz-SignedHeaders", "host").split(";")
    values = {"host": environ.get("HTTP_HOST", "")}
    for h in signed_headers:
        if h != "host":
            values[h] = environ.get("HTTP_" + h.upper().replace("-", "_"), "").strip()
    path = (environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")).split("?", 1)[0]
    canonical = "\n".join([
        environ["REQUEST_METHOD"],
        path,
        "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(pairs) if k != "X-Amz-Signature"),
        "".join(f"{h}:{values[h]}\n" for h in signed_headers),
        ";".join(signed_headers),
        "UNSIGNED-PAYLOAD",
    ])
    to_sign = "\n".join([
        "AWS4-HMAC-SHA256", amz_date, f"{day}/{region}/{service}/aws4_request",
        hashlib.sha256(canonical.encode()).hexdigest(),
    ])
    key = ("AWS4" + SECRET).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, q["X-Amz-Signature"]):
        return ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided")
    return None

def app(environ, start_response):
    problem = refusal(environ)
    if problem is None:
        return moto_app(environ, start_response)
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{problem[0]}</Code>'
            f"<Message>{problem[1]}</Message></Error>").encode()
    start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]

run_simple("127.0.0.1", PORT, app, threaded=True)
"#;

/// A running S3 server with one bucket; the process is killed when this is dropped.
pub struct MotoS3 {
    pub endpoint: String,
    pub bucket: String,
    child: Child,
    /// Holds the launcher script and its log.
    _dir: Option<tempfile::TempDir>,
}

/// Whether `python3` can import moto's server.
pub fn moto_available() -> bool {
    Command::new("python3")
        .args(["-c", "import moto.server, werkzeug"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl MotoS3 {
    /// Starts the server and creates a bucket. `Ok(None)` when moto is missing outside CI.
    pub async fn start() -> anyhow::Result<Option<Self>> {
        if !moto_available() {
            if in_ci() {
                bail!("moto is required under CI: pip install 'moto[server]'");
            }
            eprintln!(
                "python3 cannot import moto.server; skipping this S3 test (pip install 'moto[server]')"
            );
            return Ok(None);
        }
        let dir = tempfile::tempdir()?;
        let script = dir.path().join("s3_server.py");
        std::fs::write(&script, LAUNCHER)?;
        let log: PathBuf = dir.path().join("s3_server.log");
        // A few tries: another process may take the port between choosing and binding it.
        let mut last_err = None;
        for _ in 0..3 {
            let port = free_port()?;
            let child = Command::new("python3")
                .arg(&script)
                .arg(port.to_string())
                .arg(ACCESS_KEY_ID)
                .arg(SECRET_ACCESS_KEY)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log)?)
                .spawn()
                .context("starting python3")?;
            let mut server = MotoS3 {
                endpoint: format!("http://127.0.0.1:{port}"),
                bucket: format!("botmox-{}", uuid::Uuid::new_v4().simple()),
                child,
                _dir: None,
            };
            match server.wait_ready(Duration::from_secs(60)).await {
                Ok(()) => {
                    server.create_bucket().await?;
                    server._dir = Some(dir);
                    return Ok(Some(server));
                }
                Err(e) => {
                    let output = std::fs::read_to_string(&log).unwrap_or_default();
                    last_err = Some(e.context(output));
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("S3 server did not start")))
    }

    async fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("S3 server exited with {status}");
            }
            if http.get(&self.endpoint).send().await.is_ok() {
                return Ok(());
            }
            if start.elapsed() > limit {
                bail!("S3 server did not answer within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn create_bucket(&self) -> anyhow::Result<()> {
        // moto accepts unsigned requests; the verifier only looks at presigned ones.
        let resp = reqwest::Client::new()
            .put(format!("{}/{}", self.endpoint, self.bucket))
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("creating bucket {}: {}", self.bucket, resp.status());
        }
        Ok(())
    }

    /// The server configuration that points at this S3.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("S3_ENDPOINT", self.endpoint.clone()),
            ("S3_BUCKET", self.bucket.clone()),
            ("S3_REGION", REGION.to_owned()),
            ("S3_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("S3_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("S3_FORCE_PATH_STYLE", "true".to_owned()),
        ]
    }

    /// Whether an object exists (unsigned HEAD; moto does not require auth).
    pub async fn object_exists(&self, key: &str) -> anyhow::Result<bool> {
        let resp = reqwest::Client::new()
            .head(format!("{}/{}/{}", self.endpoint, self.bucket, key))
            .send()
            .await?;
        Ok(resp.status().is_success())
    }

    /// Stores an object directly, as an operator publishing a file would (unsigned PUT).
    pub async fn put_object(&self, key: &str, body: Vec<u8>) -> anyhow::Result<()> {
        let resp = reqwest::Client::new()
            .put(format!("{}/{}/{}", self.endpoint, self.bucket, key))
            .body(body)
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("storing {key}: {}", resp.status());
        }
        Ok(())
    }

    /// Every key in the bucket (unsigned ListObjectsV2).
    pub async fn keys(&self) -> anyhow::Result<Vec<String>> {
        let body = reqwest::Client::new()
            .get(format!("{}/{}?list-type=2", self.endpoint, self.bucket))
            .send()
            .await?
            .text()
            .await?;
        Ok(body
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_owned)
            .collect())
    }

    /// A GET URL for `key` presigned with this server's credentials as if at `signed_at`
    /// (epoch seconds), valid `expires_secs`: lets a test build a genuinely signed URL that
    /// has already expired.
    pub fn presign_get_at(&self, key: &str, signed_at: i64, expires_secs: u64) -> String {
        let when = chrono::DateTime::from_timestamp(signed_at, 0).unwrap_or_default();
        let amz_date = when.format("%Y%m%dT%H%M%SZ").to_string();
        let day = when.format("%Y%m%d").to_string();
        let host = self.endpoint.trim_start_matches("http://").to_owned();
        let path = format!("/{}/{}", self.bucket, key);
        let credential = format!("{ACCESS_KEY_ID}/{day}/{REGION}/s3/aws4_request");
        let mut query = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_owned()),
            ("X-Amz-Credential", credential),
            ("X-Amz-Date", amz_date.clone()),
            ("X-Amz-Expires", expires_secs.to_string()),
            ("X-Amz-SignedHeaders", "host".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), uri_encode(&v)));
        query.sort();
        let canonical_query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let canonical =
            format!("GET\n{path}\n{canonical_query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{day}/{REGION}/s3/aws4_request\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let mut key_bytes = format!("AWS4{SECRET_ACCESS_KEY}").into_bytes();
        for part in [day.as_str(), REGION, "s3", "aws4_request"] {
            key_bytes = hmac_sha256(&key_bytes, part.as_bytes());
        }
        let signature = hex::encode(hmac_sha256(&key_bytes, to_sign.as_bytes()));
        format!(
            "{}{path}?{canonical_query}&X-Amz-Signature={signature}",
            self.endpoint
        )
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn uri_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Drop for MotoS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
