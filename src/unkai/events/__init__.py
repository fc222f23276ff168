"""CloudEvents codec helpers shared by the runtime, the broker and the dispatcher.

``unkai.events.http`` decodes and encodes the HTTP binding's binary, structured and
batched modes; ``unkai.events.batch`` is the JSON batch format the SDK lacks.
"""
