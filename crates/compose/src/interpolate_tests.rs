use super::*;

fn run(text: &str) -> Result<String, ComposeError> {
    let env: HashMap<String, String> = [("TAG", "1.27"), ("EMPTY", ""), ("SHADOWED", "from-env")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let dotenv: BTreeMap<String, String> = [("SHADOWED", "from-dotenv"), ("ONLY_DOTENV", "dot")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    interpolate(
        text,
        "services.web.image",
        &Variables {
            env: &env,
            dotenv: &dotenv,
        },
    )
}

#[test]
fn every_form_as_docker() {
    for (text, want) in [
        ("nginx:$TAG", "nginx:1.27"),
        ("nginx:${TAG}", "nginx:1.27"),
        ("${TAG}-alpine", "1.27-alpine"),
        ("$TAG.x", "1.27.x"),
        ("${UNSET}", ""),
        ("$UNSET", ""),
        ("${UNSET:-latest}", "latest"),
        ("${EMPTY:-latest}", "latest"),
        ("${TAG:-latest}", "1.27"),
        ("${UNSET-latest}", "latest"),
        ("${EMPTY-latest}", ""),
        ("${UNSET:-$TAG}", "1.27"),
        ("${TAG:?need a tag}", "1.27"),
        ("${EMPTY?need it set}", ""),
        ("${TAG:+set}", "set"),
        ("${EMPTY:+set}", ""),
        ("${EMPTY+set}", "set"),
        ("${UNSET+set}", ""),
        ("$$TAG", "$TAG"),
        ("a$$b$$", "a$b$"),
        ("${SHADOWED}", "from-env"),
        ("${ONLY_DOTENV}", "dot"),
        ("no variables", "no variables"),
    ] {
        assert_eq!(run(text).unwrap(), want, "{text}");
    }
}

#[test]
fn required_variables_name_the_variable_and_the_message() {
    let err = run("nginx:${VERSION:?set VERSION in .env}").unwrap_err();
    assert!(
        matches!(&err, ComposeError::MissingVariable { var, message, .. } if var == "VERSION" && message == "set VERSION in .env"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "services.web.image: required variable VERSION is missing a value: set VERSION in .env"
    );
    assert!(matches!(
        run("${EMPTY:?empty}"),
        Err(ComposeError::MissingVariable { .. })
    ));
    assert!(matches!(
        run("${UNSET?unset}"),
        Err(ComposeError::MissingVariable { .. })
    ));
}

#[test]
fn malformed_references_are_errors() {
    for text in ["${TAG", "${}", "${1A}", "cost: 5$", "${TAG!x}"] {
        let err = run(text).unwrap_err().to_string();
        assert!(
            err.starts_with("services.web.image: invalid interpolation"),
            "{text}: {err}"
        );
    }
}

#[test]
fn values_are_substituted_keys_are_not() {
    let mut value: Value = serde_norway::from_str(
        "services:\n  $TAG:\n    image: nginx:$TAG\n    ports: [\"${P:-80}:80\"]\n",
    )
    .unwrap();
    let env = HashMap::from([("TAG".to_string(), "1".to_string())]);
    interpolate_value(
        &mut value,
        "",
        &Variables {
            env: &env,
            dotenv: &BTreeMap::new(),
        },
    )
    .unwrap();
    let service = &value["services"]["$TAG"];
    assert_eq!(service["image"].as_str(), Some("nginx:1"));
    assert_eq!(service["ports"][0].as_str(), Some("80:80"));
}
