//! The local images do what the demo and the lab rely on (seen from inside the container:
//! with `NetworkMode=none` its loopback is all there is until the network module plumbs it).

use agent::executor::Executor;
use std::time::Duration;

use crate::support::{engine, executor, task, unique, wait_for};
use docker::harness::PrivateDockerd;

/// `GET /` from inside the container, retried until the server listens.
async fn http_get_inside(engine: &PrivateDockerd, container: &str, port: u16) -> String {
    let request = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 5 nc 127.0.0.1 {port}");
    wait_for("an HTTP answer", Duration::from_secs(10), || async {
        let output = engine
            .docker_cli()
            .args(["exec", container, "sh", "-c", &request])
            .output()
            .unwrap();
        let answer = String::from_utf8_lossy(&output.stdout).into_owned();
        answer.starts_with("HTTP/1.").then_some(answer)
    })
    .await
}

#[tokio::test]
async fn whoami_names_its_replica_and_visualizer_serves_its_page() {
    let Some(engine) = engine() else { return };
    let node = unique("n");
    let exec = executor(&engine, &node).await;
    let web = task("web", 3, &node, "swarmd/whoami:latest");
    let mut web_on_8081 = task("alt", 1, &node, "swarmd/whoami:latest");
    web_on_8081.spec.container.env = vec!["PORT=8081".into()];
    let visualizer = task("viz", 1, &node, "swarmd/visualizer:latest");
    let mut containers = Vec::new();
    for t in [&web, &web_on_8081, &visualizer] {
        exec.prepare(t).await.unwrap();
        exec.start(&t.id).await.unwrap();
        containers.push(exec.inspect(&t.id).await.unwrap().unwrap().container_id);
    }

    let page = http_get_inside(&engine, &containers[0], 80).await;
    assert!(page.contains("200 OK"), "{page}");
    assert!(page.contains("Hostname: web.3\n"), "{page}");
    assert!(page.contains("IP: 127.0.0.1\n"), "{page}");
    let page = http_get_inside(&engine, &containers[1], 8081).await;
    assert!(page.contains("Hostname: alt.1\n"), "{page}");
    let page = http_get_inside(&engine, &containers[2], 8080).await;
    assert!(page.contains("<h1>swarmd visualizer</h1>"), "{page}");

    for t in [&web, &web_on_8081, &visualizer] {
        exec.remove(&t.id).await.unwrap();
    }
}
