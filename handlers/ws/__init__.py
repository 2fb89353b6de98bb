"""WebSocket plumbing: one WsConnection per socket (connection.py), the protocol (protocol.py)."""
