"""Tree heads, proofs and exports on the wire (hex hashes, base64 signatures)."""

from pydantic import JsonValue

from gateway.ledger.records import TreeHead
from gateway.schemas.wire_types import ResponseModel


class TreeHeadOut(ResponseModel):
    """A signed tree head."""

    size: int
    root: str
    time: str
    key_id: str
    signature: str

    @classmethod
    def of(cls, head: TreeHead) -> "TreeHeadOut":
        """From the ledger's type."""
        return cls.model_validate(head.as_json())


class InclusionOut(ResponseModel):
    """Entry ``index`` (leaf hash ``leaf_hash``) is in the tree ``tree_head`` signs: RFC 9162 audit path."""

    index: int
    leaf_hash: str
    path: list[str]
    tree_head: TreeHeadOut


class ConsistencyOut(ResponseModel):
    """The tree of ``old`` is a prefix of the tree of ``new``: RFC 9162 consistency path."""

    old: TreeHeadOut
    new: TreeHeadOut
    path: list[str]


class LedgerExport(ResponseModel):
    """A ``ccgate-ledger-export/v1`` document (``ccgate ledger verify`` checks it offline)."""

    format: str
    keys: dict[str, str]
    entries: list[dict[str, JsonValue]]
    tree_heads: list[TreeHeadOut]
