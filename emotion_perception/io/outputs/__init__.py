"""What leaves the graph for people and tools: Unity, the operator page, OSC, the schema.

The one JSON schema (`schema`) serves the Unity socket and WebSocket (`unity_server`,
`unity_wire`), `process`'s output and the logs; the operator page (`operator_page`) and OSC
(`osc`) follow the same access policy (`access`); `server_thread` runs their event loops.
Never reads a frame source (checked by .importlinter).
"""
