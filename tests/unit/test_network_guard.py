import socket

import pytest


def test_unmocked_network_call_fails() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(RuntimeError, match="unmocked network call"):
            s.connect(("93.184.216.34", 80))
    finally:
        s.close()
