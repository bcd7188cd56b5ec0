//! The web UI through the router: sign-in, pages, forms and their errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use axum::http::{StatusCode, header};
use serde_json::json;

#[tokio::test]
async fn pages_need_a_session_and_the_login_form_sets_an_httponly_cookie() {
    let p = common::project().await;
    let (status, headers, _) = p.form("/review", "aine_bad", "").await;
    // A POST to a GET-only path is not allowed; a GET redirects to the login form.
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{headers:?}");
    let (status, headers, _) = p
        .send(
            axum::http::Request::get("/runs/run_01ARZ3NDEKTSV4RRFFQ69G5FAV")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/login?next=/runs/run_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    );

    let token = p.token("alice").await;
    let (status, _, html) = p.form("/login", "", "token=aine_wrong&next=/review").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("That token is not valid"), "{html}");
    let (status, headers, _) = p
        .form("/login", "", &format!("token={token}&next=/review"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/review");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("aine_token={token}")),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // No open redirects.
    let (_, headers, _) = p
        .form("/login", "", &format!("token={token}&next=//evil.example"))
        .await;
    assert_eq!(headers[header::LOCATION], "/");
}

#[tokio::test]
async fn runs_list_run_page_review_queue_and_audit_page_render() {
    let p = common::project().await;
    let alice = p.token("alice").await;
    let run = p
        .start(&alice, "wf.workflow.yaml", json!({ "name": "World" }))
        .await;
    let gate = p.open_gate(&run).await;

    let (status, html) = p.page("/", &alice).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("href=\"/runs/{run}\"")), "{html}");
    assert!(
        html.contains("waiting")
            && html.contains("release-owner (alice)")
            && html.contains("example"),
        "{html}"
    );
    assert!(html.contains("s ago"));

    let (status, html) = p.page(&format!("/runs/{run}"), &alice).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Cost per step") && html.contains("<svg role=\"img\""),
        "{html}"
    );
    assert!(html.contains("builtin `core.echo`"), "the why of each step");
    assert!(html.contains(&format!("href=\"/review/{gate}\"")));
    assert!(
        html.contains("EventSource"),
        "a waiting run's page follows its events"
    );

    let (status, html) = p.page("/review", &alice).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("Review {gate}")));

    let (status, html) = p.page(&format!("/review/{gate}"), &alice).await;
    assert_eq!(status, StatusCode::OK);
    for control in [
        "approve-reason",
        "reject-reason",
        "edit-output",
        "edit-reason",
    ] {
        assert!(
            html.contains(&format!("<label for=\"{control}\"")),
            "label for {control}"
        );
    }
    assert!(
        html.contains("Hello, World!"),
        "the reviewed output is in the edit field"
    );

    let (status, html) = p.page("/audit", &alice).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("intact"), "{html}");
    // The entries, newest first, filterable by run and person.
    let opened = html
        .find("<code>gate.opened</code>")
        .expect("gate.opened listed");
    let started = html
        .find("<code>run.started</code>")
        .expect("run.started listed");
    assert!(opened < started, "newest first: {html}");
    let (_, html) = p.page(&format!("/audit?run={run}"), &alice).await;
    assert!(html.contains(&format!("of run {run}")), "{html}");
    assert!(html.contains("<code>gate.opened</code>"), "{html}");
    let (_, html) = p.page("/audit?person=nobody-here", &alice).await;
    assert!(html.contains("No entries match."), "{html}");
    let (status, _) = p.page("/audit?before=x", &alice).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, html) = p.page("/outcomes", &alice).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("Per workflow") && html.contains("example"),
        "{html}"
    );
    let (_, html) = p.page("/outcomes?since=2999-01-01", &alice).await;
    assert!(html.contains("No runs since 2999-01-01"), "{html}");
    let (status, html) = p.page("/outcomes?since=yesterday", &alice).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("is not a date (YYYY-MM-DD); showing every run"),
        "{html}"
    );

    let (status, html) = p.page("/nowhere", &alice).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("nothing at"));
}

#[tokio::test]
async fn the_review_form_shows_errors_next_to_the_field_and_decides() {
    let p = common::project().await;
    let alice = p.token("alice").await;
    let rita = p.token("rita").await;
    let run = p
        .start(&alice, "wf.workflow.yaml", json!({ "name": "x" }))
        .await;
    let gate = p.open_gate(&run).await;
    let path = format!("/review/{gate}");

    // An edit breaking the contract: 422, the errors next to the field, the text kept.
    let (status, _, html) = p
        .form(
            &path,
            &alice,
            "decision=edit&output=%7B%22message%22%3A5%7D&reason=typo",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"edit-errors\""), "{html}");
    assert!(html.contains("aria-describedby=\"edit-errors\""));
    assert!(
        html.contains("{&quot;message&quot;:5}") || html.contains("{\"message\":5}"),
        "{html}"
    );
    // Not JSON at all.
    let (status, _, html) = p.form(&path, &alice, "decision=edit&output=%7Bnope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("not valid JSON"), "{html}");
    // The item-by-item review is for drafted specs only; this gate reviews a greeting.
    let (status, _, html) = p
        .form(&format!("{path}/items"), &alice, "action.REQ-001=reject")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("does not review a drafted spec"), "{html}");
    assert!(
        !html.contains("id=\"item-review\""),
        "no item form on a gate that reviews no drafted spec"
    );
    // Reject needs a reason.
    let (status, _, html) = p.form(&path, &alice, "decision=reject&reason=").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"reject-reason-error\""), "{html}");
    // A reader sees why they cannot decide.
    let (status, _, html) = p.form(&path, &rita, "decision=approve").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("may not decide"), "{html}");
    // Approve: to the run page; the run finishes.
    let (status, headers, _) = p.form(&path, &alice, "decision=approve&reason=ok").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], format!("/runs/{run}").as_str());
    p.settle().await;
    let (_, html) = p.page(&format!("/runs/{run}"), &alice).await;
    assert!(html.contains("succeeded"), "{html}");
    assert!(
        !html.contains("EventSource"),
        "a finished run's page does not follow events"
    );
    // Deciding again: 409, shown on the page.
    let (status, _, html) = p.form(&path, &alice, "decision=approve").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("already decided"), "{html}");
}

#[tokio::test]
async fn the_spec_page_highlights_cited_sentences_in_their_transcript() {
    let p = common::project().await;
    let pat = p.token("pat").await;
    let run = p
        .start(
            &pat,
            "workflows/requirements.workflow.yaml",
            json!({ "sources": ["notes.md"] }),
        )
        .await;
    let gate = p.open_gate(&run).await;
    // The gate shows the draft as a spec before the decision forms: items, quotes, origin.
    let (status, html) = p.page(&format!("/review/{gate}"), &pat).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let draft = html
        .find("The draft under review")
        .expect("the draft is rendered");
    assert!(
        draft < html.find("id=\"approve\"").unwrap(),
        "before the forms"
    );
    assert!(html.contains("id=\"item-REQ-001\""), "{html}");
    assert!(html.contains("From draft, topic 1"), "{html}");
    assert!(
        html.contains("(note, notes#"),
        "quotes name their ref: {html}"
    );
    // Before the decision the spec page shows what would be published.
    let (status, html) = p.page(&format!("/runs/{run}/spec"), &pat).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Not published yet"), "{html}");
    let (status, _, _) = p
        .form(&format!("/review/{gate}"), &pat, "decision=approve")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    p.settle().await;
    let (status, html) = p.page(&format!("/runs/{run}/spec"), &pat).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Requirements in EARS form"));
    assert!(
        html.contains("<details><summary>1 source</summary>"),
        "{html}"
    );
    assert!(html.contains("“"), "sources are quoted inline: {html}");
    assert!(
        !html.contains("We had lunch afterwards."),
        "the transcripts are not embedded whole"
    );
    assert!(
        html.contains(&format!("href=\"/runs/{run}/sources/1#s-notes-")),
        "quotes link to their sentence in the transcript page: {html}"
    );
    // The transcript page: every sentence, the cited ones highlighted and labelled.
    let (status, html) = p.page(&format!("/runs/{run}/sources/1"), &pat).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("<mark>"), "cited sentences are highlighted");
    assert!(
        html.contains("[cited by "),
        "and labelled, readable without colour"
    );
    assert!(
        html.contains("We had lunch afterwards."),
        "uncited sentences are shown too"
    );
    assert!(
        html.contains(&format!("href=\"/runs/{run}/spec#item-REQ-001\"")),
        "{html}"
    );
    let (status, _) = p.page(&format!("/runs/{run}/sources/2"), &pat).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, html) = p.page(&format!("/runs/{run}"), &pat).await;
    assert!(
        html.contains(&format!("href=\"/runs/{run}/spec\"")),
        "{html}"
    );
}
