//! Making a task's image present: inspect, pull when missing. An image that cannot be had
//! (unknown, or the pull failed) rejects the task with Docker's own words, as Swarm does.

use agent::executor::ExecError;
use bollard::query_parameters::CreateImageOptions;
use bollard::Docker;
use futures::StreamExt;

use crate::errors::{docker_message, engine, is_not_found};

/// Present locally, or pulled now.
pub async fn ensure_image(docker: &Docker, image: &str) -> Result<(), ExecError> {
    match docker.inspect_image(image).await {
        Ok(_) => return Ok(()),
        Err(err) if is_not_found(&err) => {}
        Err(err) => return Err(engine("inspect image", err)),
    }
    let reference = ImageRef::parse(image);
    tracing::info!(image = %reference, "pulling missing image");
    let options = CreateImageOptions {
        from_image: Some(reference.repository.clone()),
        tag: reference.tag.clone(),
        ..Default::default()
    };
    let mut progress = docker.create_image(Some(options), None, None);
    while let Some(item) = progress.next().await {
        let failure = match item {
            Ok(info) => info.error_detail.and_then(|detail| detail.message),
            Err(err) => Some(docker_message(&err)),
        };
        if let Some(message) = failure {
            return Err(ExecError::Rejected(format!(
                "No such image: {reference} (pull failed: {message})"
            )));
        }
    }
    Ok(())
}

/// An image reference split the way `POST /images/create` wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ImageRef {
    /// `registry:5000/name` — a port's colon is not a tag.
    repository: String,
    /// `latest` when the reference names none; `None` for digest references, which the
    /// repository part carries whole.
    tag: Option<String>,
}

impl ImageRef {
    fn parse(image: &str) -> ImageRef {
        if image.contains('@') {
            return ImageRef {
                repository: image.to_string(),
                tag: None,
            };
        }
        let last_component = image.rfind('/').map_or(0, |slash| slash + 1);
        match image[last_component..].rfind(':') {
            Some(colon) => {
                let split = last_component + colon;
                ImageRef {
                    repository: image[..split].to_string(),
                    tag: Some(image[split + 1..].to_string()),
                }
            }
            None => ImageRef {
                repository: image.to_string(),
                tag: Some("latest".to_string()),
            },
        }
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.tag {
            Some(tag) => write!(f, "{}:{tag}", self.repository),
            None => f.write_str(&self.repository),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_repository_and_tag() {
        let cases = [
            ("foo", "foo", Some("latest")),
            ("foo:1.2", "foo", Some("1.2")),
            ("swarmd/whoami:latest", "swarmd/whoami", Some("latest")),
            ("reg:5000/team/app", "reg:5000/team/app", Some("latest")),
            ("reg:5000/team/app:v2", "reg:5000/team/app", Some("v2")),
            ("app@sha256:abcd", "app@sha256:abcd", None),
        ];
        for (image, repository, tag) in cases {
            let parsed = ImageRef::parse(image);
            assert_eq!(parsed.repository, repository, "{image}");
            assert_eq!(parsed.tag.as_deref(), tag, "{image}");
        }
        assert_eq!(ImageRef::parse("foo").to_string(), "foo:latest");
    }
}
