//! `secret`/`config create` arguments → the request, refused before anything is sent.

use super::*;

#[derive(clap::Parser)]
struct Probe {
    #[command(subcommand)]
    command: DataCommand,
}

fn parse(args: &[&str]) -> Result<DataCommand, clap::Error> {
    clap::Parser::try_parse_from(std::iter::once("secret").chain(args.iter().copied()))
        .map(|p: Probe| p.command)
}

fn request(kind: DataKind, args: &[&str], data: &[u8]) -> Result<pc::CreateDataRequest> {
    let all: Vec<&str> = std::iter::once("create")
        .chain(args.iter().copied())
        .collect();
    match parse(&all)? {
        DataCommand::Create(a) => create_request(kind, &a, data.to_vec()),
        other => panic!("parsed as {other:?}"),
    }
}

#[test]
fn create_builds_the_request() {
    let r = request(
        DataKind::Config,
        &[
            "--label", "team=a", "-l", "env=prod", "app.conf", "app.conf",
        ],
        b"listen 80;\n",
    )
    .unwrap();
    assert_eq!(r.kind, kind_out(DataKind::Config));
    let spec = DataSpec::from(r.spec.unwrap());
    assert_eq!(spec.name, "app.conf");
    assert_eq!(spec.labels["team"], "a");
    assert_eq!(spec.labels["env"], "prod");
    assert_eq!(spec.data, b"listen 80;\n");
    let r = request(DataKind::Secret, &["pw", "-"], b"x").unwrap();
    assert_eq!(r.kind, kind_out(DataKind::Secret));
}

#[test]
fn bad_arguments_are_refused_before_anything_is_sent() {
    let big = vec![b'x'; types::secret::MAX_DATA_BYTES + 1];
    for (kind, args, data, words) in [
        (
            DataKind::Secret,
            &["bad/name", "f"][..],
            &b"x"[..],
            "invalid NAME: `bad/name`",
        ),
        (DataKind::Secret, &["-", "f"], b"x", "invalid NAME:"),
        (
            DataKind::Config,
            &["c", "/tmp/e"],
            b"",
            "invalid FILE: /tmp/e: the config is empty",
        ),
        (
            DataKind::Secret,
            &["pw", "-"],
            b"",
            "invalid FILE: standard input: the secret is empty",
        ),
        (
            DataKind::Secret,
            &["pw", "big"],
            &big,
            "over the 512000-byte (500 KiB) limit",
        ),
    ] {
        let e = request(kind, args, data).unwrap_err().to_string();
        assert!(e.contains(words), "{args:?}: {e}");
    }
    let e = request(DataKind::Secret, &["--label", "=v", "pw", "f"], b"x").unwrap_err();
    assert!(e.to_string().contains("--label"), "{e}");
    let e = read_data("/nonexistent/swarmctl-test")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("invalid FILE: cannot read /nonexistent/swarmctl-test: No such file"),
        "{e}"
    );
}

#[test]
fn preflight_reads_the_file_and_keeps_the_request() {
    let path = std::env::temp_dir().join(format!("swarmctl-data-{}", std::process::id()));
    std::fs::write(&path, b"s3cret").unwrap();
    let mut command = parse(&["create", "pw", path.to_str().unwrap()]).unwrap();
    command.preflight(DataKind::Secret).unwrap();
    std::fs::remove_file(&path).unwrap();
    let DataCommand::Create(args) = command else {
        panic!("not a create")
    };
    let spec = args.request.unwrap().spec.unwrap();
    assert_eq!(
        (spec.name.as_str(), spec.data.as_slice()),
        ("pw", &b"s3cret"[..])
    );
    let mut missing = parse(&["create", "pw", "/nonexistent/x"]).unwrap();
    let e = missing.preflight(DataKind::Secret).unwrap_err().to_string();
    assert!(e.contains("/nonexistent/x"), "{e}");
    assert!(parse(&["rm"]).is_err(), "rm needs a name");
}
