//! Is a port already taken by a process on this node? A host-mode task whose published port
//! is bound locally must be rejected with that reason instead of silently shadowing (or
//! being shadowed by) the process. Read from `/proc/thread-self/net`, which follows the
//! calling thread's network namespace (unlike `/proc/net`, which follows the process's).

use types::PortProtocol;

use crate::error::{DataplaneError, Result};

/// TCP sockets in LISTEN (`0A`), any bound UDP socket.
const TCP_LISTEN: &str = "0A";

/// Whether a local socket holds `port` for `protocol` (IPv4 or IPv6).
pub fn in_use(protocol: PortProtocol, port: u16) -> Result<bool> {
    let files: &[&str] = match protocol {
        PortProtocol::Tcp => &["tcp", "tcp6"],
        PortProtocol::Udp => &["udp", "udp6"],
    };
    for file in files {
        let path = format!("/proc/thread-self/net/{file}");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            // No IPv6 in this kernel/namespace: nothing can listen there.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(DataplaneError::io(format!("read {path}"))(e)),
        };
        if table_holds(&text, protocol, port) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Parses one `/proc/net/{tcp,udp}[6]` table.
pub fn table_holds(text: &str, protocol: PortProtocol, port: u16) -> bool {
    text.lines().skip(1).any(|line| {
        let mut cols = line.split_whitespace();
        let local = cols.nth(1).unwrap_or_default();
        let state = cols.nth(1).unwrap_or_default();
        let local_port = local
            .rsplit_once(':')
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
        local_port == Some(port) && (protocol == PortProtocol::Udp || state == TCP_LISTEN)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1076 1 0 100 0 0 10 0
   1: 0100007F:B43D 0100007F:8C00 06 00000000:00000000 03:000013CF 00000000     0        0 0 3 0
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000
";

    #[test]
    fn listening_tcp_ports_count_connected_ones_do_not() {
        assert!(table_holds(TCP, PortProtocol::Tcp, 2024));
        // 0xB43D is the local end of an established (06) connection, not a listener.
        assert!(!table_holds(TCP, PortProtocol::Tcp, 0xB43D));
        assert!(table_holds(TCP6, PortProtocol::Tcp, 8080));
        assert!(!table_holds(TCP6, PortProtocol::Tcp, 8081));
    }

    #[test]
    fn any_bound_udp_socket_counts() {
        let udp = "  sl  local_address rem_address   st\n  10: 00000000:0035 00000000:0000 07 0\n";
        assert!(table_holds(udp, PortProtocol::Udp, 53));
        assert!(!table_holds(udp, PortProtocol::Udp, 54));
    }
}
