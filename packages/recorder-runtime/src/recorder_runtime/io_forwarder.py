"""The forwarding process of ``proxies+fd`` IO capture (see ``io_capture._FdMirror``).

Run as a script by ``io_capture`` (``python -I -S io_forwarder.py BACK [SRC DST TAG]...``):
argv is the back-channel fd, then (source fd, terminal fd, tag) triples. It detaches itself
(double fork, own session, terminal signals ignored) so that it is never the program's
child, never killed by the program's Ctrl-C, and outlives the program until every writer
is gone. Each chunk read from a source is written to its terminal, and a copy framed as
``tag, length (4 bytes), payload`` goes back to the recorder; when the back channel is full
the lost length is sent later as a gap frame (``tag + 2``). Standard library only: it runs
isolated (``-I -S``), with none of the recorder's packages importable.
"""

from __future__ import annotations

import os
import select
import signal
import sys


def write_all(fd: int, data: bytes) -> bool:
    """Write all of ``data`` to ``fd`` (waiting when it would block); False once it fails."""
    while data:
        try:
            data = data[os.write(fd, data) :]
        except BlockingIOError:
            select.select([], [fd], [])
        except OSError:
            return False
    return True


def send(back: int, kind: int, payload: bytes, length: int) -> bool:
    """One frame to the recorder; False when the back channel is full."""
    frame = bytes([kind]) + length.to_bytes(4, "big") + payload
    try:
        os.write(back, frame)
        return True
    except BlockingIOError:
        return False


def main(argv: list[str]) -> None:
    """Detach, then forward every source to its terminal until all writers are gone."""
    back = int(argv[1])
    triples = [(int(argv[i]), int(argv[i + 1]), int(argv[i + 2])) for i in range(2, len(argv), 3)]
    if os.fork() > 0:
        os._exit(0)
    for name in ("SIGINT", "SIGHUP", "SIGQUIT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGPIPE"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    os.set_blocking(back, False)
    sources = {src: (dst, tag) for src, dst, tag in triples}
    gaps: dict[int, int] = {}
    while sources:
        ready = select.select(list(sources), [], [])[0]
        for src in ready:
            dst, tag = sources[src]
            try:
                data = os.read(src, 4000)
            except OSError:
                data = b""
            if not data or not write_all(dst, data):
                # EOF, or the terminal is gone: closing our end gives the program the EPIPE
                # it would have had without us.
                del sources[src]
                os.close(src)
                continue
            if back < 0:
                continue
            try:
                if gaps.get(tag) and send(back, tag + 2, b"", gaps[tag]):
                    gaps[tag] = 0
                if gaps.get(tag) or not send(back, tag, data, len(data)):
                    gaps[tag] = gaps.get(tag, 0) + len(data)
            except OSError:
                back = -1
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
