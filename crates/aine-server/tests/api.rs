//! The HTTP API through the router (no socket): auth, roles, runs, gates, specs, audit, and
//! every bad-input status.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use common::project;

#[tokio::test]
async fn requests_without_a_valid_token_get_401() {
    let p = project().await;
    let (status, body) = p.get("/api/v1/runs", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, _) = p.get("/api/v1/runs", Some("aine_0000")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = p.get("/api/v1/gates", Some("not-even-a-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Revoked tokens stop working.
    let token = p.token("alice").await;
    assert_eq!(p.get("/api/v1/me", Some(&token)).await.0, StatusCode::OK);
    let hash = aine_server::auth::token_hash(&token);
    assert!(
        p.state
            .runtime()
            .store()
            .revoke_token(&hash, 1)
            .await
            .unwrap()
    );
    assert_eq!(
        p.get("/api/v1/me", Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The response says how to authenticate.
    let (_, headers, _) = p
        .send(Request::get("/api/v1/runs").body(Body::empty()).unwrap())
        .await;
    assert!(headers.get(header::WWW_AUTHENTICATE).is_some());
}

#[tokio::test]
async fn only_the_hash_of_a_token_is_stored() {
    let p = project().await;
    let token = p.token("alice").await;
    let stored = p.state.runtime().store().tokens(None).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].sha256, aine_server::auth::token_hash(&token));
    assert_ne!(stored[0].sha256, token);
    let rt = p.state.runtime();
    let err =
        aine_server::auth::create_token(rt.store(), rt.config(), &common::person("zed"), "", 0)
            .await
            .unwrap_err();
    assert!(
        err.to_string()
            .contains("`zed` is not a person in aine.toml"),
        "{err}"
    );
}

#[tokio::test]
async fn a_run_started_over_http_waits_at_its_gate_and_finishes_when_approved() {
    let p = project().await;
    let alice = p.token("alice").await;
    let run = p
        .start(&alice, "wf.workflow.yaml", json!({ "name": "World" }))
        .await;

    let (status, view) = p.get(&format!("/api/v1/runs/{run}"), Some(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["status"], "waiting");
    assert_eq!(view["steps"][0]["state"], "ok");
    assert_eq!(view["steps"][0]["why"], "builtin `core.echo`");

    let (status, runs) = p.get("/api/v1/runs", Some(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(runs[0]["id"], run.to_string());
    assert_eq!(runs[0]["owners"], json!(["release-owner"]));
    assert_eq!(runs[0]["usd"], "0");

    let (status, gates) = p.get("/api/v1/gates", Some(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    let gate = gates[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(gates[0]["people"], json!(["alice"]));
    let (status, detail) = p.get(&format!("/api/v1/gates/{gate}"), Some(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["run"]["run"], run.to_string());

    let (status, decided) = p
        .post(
            &format!("/api/v1/gates/{gate}/decision"),
            Some(&alice),
            r#"{"decision": "approve", "reason": "looks right"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{decided}");
    assert_eq!(decided["by"], "alice");
    p.settle().await;
    let (_, view) = p.get(&format!("/api/v1/runs/{run}"), Some(&alice)).await;
    assert_eq!(view["status"], "succeeded");
    assert_eq!(
        view["steps"][2]["output"]["message"],
        "Hello, World! (approved by alice)"
    );

    // The audit chain recorded it and is intact.
    let (status, audit) = p.get("/api/v1/audit", Some(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(audit["ok"], true);
    assert!(audit["chain"]["entries"].as_u64().unwrap() >= 4);
    let (status, metrics) = p
        .get("/api/v1/metrics/runs?since=2000-01-01", Some(&alice))
        .await;
    assert_eq!(status, StatusCode::OK, "{metrics}");
}

#[tokio::test]
async fn roles_decide_who_starts_runs_and_who_decides_gates() {
    let p = project().await;
    let rita = p.token("rita").await;
    let pat = p.token("pat").await;
    let ops = p.token("ops").await;
    let alice = p.token("alice").await;
    // A reader may read but not start.
    let (status, body) = p
        .post(
            "/api/v1/runs",
            Some(&rita),
            r#"{"workflow": "wf.workflow.yaml", "inputs": {"name": "x"}}"#,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("may only read")
    );
    assert_eq!(p.get("/api/v1/runs", Some(&rita)).await.0, StatusCode::OK);
    let (_, me) = p.get("/api/v1/me", Some(&rita)).await;
    assert_eq!(me["may_start_runs"], false);

    let run = p
        .start(&pat, "wf.workflow.yaml", json!({ "name": "x" }))
        .await;
    let gate = p.open_gate(&run).await;
    let path = format!("/api/v1/gates/{gate}/decision");
    // Neither a reader nor the owner of another role may decide; an admin may.
    for token in [&rita, &pat] {
        let (status, body) = p
            .post(&path, Some(token), r#"{"decision": "approve"}"#)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let (status, _) = p
        .post(
            &path,
            Some(&ops),
            r#"{"decision": "reject", "reason": "no"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    p.settle().await;
    // Deciding again is a conflict.
    let (status, body) = p
        .post(&path, Some(&alice), r#"{"decision": "approve"}"#)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already decided")
    );
    let (_, view) = p.get(&format!("/api/v1/runs/{run}"), Some(&alice)).await;
    assert_eq!(view["status"], "rejected");
}

#[tokio::test]
async fn an_edit_that_breaks_the_contract_is_422_with_the_errors() {
    let p = project().await;
    let alice = p.token("alice").await;
    let run = p
        .start(&alice, "wf.workflow.yaml", json!({ "name": "x" }))
        .await;
    let gate = p.open_gate(&run).await;
    let path = format!("/api/v1/gates/{gate}/decision");
    let (status, body) = p
        .post(
            &path,
            Some(&alice),
            r#"{"decision": "edit", "output": {"message": 5}}"#,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "edit_breaks_contract");
    assert!(
        !body["error"]["errors"].as_array().unwrap().is_empty(),
        "{body}"
    );
    // An edit without output is a bad request; a valid edit goes through.
    let (status, _) = p.post(&path, Some(&alice), r#"{"decision": "edit"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = p
        .post(
            &path,
            Some(&alice),
            r#"{"decision": "edit", "output": {"message": "Hi"}}"#,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    p.settle().await;
    let (_, view) = p.get(&format!("/api/v1/runs/{run}"), Some(&alice)).await;
    assert_eq!(view["status"], "succeeded");
    assert_eq!(
        view["steps"][2]["output"]["message"],
        "Hi (approved by alice)"
    );
}

#[tokio::test]
async fn malformed_oversized_and_misdirected_bodies_are_refused() {
    let p = project().await;
    let alice = p.token("alice").await;
    let check = |status: StatusCode, expected: StatusCode, body: &serde_json::Value| {
        assert_eq!(status, expected, "{body}");
        assert_eq!(body["error"]["status"], expected.as_u16());
    };
    let (s, b) = p.post("/api/v1/runs", Some(&alice), "{not json").await;
    check(s, StatusCode::BAD_REQUEST, &b);
    let (s, b) = p
        .post("/api/v1/runs", Some(&alice), r#"{"workflow": 1}"#)
        .await;
    check(s, StatusCode::BAD_REQUEST, &b);
    let (s, b) = p
        .post(
            "/api/v1/runs",
            Some(&alice),
            r#"{"workflow": "x", "extra": 1}"#,
        )
        .await;
    check(s, StatusCode::BAD_REQUEST, &b);
    let huge = format!(
        r#"{{"workflow": "{}"}}"#,
        "x".repeat(aine_server::BODY_LIMIT_BYTES + 1)
    );
    let (s, b) = p.post("/api/v1/runs", Some(&alice), &huge).await;
    check(s, StatusCode::PAYLOAD_TOO_LARGE, &b);
    // Paths outside the project, unknown workflows, inputs that do not fit.
    let (s, b) = p
        .post(
            "/api/v1/runs",
            Some(&alice),
            r#"{"workflow": "../etc/passwd"}"#,
        )
        .await;
    check(s, StatusCode::BAD_REQUEST, &b);
    let (s, b) = p
        .post(
            "/api/v1/runs",
            Some(&alice),
            r#"{"workflow": "/etc/passwd"}"#,
        )
        .await;
    check(s, StatusCode::BAD_REQUEST, &b);
    let (s, b) = p
        .post(
            "/api/v1/runs",
            Some(&alice),
            r#"{"workflow": "nope.workflow.yaml"}"#,
        )
        .await;
    check(s, StatusCode::NOT_FOUND, &b);
    let (s, b) = p
        .post(
            "/api/v1/runs",
            Some(&alice),
            r#"{"workflow": "wf.workflow.yaml", "inputs": {"name": ""}}"#,
        )
        .await;
    check(s, StatusCode::UNPROCESSABLE_ENTITY, &b);
    assert_eq!(b["error"]["code"], "invalid_inputs");
    assert!(!b["error"]["errors"].as_array().unwrap().is_empty());
    // Wrong content type.
    let (s, _, _) = p
        .send(
            Request::post("/api/v1/runs")
                .header(header::AUTHORIZATION, format!("Bearer {alice}"))
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Bad query values.
    let (s, b) = p.get("/api/v1/runs?status=sleeping", Some(&alice)).await;
    check(s, StatusCode::BAD_REQUEST, &b);
    let (s, b) = p
        .get("/api/v1/metrics/runs?since=yesterday", Some(&alice))
        .await;
    check(s, StatusCode::BAD_REQUEST, &b);
    // Issue 14: query values of the wrong type are JSON errors too (they were axum's plain
    // text), limits are enforced as the document states, and an empty gate status is the default.
    for path in [
        "/api/v1/runs?limit=4398046511103",
        "/api/v1/runs?limit=abc",
        "/api/v1/runs?limit=1001",
        "/api/v1/runs?limit=0",
        "/api/v1/audit?files=null&files=null",
        "/api/v1/runs/run_01ARZ3NDEKTSV4RRFFQ69G5FAV/events?after=null",
        "/api/v1/metrics/runs?since=",
    ] {
        let (s, b) = p.get(path, Some(&alice)).await;
        check(s, StatusCode::BAD_REQUEST, &b);
        assert_eq!(b["error"]["code"], "bad_request", "{path}: {b}");
        // Who asks is checked before what is asked.
        let (s, b) = p.get(path, None).await;
        check(s, StatusCode::UNAUTHORIZED, &b);
    }
    let (s, b) = p.get("/api/v1/runs?limit=1000", Some(&alice)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = p.get("/api/v1/gates?status=", Some(&alice)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// Issue 14: a token holder could read any file the server can by naming it as a source.
#[tokio::test]
async fn inputs_naming_files_outside_the_project_are_refused_before_anything_is_journaled() {
    let p = project().await;
    let alice = p.token("alice").await;
    let pat = p.token("pat").await;
    let dir = p.dir.path();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.md"),
        "The secret shall be TOP-SECRET-42.\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.md"), dir.join("leak.md")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.join("linked")).unwrap();
    let secret = outside.path().join("secret.md").display().to_string();
    for (source, kind) in [
        (
            "/etc/passwd",
            "is an absolute path outside the project directory",
        ),
        (
            secret.as_str(),
            "is an absolute path outside the project directory",
        ),
        (
            "../../../../etc/hostname",
            "climbs out of the project directory",
        ),
        (
            "workflows/../../x.md",
            "climbs out of the project directory",
        ),
        ("leak.md", "leads through a symbolic link"),
        ("linked/secret.md", "leads through a symbolic link"),
    ] {
        let body = json!({
            "workflow": "workflows/requirements.workflow.yaml",
            "inputs": { "sources": ["notes.md", source] },
        })
        .to_string();
        let (status, b) = p.post("/api/v1/runs", Some(&pat), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{source}: {b}");
        assert_eq!(b["error"]["code"], "path_refused", "{source}: {b}");
        let errors = b["error"]["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{source}: {b}");
        let error = errors[0].as_str().unwrap();
        assert!(error.starts_with("step `ingest`, `sources`: "), "{error}");
        assert!(error.contains(kind), "{source}: {error}");
        assert!(error.contains("[files] allow"), "{error}");
    }
    // Nothing was journaled: no run exists, and no response or run ever held the file's text.
    let (_, runs) = p.get("/api/v1/runs", Some(&alice)).await;
    assert_eq!(runs, json!([]), "{runs}");
    // A path inside the project still works.
    let run = p
        .start(
            &pat,
            "workflows/requirements.workflow.yaml",
            json!({ "sources": ["notes.md"] }),
        )
        .await;
    let (_, view) = p.get(&format!("/api/v1/runs/{run}"), Some(&alice)).await;
    assert_eq!(view["steps"][0]["state"], "ok", "{view}");
    assert!(!view.to_string().contains("TOP-SECRET-42"));
}

/// A path known only once an earlier step ran is checked when the builtin opens it: the step
/// fails with the reason, and nothing is written outside the project.
#[tokio::test]
async fn a_path_from_an_earlier_step_is_refused_when_the_builtin_opens_it() {
    let p = project().await;
    let alice = p.token("alice").await;
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("owned.log");
    std::fs::write(
        p.dir.path().join("leak.workflow.yaml"),
        format!(
            "workflow: leak\nversion: 1\nowners:\n  release-owner: {{ role: release-owner }}\n\
             steps:\n  - id: where\n    builtin: core.echo\n    with: {{ message: \"{}\" }}\n  \
             - id: write\n    builtin: file.append\n    with: {{ path: \"{{{{ steps.where.output.message }}}}\", line: x }}\n",
            target.display()
        ),
    )
    .unwrap();
    let run = p.start(&alice, "leak.workflow.yaml", json!({})).await;
    let (_, view) = p.get(&format!("/api/v1/runs/{run}"), Some(&alice)).await;
    assert_eq!(view["status"], "failed", "{view}");
    let error = view["steps"][1]["error"].to_string();
    assert!(
        error.contains("is an absolute path outside the project directory"),
        "{view}"
    );
    assert!(!target.exists());
}

/// Issue 14: a handler that panics answers 500 in the JSON error shape, without the detail.
#[tokio::test]
async fn a_panicking_handler_answers_500_in_the_json_error_shape() {
    let app = aine_server::guarded(axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            panic!("secret detail");
            #[expect(unreachable_code, reason = "the handler panics before it answers")]
            ""
        }),
    ));
    let response =
        tower::ServiceExt::oneshot(app, Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "internal");
    assert_eq!(body["error"]["status"], 500);
    assert!(!body.to_string().contains("secret detail"), "{body}");
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let p = project().await;
    let alice = p.token("alice").await;
    for path in [
        "/api/v1/runs/run_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "/api/v1/runs/garbage",
        "/api/v1/runs/run_01ARZ3NDEKTSV4RRFFQ69G5FAV/spec",
        "/api/v1/runs/run_01ARZ3NDEKTSV4RRFFQ69G5FAV/events",
        "/api/v1/gates/gate_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "/api/v1/gates/run_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "/api/v1/nothing-here",
    ] {
        let (status, body) = p.get(path, Some(&alice)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    let (status, _) = p
        .post(
            "/api/v1/gates/gate_01ARZ3NDEKTSV4RRFFQ69G5FAV/decision",
            Some(&alice),
            r#"{"decision": "approve"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn server_errors_never_show_internal_details() {
    let p = project().await;
    let alice = p.token("alice").await;
    // Authenticate first, then break the database underneath the server.
    let run = p
        .start(&alice, "wf.workflow.yaml", json!({ "name": "x" }))
        .await;
    let db = p.state.runtime().config().database.clone();
    let state = aine_server::AppState::new(common::runtime(p.dir.path()).await).unwrap();
    let app = aine_server::router(state.clone());
    state.runtime().store().close().await;
    let req = Request::get(format!("/api/v1/runs/{run}"))
        .header(header::AUTHORIZATION, format!("Bearer {alice}"))
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app, req).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("internal error"), "{text}");
    assert!(!text.contains(&db.display().to_string()), "{text}");
    assert!(!text.to_lowercase().contains("sqlite"), "{text}");
    assert!(!text.to_lowercase().contains("pool"), "{text}");
}

#[tokio::test]
async fn the_spec_of_a_requirements_run_has_items_trace_links_and_transcripts() {
    let p = project().await;
    let pat = p.token("pat").await;
    let run = p
        .start(
            &pat,
            "workflows/requirements.workflow.yaml",
            json!({ "sources": ["notes.md"] }),
        )
        .await;
    // Approve; the spec is published.
    let gate = p.open_gate(&run).await;
    p.approve(&gate, &pat).await;
    let (status, spec) = p.get(&format!("/api/v1/runs/{run}/spec"), Some(&pat)).await;
    assert_eq!(status, StatusCode::OK, "{spec}");
    assert_eq!(spec["trace"]["published"], true, "{spec}");
    assert_eq!(spec["trace"]["approved_by"], "pat");
    assert!(
        spec["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "spec/requirements.json")
    );
    assert!(
        !spec["draft"]["requirements"].as_array().unwrap().is_empty(),
        "{spec}"
    );
    let items = spec["trace"]["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{spec}");
    let cited: Vec<&str> = items
        .iter()
        .flat_map(|i| i["sources"].as_array().unwrap())
        .filter_map(|s| s["id"].as_str())
        .collect();
    // Each cited sentence is quoted; the transcripts are listed with counts (each has a page).
    let quotes = spec["quotes"].as_object().unwrap();
    assert!(!quotes.is_empty(), "{spec}");
    assert!(quotes.keys().all(|id| cited.contains(&id.as_str())));
    assert!(cited.iter().all(|id| quotes.contains_key(*id)), "{spec}");
    let transcript = &spec["transcripts"][0];
    assert_eq!(transcript["file"], "notes.md");
    assert_eq!(transcript["index"], 1);
    assert!(
        transcript["cited"].as_u64().unwrap() < transcript["sentences"].as_u64().unwrap(),
        "the lunch sentence is cited by nothing: {transcript}"
    );
    // A run without a publish step has no spec.
    let other = p
        .start(&pat, "wf.workflow.yaml", json!({ "name": "x" }))
        .await;
    let (status, _) = p
        .get(&format!("/api/v1/runs/{other}/spec"), Some(&pat))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn run_events_stream_the_journal_and_end_after_the_run_finishes() {
    let p = project().await;
    let alice = p.token("alice").await;
    let run = p
        .start(&alice, "wf.workflow.yaml", json!({ "name": "x" }))
        .await;
    let gate = p.open_gate(&run).await;
    // Subscribe while waiting, after seq 2; then decide; the stream ends with run_finished.
    let req = Request::get(format!("/api/v1/runs/{run}/events"))
        .header(header::AUTHORIZATION, format!("Bearer {alice}"))
        .header("last-event-id", "2")
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(p.app.clone(), req)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let (status, _) = p
        .post(
            &format!("/api/v1/gates/{gate}/decision"),
            Some(&alice),
            r#"{"decision": "approve"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let body = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        http_body_util::BodyExt::collect(response.into_body()),
    )
    .await
    .expect("the stream ends after run_finished")
    .unwrap()
    .to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let ids: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|id| id.parse().unwrap())
        .collect();
    let journal = p.state.runtime().store().journal(&run).await.unwrap();
    let expected: Vec<u64> = journal.iter().map(|e| e.seq).filter(|s| *s > 2).collect();
    assert_eq!(ids, expected, "{text}");
    assert!(text.contains("event: gate_decided"), "{text}");
    assert!(text.trim_end().ends_with('}'), "{text}");
    assert!(text.contains("event: run_finished"), "{text}");
}

#[tokio::test]
async fn prometheus_metrics_are_served_to_token_holders() {
    let p = project().await;
    let alice = p.token("alice").await;
    p.start(&alice, "wf.workflow.yaml", json!({ "name": "World" }))
        .await;
    let (status, _) = p.get("/metrics", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, headers, body) = p
        .send(
            Request::get("/metrics")
                .header(header::AUTHORIZATION, format!("Bearer {alice}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        aine_telemetry::prometheus::CONTENT_TYPE
    );
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("aine_runs{") && l.contains("status=\"waiting\"")),
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    // A scrape after the journals grew sees the change (the text is cached only while they
    // stay the same).
    let scrape = || async {
        let (_, _, body) = p
            .send(
                Request::get("/metrics")
                    .header(header::AUTHORIZATION, format!("Bearer {alice}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        String::from_utf8(body).unwrap()
    };
    assert_eq!(scrape().await, text, "nothing changed: the same text");
    let run = p
        .start(&alice, "wf.workflow.yaml", json!({ "name": "Again" }))
        .await;
    let gate = p.open_gate(&run).await;
    p.approve(&gate, &alice).await;
    let after = scrape().await;
    assert!(
        after
            .lines()
            .any(|l| l.starts_with("aine_runs{") && l.contains("status=\"succeeded\"")),
        "{after}"
    );
}
