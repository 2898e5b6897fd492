//! Which resolvers names not ours go to: the host's own, read from its `/etc/resolv.conf`
//! by the caller and parsed here, so the rules are tested on text.

use std::net::{IpAddr, SocketAddr};

/// The `nameserver` entries of resolv.conf `text`, in order, on port 53. Loopback entries
/// are skipped: the host's 127.0.0.53 (systemd-resolved) or a 127.0.0.11 copied from a
/// container is not reachable from a container's namespace, or is this resolver itself and
/// would loop. So are the unspecified address and entries that do not parse (an IPv6
/// address with a `%zone`, which a container cannot use either).
pub fn upstreams_from_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            if words.next() != Some("nameserver") {
                return None;
            }
            words.next()?.parse::<IpAddr>().ok()
        })
        .map(|addr| addr.to_canonical())
        .filter(|addr| !addr.is_loopback() && !addr.is_unspecified())
        .map(|addr| SocketAddr::new(addr, 53))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_in_order_without_loopback_or_garbage() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("empty", "", &[]),
            (
                "in order",
                "nameserver 10.0.0.1\nnameserver 192.0.2.53\n",
                &["10.0.0.1:53", "192.0.2.53:53"],
            ),
            (
                "comments and other keys",
                "# nameserver 10.0.0.9\n; x\nsearch example.com\noptions ndots:2\n\
                 nameserver\t10.0.0.1  # primary\n",
                &["10.0.0.1:53"],
            ),
            (
                "loopback would loop",
                "nameserver 127.0.0.11\nnameserver 127.0.0.53\nnameserver ::1\n\
                 nameserver 10.0.0.1\n",
                &["10.0.0.1:53"],
            ),
            (
                "IPv6, mapped and zoned",
                "nameserver 2001:db8::1\nnameserver ::ffff:10.0.0.2\nnameserver fe80::1%eth0\n",
                &["[2001:db8::1]:53", "10.0.0.2:53"],
            ),
            (
                "unusable",
                "nameserver 0.0.0.0\nnameserver dns.example\nnameservers 10.0.0.3\nnameserver\n",
                &[],
            ),
        ];
        for (why, text, want) in cases {
            let want: Vec<SocketAddr> = want.iter().map(|addr| addr.parse().unwrap()).collect();
            assert_eq!(upstreams_from_resolv_conf(text), want, "{why}");
        }
    }
}
