"""The framework ceiling: the smallest FastAPI endpoint, no database."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
