"""The test suite runs offline: names other than this machine's do not resolve, and connections
to other addresses are refused, as on a machine without internet (whatever this one has)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

LOCAL_NAMES = {None, "", "localhost", b"localhost"}


def is_local(host: object) -> bool:
    """Return whether `host` names this machine (a loopback address, localhost or a unix socket)."""
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host)).is_loopback
    except ValueError:
        return False


@contextmanager
def offline() -> Iterator[None]:
    """Refuse, for the duration, to resolve or connect to anything beyond this machine."""
    resolve, connect = socket.getaddrinfo, socket.socket.connect

    def local_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_local(host):
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: the test suite runs offline")
        return resolve(host, *args, **kwargs)

    def local_connect(sock: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and not is_local(address[0]):
            raise ConnectionRefusedError(f"{address[0]}: the test suite runs offline")
        connect(sock, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", local_getaddrinfo)
        patch.setattr(socket.socket, "connect", local_connect)
        yield
