"""Publication (no authentication): the project's JSON-LD context at the path of the URL the
credentials name (``https://talentproof.org/contexts/v1`` -> ``GET /contexts/v1``), and its
versioned file name as an alias (``GET /contexts/talentproof-v1.jsonld``).

The bytes are the shipped file's (`talentproof.credential.contexts`): immutable once released,
so they are served as ``application/ld+json`` with a year's ``immutable`` caching and a strong
``ETag`` (its SHA-256); ``If-None-Match`` with that tag answers 304.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from talentproof.credential.contexts import TALENTPROOF_V1, context_bytes, context_etag

router = APIRouter(tags=["publication"])

MEDIA_TYPE = "application/ld+json"
CACHE_CONTROL = "public, max-age=31536000, immutable"
_PATHS = ("/contexts/v1", "/contexts/talentproof-v1.jsonld")


def _serve(request: Request) -> Response:
    etag = context_etag(TALENTPROOF_V1)
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag, "Access-Control-Allow-Origin": "*"}
    wanted = request.headers.get("if-none-match", "")
    if etag in {tag.strip() for tag in wanted.split(",")} or wanted.strip() == "*":
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else context_bytes(TALENTPROOF_V1)
    headers["Content-Length"] = str(len(context_bytes(TALENTPROOF_V1)))
    return Response(content=body, media_type=MEDIA_TYPE, headers=headers)


for _path in _PATHS:
    router.add_api_route(
        _path,
        _serve,
        methods=["GET"],
        summary="The TalentProof JSON-LD context v1 (immutable; application/ld+json)",
        response_class=Response,
        responses={200: {"content": {MEDIA_TYPE: {}}}, 304: {"description": "Not modified"}},
        include_in_schema=_path == _PATHS[0],
        operation_id=f"get_context_{_path.rsplit('/', 1)[1].replace('.', '_').replace('-', '_')}",
    )
    router.add_api_route(_path, _serve, methods=["HEAD"], include_in_schema=False)
