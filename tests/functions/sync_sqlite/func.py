"""A SQLite connection made at import, used by a sync handler (the Lambda / SeBS shape).

sqlite3 refuses a connection from any thread but the one that made it, so every request
fails unless the handler runs on the thread that imported the module.
"""

import sqlite3

db = sqlite3.connect(":memory:")
db.execute("CREATE TABLE hits (n INTEGER)")


def handler(event):
    db.execute("INSERT INTO hits VALUES (?)", (event.get("n", 0),))
    count, total = db.execute("SELECT COUNT(*), SUM(n) FROM hits").fetchone()
    return {"count": count, "total": total}
