//! `aine serve` and `aine token create`: the HTTP API and web UI (crate `aine-server`) over the
//! same runtime every other command uses.

use anyhow::{Context, Result};

use crate::args::{Cli, Token};
use crate::exit;

/// Serves the API and web UI on `bind` until Ctrl-C (or SIGTERM), then lets runs being driven
/// reach their next stop.
pub async fn serve(cli: &Cli, bind: &str) -> Result<u8> {
    let runtime = crate::commands::open_runtime(cli).await?;
    let people = runtime.config().people.len();
    let state = aine_server::AppState::new(runtime)
        .context("cannot load the web UI's templates (a bug in aine: please report it)")?;
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| {
        format!("cannot listen on {bind}; is another `aine serve` running? pass --bind HOST:PORT")
    })?;
    let addr = listener.local_addr()?;
    eprintln!("aine: serving http://{addr}/ (API under /api/v1, OpenAPI at /api/v1/openapi.json)");
    if people == 0 {
        eprintln!(
            "aine: no [people] in aine.toml, so nobody can sign in; add people, then `aine token create --as PERSON`"
        );
    }
    aine_server::serve(state, listener, shutdown_signal())
        .await
        .context("the server stopped")?;
    eprintln!("aine: stopped");
    Ok(exit::OK)
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `aine token ...`.
pub async fn token(cli: &Cli, token: &Token) -> Result<u8> {
    match token {
        Token::Create { person, label } => {
            let person = aine_types::PersonId::new(person.as_str())?;
            let runtime = crate::commands::open_runtime(cli).await?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0);
            let token = aine_server::auth::create_token(
                runtime.store(),
                runtime.config(),
                &person,
                label,
                now,
            )
            .await?;
            eprintln!(
                "token for {person} (shown once; only its SHA-256 is stored). Use it as `Authorization: Bearer TOKEN` or paste it into the web UI's sign-in form:"
            );
            outln!("{token}");
            Ok(exit::OK)
        }
    }
}
