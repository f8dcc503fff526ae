from ninja import NinjaAPI

api = NinjaAPI(title="Kruzhok API", version="1.0.0", urls_namespace="api")


@api.get("/ping", auth=None, tags=["meta"])
def ping(request) -> dict:
    return {"status": "ok"}
