//! A loopback HTTP proxy in front of Azurite that makes one blob disappear mid-listing: it
//! forwards every request unchanged, and once a container listing naming the chosen blob has
//! passed through it deletes that blob in Azurite before handing the listing back. The blob is then listed but gone
//! when the client downloads it, as when a lifecycle rule or an operator deletes it meanwhile.

use std::net::SocketAddr;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

#[derive(Clone)]
struct Target {
    /// `http://127.0.0.1:PORT` of Azurite.
    base: String,
    /// The blob's name, and its URL in Azurite with a SAS that may delete.
    name: String,
    delete_url: String,
    http: reqwest::Client,
}

/// A running proxy; it stops with the test process.
pub struct Proxy {
    pub port: u16,
}

impl Proxy {
    /// Starts a proxy to `azurite_base` that deletes the blob `name` (at `delete_url`) once a
    /// listing has named it.
    pub fn start(azurite_base: &str, name: &str, delete_url: String) -> Proxy {
        let target = Target {
            base: azurite_base.to_string(),
            name: name.to_string(),
            delete_url,
            http: reqwest::Client::new(),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("its address").port();
        listener.set_nonblocking(true).expect("non-blocking");
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                let app = axum::Router::new().fallback(forward).with_state(target);
                axum::serve(listener, app).await.expect("the proxy serves");
            });
        });
        Proxy { port }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", SocketAddr::from(([127, 0, 0, 1], self.port)))
    }
}

async fn forward(State(t): State<Target>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let is_listing = parts.uri.query().is_some_and(|q| q.contains("comp=list"));
    let body = to_bytes(body, usize::MAX).await.expect("a request body");
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if name != "host" {
            headers.insert(name.clone(), value.clone());
        }
    }
    let answer = t
        .http
        .request(parts.method, format!("{}{path}", t.base))
        .headers(headers)
        .body(body)
        .send()
        .await
        .expect("Azurite answers");
    let status = answer.status();
    let answer_headers = answer.headers().clone();
    let bytes = answer.bytes().await.expect("Azurite's body");
    let names_it = String::from_utf8_lossy(&bytes).contains(&format!("<Name>{}</Name>", t.name));
    if is_listing && status.is_success() && names_it {
        let deleted = t.http.delete(&t.delete_url).send().await.expect("delete");
        assert!(deleted.status().is_success(), "{}", deleted.status());
    }
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = StatusCode::from_u16(status.as_u16()).expect("a status");
    for (name, value) in &answer_headers {
        if name != "transfer-encoding" && name != "content-length" {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}
