//! The IPVS mesh backend against a real kernel: `integration/kernel/run.sh` boots Debian's
//! kernel in a QEMU (TCG) guest, programs IPVS with our own generic-netlink client, sends
//! traffic through it and reads it back with `ipvsadm -L -n`.

use std::path::PathBuf;
use std::process::Command;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn ipvs_backend_balances_traffic_in_a_qemu_guest() {
    if !is_root() {
        assert!(
            std::env::var("CI").is_err(),
            "the IPVS kernel test needs root (it builds an initramfs and boots QEMU); CI must run it"
        );
        eprintln!("skipping: the IPVS kernel test needs root");
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kernel/run.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .expect("run integration/kernel/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(out.status.success(), "kernel test failed: {}", out.status);
    assert!(
        stdout.contains("IPVS-KERNEL-TEST: PASS") || stderr.contains("IPVS-KERNEL-TEST: PASS"),
        "no PASS marker in the guest's output"
    );
}
