//! The web UI end to end: a real `aine serve` on 127.0.0.1 and a real headless Chromium driven
//! over WebDriver (Debian's `chromium` and `chromium-driver`, installed by scripts/setup.sh).
//! A person signs in with a token, opens a waiting run, submits an edit that breaks the step's
//! contract and sees the error next to the field, then approves the gate and sees the run
//! finish; and a product owner reviews a drafted spec item by item (reject, edit with a refused
//! text first, move to the open questions, add), previews the changes and submits them, and the
//! published spec and `aine trace` show each change. Screenshots go to
//! `target/e2e-screenshots/`.
//!
//! Fails (never skips) without chromium: run scripts/setup.sh first.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

const CONFIG: &str = r#"
[people.alice]
name = "Alice"
[roles]
release-owner = ["alice"]
"#;

const WORKFLOW: &str = include_str!("../../aine-server/tests/data/example.workflow.yaml");

/// Kills the child process when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on `port`.
fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("e2e-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).unwrap();
}

async fn browser(port: u16) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600"]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("chromedriver refused a session; is chromium installed? run scripts/setup.sh")
}

/// `aine serve` and chromedriver for a project, and a browser signed in with a token.
struct Ui {
    client: Client,
    base: String,
    _server: Killed,
    _driver: Killed,
    /// chromedriver's and chromium's `TMPDIR` (the profile and chromium's scoped dirs), removed
    /// after the driver is killed: before, every run left about ten folders in `/tmp`.
    _tmp: tempfile::TempDir,
}

impl Ui {
    /// `login_shot`: the name of the screenshot of the login form.
    async fn start(dir: &Path, token: &str, login_shot: &str) -> Ui {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: the web UI test needs Debian's chromium and chromium-driver; run scripts/setup.sh"
            );
        }
        let port = free_port();
        let server = Killed(
            Command::new(env!("CARGO_BIN_EXE_aine"))
                .current_dir(dir)
                .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let driver_port = free_port();
        let tmp = tempfile::tempdir().unwrap();
        let driver = Killed(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={driver_port}"))
                .env("TMPDIR", tmp.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_for_port(port, "aine serve");
        wait_for_port(driver_port, "chromedriver");
        let client = browser(driver_port).await;
        let base = format!("http://127.0.0.1:{port}");

        // Sign in: the login form, then the runs list.
        client.goto(&format!("{base}/")).await.unwrap();
        let field = client
            .wait()
            .for_element(Locator::Id("token"))
            .await
            .unwrap();
        field.send_keys(token).await.unwrap();
        screenshot(&client, login_shot).await;
        client
            .find(Locator::Css("form[action='/login'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("h1"))
            .await
            .unwrap();
        Ui {
            client,
            base,
            _server: server,
            _driver: driver,
            _tmp: tmp,
        }
    }

    async fn close(self) {
        self.client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_signs_in_sees_an_edit_refused_approves_and_sees_the_run_finish() {
    let project = common::project(CONFIG, WORKFLOW);
    let dir = project.path();
    let out = common::aine(dir, &["token", "create", "--as", "alice"]);
    assert!(out.status.success(), "{:?}", common::text(&out));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = common::aine(dir, &["run", "wf.workflow.yaml", "--input", "name=World"]);
    assert!(out.status.success(), "{:?}", common::text(&out));

    let ui = Ui::start(dir, &token, "1-login").await;
    let c = &ui.client;
    let run_link = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("a[href^='/runs/run_']"))
        .await
        .unwrap();
    screenshot(c, "2-runs").await;

    // The run waits at its gate.
    run_link.click().await.unwrap();
    let status = c
        .wait()
        .for_element(Locator::Id("run-status"))
        .await
        .unwrap();
    let shown = status.text().await.unwrap();
    assert!(shown.eq_ignore_ascii_case("waiting"), "{shown}");
    screenshot(c, "3-run-waiting").await;
    c.find(Locator::LinkText("Review this gate"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // An edit that breaks the contract: the error is shown next to the field.
    let output = c
        .wait()
        .for_element(Locator::Id("edit-output"))
        .await
        .unwrap();
    output.clear().await.unwrap();
    output.send_keys(r#"{"message": 5}"#).await.unwrap();
    c.find(Locator::Id("edit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let errors = c
        .wait()
        .for_element(Locator::Id("edit-errors"))
        .await
        .unwrap();
    let text = errors.text().await.unwrap();
    assert!(text.contains("The edit was not accepted"), "{text}");
    let field = c.find(Locator::Id("edit-output")).await.unwrap();
    assert_eq!(
        field.attr("aria-describedby").await.unwrap().as_deref(),
        Some("edit-errors")
    );
    screenshot(c, "4-edit-refused").await;

    // Approve: back on the run page, which follows the run until it has finished.
    c.find(Locator::Id("approve-reason"))
        .await
        .unwrap()
        .send_keys("looks right")
        .await
        .unwrap();
    c.find(Locator::Id("approve"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until_succeeded(c).await;
    let page = c.source().await.unwrap();
    assert!(page.contains("Hello, World! (approved by alice)"), "{page}");
    screenshot(c, "5-run-succeeded").await;
    ui.close().await;
}

/// Waits (up to 30 s) until the run page shows the run succeeded.
async fn wait_until_succeeded(c: &Client) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(status) = c.find(Locator::Id("run-status")).await
            && status
                .text()
                .await
                .map(|t| t.eq_ignore_ascii_case("succeeded"))
                .unwrap_or(false)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the run page never showed the run succeeded: {}",
            c.source().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn click(c: &Client, id: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("no #{id}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn type_into(c: &Client, id: &str, text: &str) {
    let field = c.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_owner_reviews_the_draft_item_by_item_and_the_spec_shows_each_change() {
    let (project, gate) = common::drafted_project();
    let dir = project.path();
    let out = common::aine(dir, &["token", "create", "--as", "pat"]);
    assert!(out.status.success(), "{:?}", common::text(&out));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let ui = Ui::start(dir, &token, "review-0-login").await;
    let c = &ui.client;
    c.goto(&format!("{}/review/{gate}", ui.base)).await.unwrap();
    c.wait()
        .for_element(Locator::Id("item-review"))
        .await
        .unwrap();
    screenshot(c, "review-1-draft").await;

    // Reject one, edit one (first with a text that is no requirement), move one to the open
    // questions, add one.
    click(c, "reject-REQ-002").await;
    type_into(c, "reason-REQ-002", "the stand-by button was never agreed").await;
    type_into(c, "text-REQ-001", "The remote is cheap.").await;
    type_into(c, "reason-REQ-001", "the production cost, not the price").await;
    click(c, "to_question-REQ-003").await;
    type_into(c, "reason-REQ-003", "how long is long?").await;
    type_into(
        c,
        "new-text-1",
        "The remote shall beep when its locator button is pressed.",
    )
    .await;
    type_into(c, "new-sources-1", "kickoff#2").await;
    type_into(c, "new-reason-1", "Kim asked for it after the meeting").await;
    type_into(c, "review-reason", "reviewed item by item").await;
    click(c, "submit-review").await;

    // Refused: the error next to REQ-001's text, every other choice kept.
    let errors = c
        .wait()
        .for_element(Locator::Id("errors-REQ-001"))
        .await
        .unwrap();
    assert!(
        errors.text().await.unwrap().contains("shall"),
        "{}",
        errors.text().await.unwrap()
    );
    let field = c.find(Locator::Id("text-REQ-001")).await.unwrap();
    assert_eq!(
        field.attr("aria-describedby").await.unwrap().as_deref(),
        Some("errors-REQ-001")
    );
    assert!(
        c.find(Locator::Id("reject-REQ-002"))
            .await
            .unwrap()
            .is_selected()
            .await
            .unwrap(),
        "the rejection was kept"
    );
    screenshot(c, "review-2-edit-refused").await;

    // A valid edit; preview, then submit.
    type_into(
        c,
        "text-REQ-001",
        "The remote shall cost less than 12.50 euros to produce.",
    )
    .await;
    click(c, "preview-review").await;
    let preview = c.wait().for_element(Locator::Id("preview")).await.unwrap();
    let shown = preview.text().await.unwrap();
    for expected in [
        "REQ-001 edited",
        "REQ-002 rejected",
        "REQ-003 moved to questions (as Q-001)",
        "REQ-006 added",
        "Nothing is decided yet",
    ] {
        assert!(
            shown.contains(expected),
            "{expected:?} not in the preview: {shown}"
        );
    }
    screenshot(c, "review-3-preview").await;
    click(c, "submit-review").await;
    wait_until_succeeded(c).await;
    screenshot(c, "review-4-run-succeeded").await;
    // The spec page: each requirement with its sources a click away, the decisions in the trace.
    c.find(Locator::Css("a[href$='/spec']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("details summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = c.source().await.unwrap();
    for shown in [
        "(added from REQ-003)",
        "REQ-002 rejected by pat: the stand-by button was never agreed",
        "REQ-003 moved to questions (as Q-001) by pat: how long is long?",
    ] {
        assert!(page.contains(shown), "{shown:?} not on the spec page");
    }
    screenshot(c, "review-5-spec").await;
    ui.close().await;

    // The published spec holds each change.
    let texts = common::requirement_texts(dir);
    assert!(
        texts.contains(&"The remote shall cost less than 12.50 euros to produce.".to_owned()),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.contains("red power button")),
        "REQ-002 was rejected: {texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("locator button")),
        "{texts:?}"
    );
    let spec = std::fs::read_to_string(dir.join("spec/requirements.json")).unwrap();
    assert!(spec.contains("\"Q-001\""), "{spec}");

    // `aine trace` shows who changed what, and why.
    let out = common::aine(dir, &["--wide", "trace", "REQ-001"]);
    let shown = common::text(&out);
    assert!(out.status.success(), "{shown:?}");
    assert!(
        shown.0.contains("edit by pat (item edited): the production cost, not the price (decision: reviewed item by item)"),
        "{shown:?}"
    );
    let out = common::aine(dir, &["--wide", "trace", "REQ-006"]);
    assert!(
        common::text(&out)
            .0
            .contains("(item added): Kim asked for it"),
        "{:?}",
        common::text(&out)
    );
    let out = common::aine(dir, &["trace", "Q-001"]);
    assert!(
        common::text(&out).0.contains("from REQ-003"),
        "{:?}",
        common::text(&out)
    );
    let out = common::aine(dir, &["trace", "REQ-002"]);
    assert!(!out.status.success());
    assert!(
        common::text(&out)
            .1
            .contains("REQ-002 is not in the spec: rejected at gate"),
        "{:?}",
        common::text(&out)
    );
}
