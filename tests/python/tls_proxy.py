"""A TLS-terminating TCP proxy for the tests: accepts TLS on 127.0.0.1:LISTEN with the given
certificate and key, and forwards the plain bytes to 127.0.0.1:TARGET (a Chroma or S3 server),
both ways, one thread per direction. Prints "ready PORT" once it listens; stops on SIGTERM.

    python tls_proxy.py CERT KEY TARGET_PORT [LISTEN_PORT]
"""

import signal
import socket
import ssl
import sys
import threading


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(conn, ctx, target):
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError):
        # A client that does not trust the certificate hangs up here: nothing to forward.
        conn.close()
        return
    try:
        upstream = socket.create_connection(("127.0.0.1", target))
    except OSError:
        tls.close()
        return
    threading.Thread(target=pump, args=(upstream, tls), daemon=True).start()
    pump(tls, upstream)


def main():
    cert, key, target = sys.argv[1], sys.argv[2], int(sys.argv[3])
    listen = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen))
    srv.listen(64)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, ctx, target), daemon=True).start()


if __name__ == "__main__":
    main()
