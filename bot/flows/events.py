"""What the engine says happened. The rest of the system acts on these; tests compare them."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Event:
    def as_dict(self) -> dict:
        d = {"type": type(self).type}
        for k, v in asdict(self).items():
            d[k] = v.isoformat() if isinstance(v, datetime) else v
        return d


@dataclass(frozen=True)
class MsgCreated(Event):
    type = "msg_created"
    key: str


@dataclass(frozen=True)
class InputExpected(Event):
    type = "input_expected"
    node: str
    timeout_at: datetime | None = None
    # the field that holds the deadline, when an action later in the turn may still set it
    until: str | None = None


@dataclass(frozen=True)
class FieldSet(Event):
    type = "field_set"
    name: str  # "contact.language" for the person, "tried" for the run
    value: object


@dataclass(frozen=True)
class ActionCalled(Event):
    type = "action_called"
    name: str
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class InputRejected(Event):
    """Input that matched no route; the flow asks again or moves on."""
    type = "input_rejected"
    node: str
    text: str


@dataclass(frozen=True)
class FlowEnded(Event):
    type = "flow_ended"
    status: str  # completed | expired | interrupted
