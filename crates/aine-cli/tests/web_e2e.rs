//! The web UI end to end: a real `aine serve` on 127.0.0.1 and a real headless Chromium driven
//! over WebDriver (Debian's `chromium` and `chromium-driver`, installed by scripts/setup.sh).
//! A person signs in with a token, opens a waiting run, submits an edit that breaks the step's
//! contract and sees the error next to the field, then approves the gate and sees the run
//! finish. Screenshots go to `target/e2e-screenshots/`.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_signs_in_sees_an_edit_refused_approves_and_sees_the_run_finish() {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: the web UI test needs Debian's chromium and chromium-driver; run scripts/setup.sh"
        );
    }
    let project = common::project(CONFIG, WORKFLOW);
    let dir = project.path();
    let out = common::aine(dir, &["token", "create", "--as", "alice"]);
    assert!(out.status.success(), "{:?}", common::text(&out));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = common::aine(dir, &["run", "wf.workflow.yaml", "--input", "name=World"]);
    assert!(out.status.success(), "{:?}", common::text(&out));

    let port = free_port();
    let _server = Killed(
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
    let _driver = Killed(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port, "aine serve");
    wait_for_port(driver_port, "chromedriver");
    let c = browser(driver_port).await;
    let base = format!("http://127.0.0.1:{port}");

    // Sign in: the login form, then the runs list.
    c.goto(&format!("{base}/")).await.unwrap();
    let field = c.wait().for_element(Locator::Id("token")).await.unwrap();
    field.send_keys(&token).await.unwrap();
    screenshot(&c, "1-login").await;
    c.find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let run_link = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("a[href^='/runs/run_']"))
        .await
        .unwrap();
    screenshot(&c, "2-runs").await;

    // The run waits at its gate.
    run_link.click().await.unwrap();
    let status = c
        .wait()
        .for_element(Locator::Id("run-status"))
        .await
        .unwrap();
    let shown = status.text().await.unwrap();
    assert!(shown.eq_ignore_ascii_case("waiting"), "{shown}");
    screenshot(&c, "3-run-waiting").await;
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
    screenshot(&c, "4-edit-refused").await;

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
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(status) = c.find(Locator::Id("run-status")).await
            && status
                .text()
                .await
                .map(|t| t.eq_ignore_ascii_case("succeeded"))
                .unwrap_or(false)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run page never showed the run succeeded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = c.source().await.unwrap();
    assert!(page.contains("Hello, World! (approved by alice)"), "{page}");
    screenshot(&c, "5-run-succeeded").await;
    c.close().await.unwrap();
}
