//! Docker's `ServiceSpec` in and out: every field we keep survives the trip, absent fields
//! take docker's defaults, and values swarmd has no home for are refused by their path.

use serde_json::{json, Value};

use super::*;
use crate::convert::service_spec_out;

/// Every field we keep, set, written as `service inspect` shows it.
fn everything() -> Value {
    json!({"Name": "web", "Labels": {"a": "b"},
      "TaskTemplate": {
        "ContainerSpec": {"Image": "nginx:1", "Labels": {"c": "d"}, "Command": ["/bin/sh"], "Args": ["-c", "x"],
          "Hostname": "h", "Env": ["A=1"], "Dir": "/w", "User": "u", "StopGracePeriod": 3_000_000_000i64,
          "Mounts": [
            {"Target": "/v", "Source": "vol", "Type": "volume", "ReadOnly": true,
             "VolumeOptions": {"DriverConfig": {"Name": "local", "Options": {"o": "1"}}}},
            {"Target": "/t", "Type": "tmpfs", "TmpfsOptions": {"SizeBytes": 1024, "Mode": 448}},
            {"Target": "/b", "Source": "/host", "Type": "bind"}],
          "HealthCheck": {"Test": ["CMD", "true"], "Interval": 1_000_000_000i64, "Timeout": 2_000_000_000i64,
            "Retries": 3, "StartPeriod": 4_000_000_000i64},
          "Secrets": [{"File": {"Name": "s", "UID": "1", "GID": "2", "Mode": 256}, "SecretID": "sid", "SecretName": "sn"}],
          "Configs": [{"File": {"Name": "/c", "UID": "0", "GID": "0", "Mode": 292}, "ConfigID": "cid", "ConfigName": "cn"}]},
        "Resources": {"Limits": {"NanoCPUs": 1, "MemoryBytes": 2, "Pids": 3}, "Reservations": {"NanoCPUs": 4, "MemoryBytes": 5}},
        "RestartPolicy": {"Condition": "on-failure", "Delay": 6_000_000_000i64, "MaxAttempts": 7, "Window": 8_000_000_000i64},
        "Placement": {"Constraints": ["node.role==worker"], "MaxReplicas": 2,
          "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}]},
        "ForceUpdate": 9, "Runtime": "container", "Networks": [{"Target": "net", "Aliases": ["w"]}]},
      "Mode": {"Replicated": {"Replicas": 4}},
      "UpdateConfig": {"Parallelism": 2, "Delay": 1_000_000_000i64, "FailureAction": "rollback",
        "Monitor": 7_000_000_000i64, "MaxFailureRatio": 0.5, "Order": "start-first"},
      "RollbackConfig": {"Parallelism": 0, "Delay": 0, "FailureAction": "continue",
        "Monitor": 5_000_000_000i64, "MaxFailureRatio": 0.0, "Order": "stop-first"},
      "EndpointSpec": {"Mode": "dnsrr",
        "Ports": [{"Protocol": "udp", "TargetPort": 53, "PublishedPort": 5353, "PublishMode": "host"}]}})
}

#[test]
fn every_field_comes_back_as_it_went_in() {
    let ours = service_spec(serde_json::from_value(everything()).unwrap()).unwrap();
    let shown = serde_json::to_value(service_spec_out::service_spec(ours.clone())).unwrap();
    assert_eq!(shown, everything());
    assert_eq!(
        service_spec(serde_json::from_value(shown).unwrap()).unwrap(),
        ours
    );
}

#[test]
fn values_without_a_home_are_refused_by_path() {
    let cases = [
        (
            "/TaskTemplate/ContainerSpec/Privileges/NoNewPrivileges",
            json!(true),
            "TaskTemplate.ContainerSpec.Privileges.NoNewPrivileges: swarmd does not",
        ),
        (
            "/TaskTemplate/ContainerSpec/Isolation",
            json!("hyperv"),
            "TaskTemplate.ContainerSpec.Isolation: swarmd",
        ),
        (
            "/TaskTemplate/ContainerSpec/HealthCheck/StartInterval",
            json!(1_000_000),
            ".HealthCheck.StartInterval: swarmd",
        ),
        (
            "/TaskTemplate/ContainerSpec/StopGracePeriod",
            json!(1),
            ".StopGracePeriod: 1 ns is not a whole number of milliseconds",
        ),
        (
            "/TaskTemplate/ContainerSpec/Mounts",
            json!([{"Type": "npipe"}]),
            ".Mounts[0].Type npipe: swarmd",
        ),
        (
            "/TaskTemplate/ContainerSpec/Mounts",
            json!([{"Type": "bind", "BindOptions": {"Propagation": "rshared"}}]),
            ".Mounts[0].BindOptions.Propagation: swarmd",
        ),
        (
            "/TaskTemplate/ContainerSpec/Configs",
            json!([{"Runtime": {}, "ConfigName": "c"}]),
            ".Configs[0].Runtime: swarmd",
        ),
        (
            "/TaskTemplate/Runtime",
            json!("plugin"),
            "TaskTemplate.Runtime: `plugin` is not supported",
        ),
        (
            "/TaskTemplate/LogDriver/Name",
            json!("syslog"),
            "TaskTemplate.LogDriver.Name: swarmd",
        ),
        (
            "/TaskTemplate/Resources/SwapBytes",
            json!(1),
            "TaskTemplate.Resources.SwapBytes: swarmd",
        ),
        (
            "/TaskTemplate/Networks",
            json!([{"Target": "a", "DriverOpts": {"k": "v"}}]),
            "TaskTemplate.Networks[0].DriverOpts.k: swarmd",
        ),
        (
            "/Networks",
            json!([{"Target": "b"}]),
            "Networks: both the deprecated Networks and TaskTemplate.Networks",
        ),
        (
            "/EndpointSpec/Ports",
            json!([{"Protocol": "sctp", "TargetPort": 80}]),
            "EndpointSpec.Ports[0].Protocol sctp: swarmd",
        ),
        (
            "/EndpointSpec/Ports",
            json!([{"TargetPort": 70000}]),
            "EndpointSpec.Ports[0].TargetPort: 70000 is not a port",
        ),
        (
            "/UpdateConfig/Parallelism",
            json!(-1),
            "UpdateConfig.Parallelism: -1 is negative",
        ),
        (
            "/Mode/Global",
            json!({}),
            "Mode: both Replicated and Global are set",
        ),
    ];
    for (pointer, value, want) in cases {
        let mut sent = json!({"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "x"}, "Networks": [{"Target": "a"}]},
          "Mode": {"Replicated": {"Replicas": 1}}});
        *pointer
            .split('/')
            .skip(1)
            .fold(&mut sent, |v, key| &mut v[key]) = value;
        let e = service_spec(serde_json::from_value(sent).unwrap()).unwrap_err();
        assert!(e.message().contains(want), "{pointer}: {}", e.message());
    }
}

#[test]
fn docker_defaults_fill_what_is_absent() {
    let shown = |sent: Value| {
        let ours = service_spec(serde_json::from_value(sent).unwrap()).unwrap();
        serde_json::to_value(service_spec_out::service_spec(ours)).unwrap()
    };
    let bare = shown(json!({"Name": "web", "Mode": {"Replicated": {}},
      "TaskTemplate": {"ContainerSpec": {"Isolation": "default"}, "RestartPolicy": {},
        "Placement": {"Platforms": [{"OS": "linux"}]}},
      "UpdateConfig": {"Monitor": 0}, "RollbackConfig": {"FailureAction": "pause"}}));
    assert_eq!(bare["Mode"], json!({"Replicated": {"Replicas": 1}}));
    assert_eq!(
        bare["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"],
        10_000_000_000i64
    );
    assert_eq!(
        bare["TaskTemplate"]["RestartPolicy"]["Delay"],
        5_000_000_000i64
    );
    assert_eq!(
        bare["TaskTemplate"]["Placement"],
        json!({}),
        "platforms are the registry's, not kept"
    );
    assert_eq!(bare["UpdateConfig"]["Monitor"], 5_000_000_000i64);
    assert_eq!(bare["RollbackConfig"]["FailureAction"], "pause");
    assert_eq!(
        shown(json!({"Mode": {"Global": {}}}))["Mode"],
        json!({"Global": {}})
    );
}
