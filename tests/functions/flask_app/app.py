"""A Flask app as people write it, with no func.yaml changes for Unkai beyond its name.

Module state made at import: a SQLite connection (usable only on the thread that made
it) and a counter. GET /items lists what POST /items stored; GET /thread names the
thread that runs the view; GET /stream streams three chunks.
"""

import sqlite3
import threading

from flask import Flask, Response, jsonify, request

app = Flask(__name__)
db = sqlite3.connect(":memory:")
db.execute("create table items (name text)")
IMPORTED_ON = threading.get_ident()


@app.get("/")
def hello():
    return f"hello {request.args.get('name', 'world')} from flask"


@app.post("/items")
def add_item():
    db.execute("insert into items values (?)", (request.get_json()["name"],))
    return jsonify(ok=True), 201


@app.get("/items")
def items():
    return jsonify([name for (name,) in db.execute("select name from items order by rowid")])


@app.get("/thread")
def thread():
    return jsonify(importing_thread=threading.get_ident() == IMPORTED_ON)


@app.get("/stream")
def stream():
    return Response((f"chunk {n}\n" for n in range(3)), mimetype="text/plain")


@app.get("/fail")
def fail():
    raise RuntimeError("the view failed")
