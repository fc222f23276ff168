"""CloudEvents codec helpers and Trigger filters shared by the runtime, the broker and
the dispatcher.

``unkai.events.http`` decodes and encodes the HTTP binding's binary, structured and
batched modes; ``unkai.events.batch`` is the JSON batch format the SDK lacks;
``unkai.events.filters`` compiles a Trigger's filters (every dialect, CESQL from
``unkai.events.cesql``) into one pure predicate over an event's attributes.
"""
