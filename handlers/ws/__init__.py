"""The WebSocket channel: the endpoint (endpoint.py: origin check, auth, caps, revocation),
one WsConnection per socket (connection.py), the wire frames (frames.py) and the protocol's
command table (protocol.py), handed to the connection so that it never imports the commands.

May import other ``handlers`` modules, ``services`` and ``db``.
"""
