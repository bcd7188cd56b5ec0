//! The OpenAPI document: valid against the official OpenAPI 3.1 JSON Schema, and describing
//! exactly the routes the router serves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;

const OPENAPI_31_SCHEMA: &str = include_str!("data/openapi-3.1.schema.json");

#[tokio::test]
async fn the_served_document_is_valid_openapi_3_1() {
    let p = common::project().await;
    let (status, doc) = p.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK, "served without a token");
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    let schema: Value = serde_json::from_str(OPENAPI_31_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema check is not vacuous: a broken document fails it.
    let mut broken = doc.clone();
    broken["paths"]["/api/v1/runs"]["get"]["responses"] = Value::String("nope".to_owned());
    assert!(!validator.is_valid(&broken));
}

/// Every documented operation is served: with path parameters filled in, no request is
/// answered by the router's fallback (`nothing at ...`) or with 405.
#[tokio::test]
async fn every_documented_route_is_served() {
    let p = common::project().await;
    let token = p.token("alice").await;
    let doc = serde_json::to_value(aine_server::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{run}", "run_01ARZ3NDEKTSV4RRFFQ69G5FAV")
                .replace("{gate}", "gate_01ARZ3NDEKTSV4RRFFQ69G5FAV");
            let method: Method = method.to_uppercase().parse().unwrap();
            let mut req = Request::builder()
                .method(method.clone())
                .uri(&concrete)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::COOKIE, format!("aine_token={token}"));
            let body = if method == Method::POST {
                if concrete.starts_with("/api/") {
                    req = req.header(header::CONTENT_TYPE, "application/json");
                    Body::from("{}")
                } else {
                    req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                    Body::from("decision=approve&token=x")
                }
            } else {
                Body::empty()
            };
            let (status, _, body) = p.send(req.body(body).unwrap()).await;
            let text = String::from_utf8_lossy(&body);
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !text.contains("nothing at `"),
                "{method} {path} fell through: {text}"
            );
            operations.push(format!("{method} {path}"));
        }
    }
    operations.sort();
    let expected = [
        "GET /",
        "GET /api/v1/audit",
        "GET /api/v1/gates",
        "GET /api/v1/gates/{gate}",
        "GET /api/v1/me",
        "GET /api/v1/metrics/runs",
        "GET /api/v1/openapi.json",
        "GET /api/v1/runs",
        "GET /api/v1/runs/{run}",
        "GET /api/v1/runs/{run}/events",
        "GET /api/v1/runs/{run}/spec",
        "GET /audit",
        "GET /login",
        "GET /metrics",
        "GET /outcomes",
        "GET /review",
        "GET /review/{gate}",
        "GET /runs/{run}",
        "GET /runs/{run}/sources/{index}",
        "GET /runs/{run}/spec",
        "POST /api/v1/gates/{gate}/decision",
        "POST /api/v1/runs",
        "POST /login",
        "POST /logout",
        "POST /review/{gate}",
        "POST /review/{gate}/items",
    ];
    assert_eq!(operations, expected);
}

/// The other direction: the router has no route the document lacks, because every route is
/// registered through `utoipa_axum::routes!` (which adds its description) and none through
/// axum's plain `.route(...)`.
#[test]
fn no_route_is_registered_without_its_description() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for needle in [".route(", ".route_service(", ".nest(", ".nest_service("] {
            assert!(
                !text.contains(needle),
                "{} registers a route with `{needle}`; use `.routes(routes!(handler))`",
                path.display()
            );
        }
    }
}
