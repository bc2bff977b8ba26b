//! Connections that can be dropped without an answer: the listener wraps every TCP stream
//! so that a handler can close its own connection instead of writing a response.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Accepts TCP connections and hands each to the server wrapped in a [`DroppableStream`];
/// the matching [`Connection`] reaches the handler as connect info, so that a handler can
/// close its own connection instead of answering.
pub(super) struct PhoneListener(pub(super) TcpListener);

/// What a handler knows about its connection: how to drop it.
#[derive(Clone, Debug)]
pub(super) struct Connection {
    dropped: Arc<AtomicBool>,
}

impl Connection {
    /// From now on every read and write on the connection fails, so the server gives it up and
    /// closes the socket without writing the response it is about to produce.
    pub(super) fn drop_without_answer(&self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

impl Listener for PhoneListener {
    type Io = DroppableStream;
    type Addr = Connection;

    async fn accept(&mut self) -> (DroppableStream, Connection) {
        loop {
            match self.0.accept().await {
                Ok((tcp, _)) => {
                    // Small answers must not wait for delayed ACKs: latency is measured through
                    // this server.
                    let _ = tcp.set_nodelay(true);
                    let dropped = Arc::new(AtomicBool::new(false));
                    return (DroppableStream { tcp, dropped: Arc::clone(&dropped) }, Connection { dropped });
                }
                // A client that gave up before being accepted; the next one may be fine.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                    ) => {}
                // Out of file descriptors and the like: wait for connections to close, as axum does.
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Connection> {
        self.0.local_addr()?;
        Ok(Connection { dropped: Arc::new(AtomicBool::new(false)) })
    }
}

impl Connected<IncomingStream<'_, PhoneListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, PhoneListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP stream that fails every operation once its [`Connection`] was dropped.
pub(super) struct DroppableStream {
    tcp: TcpStream,
    dropped: Arc<AtomicBool>,
}

impl DroppableStream {
    fn check(&self) -> io::Result<()> {
        if self.dropped.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "the fake phone provider lost this answer"));
        }
        Ok(())
    }
}

impl AsyncRead for DroppableStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for DroppableStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
