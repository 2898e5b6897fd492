//! The generic-netlink payload of the IPVS family: a command plus top-level
//! attributes, most of them one nested service and/or one nested destination.

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, ErrorContext, Nla, NlaBuffer, NlasIterator, Parseable,
    ParseableParametrized, NLA_F_NESTED,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use super::attrs::{DestAttr, ServiceAttr};

/// `IPVS_GENL_NAME`: resolved to a dynamic family id through nlctrl.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const IPVS_GENL_VERSION: u8 = 1;

// enum IPVS_CMD_ATTR_* in include/uapi/linux/ip_vs.h
const CMD_ATTR_SERVICE: u16 = 1;
const CMD_ATTR_DEST: u16 = 2;

/// The commands we speak (enum `IPVS_CMD_*`). The kernel answers dumps of
/// services and destinations with `NewService` / `NewDest` messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum IpvsCmd {
    NewService = 1,
    SetService = 2,
    DelService = 3,
    GetService = 4,
    NewDest = 5,
    SetDest = 6,
    DelDest = 7,
    GetDest = 8,
    /// Removes every service and destination of the network namespace.
    Flush = 17,
}

impl TryFrom<u8> for IpvsCmd {
    type Error = DecodeError;

    fn try_from(value: u8) -> Result<Self, DecodeError> {
        Ok(match value {
            1 => Self::NewService,
            2 => Self::SetService,
            3 => Self::DelService,
            4 => Self::GetService,
            5 => Self::NewDest,
            6 => Self::SetDest,
            7 => Self::DelDest,
            8 => Self::GetDest,
            17 => Self::Flush,
            other => return Err(format!("IPVS command {other} is not one we speak").into()),
        })
    }
}

/// A top-level attribute of an IPVS message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpvsAttr {
    /// `IPVS_CMD_ATTR_SERVICE`, nested.
    Service(Vec<ServiceAttr>),
    /// `IPVS_CMD_ATTR_DEST`, nested.
    Dest(Vec<DestAttr>),
    /// Daemon and timeout attributes, which we neither send nor interpret.
    Other(DefaultNla),
}

impl Nla for IpvsAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Service(members) => members.as_slice().buffer_len(),
            Self::Dest(members) => members.as_slice().buffer_len(),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        // NLA_F_NESTED is what current kernels expect of nested attributes;
        // the IPVS policies are non-strict, so older kernels ignore it.
        match self {
            Self::Service(_) => CMD_ATTR_SERVICE | NLA_F_NESTED,
            Self::Dest(_) => CMD_ATTR_DEST | NLA_F_NESTED,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Service(members) => members.as_slice().emit(buffer),
            Self::Dest(members) => members.as_slice().emit(buffer),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

fn parse_members<M>(nested: &[u8]) -> Result<Vec<M>, DecodeError>
where
    M: for<'a> Parseable<NlaBuffer<&'a [u8]>>,
{
    NlasIterator::new(nested)
        .map(|nla| M::parse(&nla?))
        .collect()
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for IpvsAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        Ok(match buf.kind() {
            CMD_ATTR_SERVICE => {
                Self::Service(parse_members(buf.value()).context("IPVS_CMD_ATTR_SERVICE")?)
            }
            CMD_ATTR_DEST => Self::Dest(parse_members(buf.value()).context("IPVS_CMD_ATTR_DEST")?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// One IPVS request or reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsMessage {
    pub cmd: IpvsCmd,
    pub attrs: Vec<IpvsAttr>,
}

impl IpvsMessage {
    /// The nested service of a reply, if any.
    pub fn service(&self) -> Option<&[ServiceAttr]> {
        self.attrs.iter().find_map(|attr| match attr {
            IpvsAttr::Service(members) => Some(members.as_slice()),
            _ => None,
        })
    }

    /// The nested destination of a reply, if any.
    pub fn dest(&self) -> Option<&[DestAttr]> {
        self.attrs.iter().find_map(|attr| match attr {
            IpvsAttr::Dest(members) => Some(members.as_slice()),
            _ => None,
        })
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd as u8
    }

    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::try_from(header.cmd)?;
        let attrs = NlasIterator::new(buf)
            .map(|nla| IpvsAttr::parse(&nla?))
            .collect::<Result<Vec<_>, _>>()
            .context("IPVS message")?;
        Ok(Self { cmd, attrs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::attrs::ServiceFlags;
    use netlink_packet_core::{NetlinkMessage, NLM_F_ACK, NLM_F_REQUEST};
    use netlink_packet_generic::GenlMessage;

    #[test]
    fn new_fwmark_service_is_byte_exact() {
        let msg = IpvsMessage {
            cmd: IpvsCmd::NewService,
            attrs: vec![IpvsAttr::Service(vec![
                ServiceAttr::AddressFamily(2),
                ServiceAttr::Fwmark(0x100),
                ServiceAttr::SchedName("rr".into()),
                ServiceAttr::Flags(ServiceFlags {
                    flags: 0,
                    mask: u32::MAX,
                }),
                ServiceAttr::Timeout(0),
                ServiceAttr::Netmask(u32::MAX),
            ])],
        };
        let mut genl = GenlMessage::from_payload(msg.clone());
        genl.set_resolved_family_id(0x25);
        let mut nl = NetlinkMessage::from(genl);
        nl.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        nl.header.sequence_number = 1;
        nl.finalize();
        let mut buf = vec![0; nl.buffer_len()];
        nl.serialize(&mut buf);

        #[rustfmt::skip]
        let expected: Vec<u8> = vec![
            // nlmsghdr: len 76, type = family 0x25, flags REQUEST|ACK, seq 1, pid 0
            76, 0, 0, 0, 0x25, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0,
            // genlmsghdr: cmd NEW_SERVICE, version 1, reserved
            1, 1, 0, 0,
            // IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED, len 56
            56, 0, 1, 0x80,
            6, 0, 1, 0, 2, 0, 0, 0,                      // AF = AF_INET
            8, 0, 5, 0, 0, 1, 0, 0,                      // FWMARK = 0x100
            7, 0, 6, 0, b'r', b'r', 0, 0,                // SCHED_NAME = "rr"
            12, 0, 7, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, // FLAGS {0, ~0}
            8, 0, 8, 0, 0, 0, 0, 0,                      // TIMEOUT = 0
            8, 0, 9, 0, 0xff, 0xff, 0xff, 0xff,          // NETMASK = /32
        ];
        assert_eq!(buf, expected);

        // And back: the kernel's echo of this layout decodes to what we sent.
        let parsed = NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(&buf).unwrap();
        match parsed.payload {
            netlink_packet_core::NetlinkPayload::InnerMessage(genl) => {
                assert_eq!(genl.payload, msg)
            }
            other => panic!("unexpected payload {other:?}"),
        }
    }

    #[test]
    fn decodes_a_kernel_dest_dump_entry() {
        // What ip_vs_genl_fill_dest emits for 10.1.1.2:8080, MASQ, weight 1,
        // including a 16-byte address and the tunnel members we keep opaque.
        #[rustfmt::skip]
        let payload: Vec<u8> = vec![
            80, 0, 2, 0x80,                               // IPVS_CMD_ATTR_DEST, nested, len 80
            20, 0, 1, 0, 10, 1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ADDR
            6, 0, 2, 0, 0x1f, 0x90, 0, 0,                 // PORT 8080
            8, 0, 3, 0, 0, 0, 0, 0,                       // FWD_METHOD MASQ
            8, 0, 4, 0, 1, 0, 0, 0,                       // WEIGHT 1
            5, 0, 14, 0, 0, 0, 0, 0,                      // TUN_TYPE (u8)
            8, 0, 7, 0, 3, 0, 0, 0,                       // ACTIVE_CONNS 3
            8, 0, 8, 0, 4, 0, 0, 0,                       // INACT_CONNS 4
            6, 0, 11, 0, 2, 0, 0, 0,                      // ADDR_FAMILY AF_INET
        ];
        let header = GenlHeader {
            cmd: IpvsCmd::NewDest as u8,
            version: 1,
        };
        let msg = IpvsMessage::parse_with_param(&payload, header).unwrap();
        assert_eq!(msg.cmd, IpvsCmd::NewDest);
        let dest = msg.dest().unwrap();
        assert_eq!(
            dest[0],
            DestAttr::Address([10, 1, 1, 2].into_iter().chain([0; 12]).collect())
        );
        assert_eq!(dest[1], DestAttr::Port(8080));
        assert_eq!(dest[2], DestAttr::FwdMethod(0));
        assert_eq!(dest[3], DestAttr::Weight(1));
        assert!(matches!(&dest[4], DestAttr::Other(nla) if nla.kind() == 14));
        assert_eq!(dest[5], DestAttr::ActiveConns(3));
        assert_eq!(dest[6], DestAttr::InactiveConns(4));
        assert_eq!(dest[7], DestAttr::AddressFamily(2));
        assert!(msg.service().is_none());
    }

    #[test]
    fn rejects_commands_we_do_not_speak() {
        let header = GenlHeader { cmd: 9, version: 1 };
        assert!(IpvsMessage::parse_with_param(&[], header).is_err());
        assert_eq!(IpvsCmd::try_from(17).unwrap(), IpvsCmd::Flush);
    }
}
