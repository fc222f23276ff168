"""A FastAPI app as people write it: routing, validation and a lifespan of its own."""

from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel


@asynccontextmanager
async def lifespan(app):
    app.state.greeting = "hello"
    yield


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    name: str
    price: float


@app.get("/")
async def root(name: str = "world"):
    return {"message": f"{app.state.greeting} {name} from fastapi"}


@app.post("/items")
async def create(item: Item):
    return {"name": item.name, "with_tax": round(item.price * 1.2, 2)}
