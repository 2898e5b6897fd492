//! DNS over TCP frames each message with its length as two bytes (RFC 1035 4.2.2), both
//! from our clients and to the upstreams; one pair of functions serves both.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Reads one length-prefixed message.
pub(crate) async fn read_message<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Vec<u8>> {
    let len = stream.read_u16().await?;
    let mut message = vec![0; usize::from(len)];
    stream.read_exact(&mut message).await?;
    Ok(message)
}

/// Writes one length-prefixed message, in one write so that it leaves in one segment.
pub(crate) async fn write_message<S: AsyncWrite + Unpin>(
    stream: &mut S,
    message: &[u8],
) -> std::io::Result<()> {
    let len = u16::try_from(message.len()).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "DNS message over 65535 bytes",
        )
    })?;
    let mut framed = Vec::with_capacity(message.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    stream.write_all(&framed).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_written_message_reads_back_and_a_cut_one_is_an_error() {
        let mut wire = Vec::new();
        write_message(&mut wire, b"abc").await.unwrap();
        assert_eq!(wire, [0, 3, b'a', b'b', b'c']);
        assert_eq!(read_message(&mut &wire[..]).await.unwrap(), b"abc");
        assert!(read_message(&mut &wire[..4]).await.is_err());
        assert!(write_message(&mut Vec::new(), &vec![0; 65536])
            .await
            .is_err());
    }
}
