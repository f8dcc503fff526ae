"""limit/offset pages: {"items": [...], "count": <total>}. A phone asks for 50 rows at a time;
nobody may ask for more than 200, so one request can never dump a whole organisation."""

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Pagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(
            DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"rows per page, at most {MAX_LIMIT}"
        )
        offset: int = Field(0, ge=0, le=10_000_000, description="rows to skip")

    def __init__(self, **kwargs) -> None:
        super().__init__(max_limit=MAX_LIMIT, **kwargs)
